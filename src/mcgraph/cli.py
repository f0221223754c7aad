"""The ``mcgraph`` command: serve, migrate, token, secrets, export-schema."""

from __future__ import annotations

import asyncio
import difflib
import math
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from mcgraph.settings import Settings, SettingsError, load_settings

T = TypeVar("T")
SCHEMA_FILE = Path("schema") / "schema.graphql"


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as error:
        raise click.ClickException(f"bad setting: {error}") from None


def _run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(coro_fn())


def prepare_database(settings: Settings) -> None:
    """On the embedded default (SQLite) migrate; elsewhere refuse an out-of-date schema."""
    from mcgraph.db import Database
    from mcgraph.db.migrate import SchemaOutOfDate, check_current, upgrade

    if settings.is_sqlite:
        if settings.sqlite_path is not None:
            settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url)
        return

    async def check() -> None:
        database = Database(settings.database_url)
        try:
            await check_current(database.engine, settings.database_url)
        finally:
            await database.dispose()

    try:
        _run(check)
    except SchemaOutOfDate as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot reach the database: {error}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mcgraph")
def main() -> None:
    """mcgraph: a GraphQL API server for projects and processes."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="API processes.")
@click.option("--demo", is_flag=True, help="Seed a demo organisation and print an owner token.")
@click.option("--database-url", envvar="MCGRAPH_DATABASE_URL", default=None, help="Overrides MCGRAPH_DATABASE_URL.")
def serve(host: str, port: int, workers: int, demo: bool, database_url: str | None) -> None:
    """Serve the API; with no configuration, on the embedded SQLite default.

    Logs, uvicorn's included, are written the app's way (JSON lines in production) by this
    process and, with ``--workers``, by each worker process (the app factory configures
    them): uvicorn is given no logging configuration of its own, and its access lines,
    which carry query strings, are left to the app's middleware.
    """
    import uvicorn

    from mcgraph.logs import configure_logging, get_logger

    if database_url:
        os.environ["MCGRAPH_DATABASE_URL"] = database_url
    settings = _settings()
    configure_logging(settings)
    log = get_logger("mcgraph.cli")
    prepare_database(settings)
    address = f"http://{host}:{port}/graphql"
    if demo:
        token = _seed_demo(settings)
        click.echo(f"Demo organisation ready. Owner token:\n\n    {token}\n")
        click.echo(f"Open {address} and set the header  Authorization: Bearer {token}")
        click.echo(f"or open the live dashboard at http://{host}:{port}/ and paste the token.\n")
    log.info("mcgraph serving", url=address, graphiql=not settings.is_production, workers=workers)
    if workers > 1 and not settings.bus_url:
        log.warning(
            "with several workers and no MCGRAPH_BUS_URL, a subscriber hears of a change made "
            "through another worker only at the hub's poll (MCGRAPH_HUB_POLL_SECONDS); set MCGRAPH_BUS_URL "
            "to redis://... or postgresql://..."
        )
    uvicorn.run(
        "mcgraph.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws_max_size=1 << 20,
        ws_per_message_deflate=settings.ws_compression,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_seconds),  # then in-flight requests are cut
    )


@main.command()
@click.option("--threads", default=None, type=click.IntRange(1, 64), help="Worker threads (MCGRAPH_WORKER_THREADS).")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
def worker(threads: int | None, processes: int) -> None:
    """Run automations from the configured broker (MCGRAPH_BROKER_URL) until stopped."""
    settings = _settings(worker_threads=threads)
    if settings.broker_url is None:
        raise click.ClickException(
            "MCGRAPH_BROKER_URL is not set: on the embedded default, `mcgraph serve` runs automations itself. "
            "Set it to redis://... or amqp://... to run workers apart."
        )
    prepare_database(settings)
    if processes > 1:
        _fork_workers(processes, threads)
        return
    from mcgraph.automation.worker import run_worker

    click.echo(f"mcgraph worker: {settings.worker_threads} threads on {settings.broker_url.split('@')[-1]}")
    asyncio.run(run_worker(settings))


@main.command()
def scheduler() -> None:
    """Start scheduled runs and rules, note overdue tasks and refresh health; one scheduler acts at a time."""
    settings = _settings()
    prepare_database(settings)
    from mcgraph.automation.scheduler import run_scheduler

    click.echo("mcgraph scheduler: waiting to lead" if not settings.is_sqlite else "mcgraph scheduler")
    asyncio.run(run_scheduler(settings))


def _fork_workers(processes: int, threads: int | None) -> None:
    """Run ``processes`` single-process workers; stop them all when one stops or on a signal."""
    import signal
    import subprocess

    command = [sys.executable, "-m", "mcgraph.cli", "worker", "--processes", "1"]
    if threads:
        command += ["--threads", str(threads)]
    children = [subprocess.Popen(command) for _ in range(processes)]

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for child in children:
            child.wait()
    finally:
        stop()


def _seed_demo(settings: Settings) -> str:
    from mcgraph.demo import seed
    from mcgraph.runtime import Runtime

    async def run() -> str:
        runtime = Runtime.from_settings(settings)
        try:
            async with runtime.database.transaction() as session:
                return await seed(session, runtime.clock.now(), runtime.plugins, settings)
        finally:
            await runtime.close()

    return _run(run)


@main.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    from mcgraph.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    click.echo("database is up to date", err=True)


@main.group()
def token() -> None:
    """Create and revoke API tokens."""


@token.command("create")
@click.option("--org", "org_slug", required=True, help="Organisation slug; created when missing.")
@click.option("--email", required=True, help="The user's e-mail; created when missing.")
@click.option(
    "--role",
    type=click.Choice(["owner", "admin", "manager", "member", "viewer"]),
    default="member",
    show_default=True,
)
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
def token_create(org_slug: str, email: str, role: str, name: str) -> None:
    """Print a new token (and nothing else) for EMAIL in ORG with ROLE."""
    from mcgraph.db import Database
    from mcgraph.db.models import Role
    from mcgraph.domain import tenancy, tokens
    from mcgraph.domain.clock import SystemClock
    from mcgraph.domain.errors import UserError

    settings = _settings()
    prepare_database(settings)

    async def run() -> str:
        database = Database(settings.database_url)
        try:
            async with database.transaction() as session:
                org = await tenancy.ensure_organization(session, org_slug)
                user = await tenancy.ensure_user(session, email)
                await tenancy.ensure_membership(session, org, user, Role(role))
                _, secret = await tokens.issue(
                    session, organization_id=org.id, user_id=user.id, name=name, now=SystemClock().now()
                )
                return secret
        finally:
            await database.dispose()

    try:
        click.echo(_run(run))
    except UserError as error:
        raise click.ClickException(str(error)) from None


@token.command("revoke")
@click.argument("secret")
def token_revoke(secret: str) -> None:
    """Revoke the token SECRET."""
    from mcgraph.db import Database
    from mcgraph.domain import tokens
    from mcgraph.domain.clock import SystemClock

    settings = _settings()
    prepare_database(settings)

    async def run() -> bool:
        database = Database(settings.database_url)
        try:
            async with database.transaction() as session:
                return await tokens.revoke_by_secret(session, secret, SystemClock().now())
        finally:
            await database.dispose()

    if not _run(run):
        raise click.ClickException("no such token, or it is revoked already")
    click.echo("revoked", err=True)


@main.group()
def secrets() -> None:
    """Stored secrets (automation actions' secret params)."""


@secrets.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret with MCGRAPH_SECRET_KEY, and mask secrets in old events.

    Secrets encrypted with a key of MCGRAPH_SECRET_KEY_PREVIOUS (or kept in clear) are
    encrypted with the current key; events written before an action's param was declared
    secret (plugins' actions included) are masked. Safe to run again.
    """
    from mcgraph.db import Database
    from mcgraph.domain.automation_actions import rotate_stored
    from mcgraph.domain.secrets import Keyring, SecretUnreadable
    from mcgraph.plugins.manager import Plugins, create_plugin_manager

    settings = _settings()
    prepare_database(settings)
    plugins = Plugins(create_plugin_manager(allow=settings.plugins, block=settings.disable_plugins))

    async def run() -> tuple[int, int]:
        database = Database(settings.database_url)
        try:
            async with database.transaction() as session:
                return await rotate_stored(session, plugins, Keyring.of(settings))
        finally:
            await database.dispose()

    try:
        rules, events = _run(run)
    except SecretUnreadable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"re-encrypted the secrets of {rules} rule(s); masked secrets in {events} event(s)", err=True)


@main.command("export-schema")
@click.option("--check", is_flag=True, help="Fail with a diff when the committed file is stale.")
@click.option("--path", type=click.Path(path_type=Path), default=SCHEMA_FILE, show_default=True)
def export_schema(check: bool, path: Path) -> None:
    """Write the GraphQL schema (SDL) to schema/schema.graphql."""
    from mcgraph.api.schema import build_schema
    from mcgraph.plugins.manager import Plugins, create_plugin_manager

    settings = _settings()
    plugins = Plugins(create_plugin_manager(allow=settings.plugins, block=settings.disable_plugins))
    sdl = build_schema(plugins).as_str() + "\n"
    if check:
        current = path.read_text() if path.exists() else ""
        if current != sdl:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True), sdl.splitlines(keepends=True), str(path), "generated"
            )
            sys.stdout.writelines(diff)
            raise click.ClickException(f"{path} is stale: run `mcgraph export-schema`")
        click.echo(f"{path} is up to date", err=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sdl)
    click.echo(f"wrote {path}", err=True)


@main.command("plugins")
def list_plugins() -> None:
    """List installed plugins, their hooks and methodologies."""
    from importlib.metadata import entry_points

    from mcgraph.plugins.manager import ENTRY_POINT_GROUP, Plugins, create_plugin_manager

    settings = _settings()
    plugins = Plugins(create_plugin_manager(allow=settings.plugins, block=settings.disable_plugins))
    versions = {ep.name: (ep.dist.version if ep.dist else "?") for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for name, plugin in plugins.pm.list_name_plugin():
        if plugin is None:  # blocked: listed as disabled below
            continue
        hooks = sorted(h.name for h in plugins.pm.get_hookcallers(plugin) or ())
        methodologies = sorted(m.key for m in plugins.methodologies.values() if m.plugin == name)
        click.echo(f"{name} {versions.get(name, 'built-in')}")
        click.echo(f"  hooks: {', '.join(hooks) or '-'}")
        click.echo(f"  methodologies: {', '.join(methodologies) or '-'}")
    blocked = sorted(n for n in versions if plugins.pm.is_blocked(n) or not plugins.pm.has_plugin(n))
    if blocked:
        click.echo(f"disabled: {', '.join(blocked)}")


if __name__ == "__main__":
    main()
