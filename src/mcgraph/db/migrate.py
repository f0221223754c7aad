"""Alembic, driven from code: upgrade to head, and tell whether a database is current."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import mcgraph


class SchemaOutOfDate(RuntimeError):
    """The database schema is not at the newest revision."""


def migrations_dir() -> Path:
    here = Path(mcgraph.__file__).resolve().parent
    for candidate in (here.parent.parent / "migrations", here / "_migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("the Alembic environment (migrations/env.py) is missing from this install")


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration: the core revisions plus every installed plugin's branch."""
    from mcgraph.plugins.manager import migration_folders

    here = migrations_dir()
    locations = [here / "versions", *migration_folders()]
    config = Config()
    config.set_main_option("script_location", str(here))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p).replace("%", "%%") for p in locations))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def upgrade_async(database_url: str, revision: str = "heads") -> None:
    """Upgrade the database to ``revision`` (core and plugin branches: ``heads``)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_on, database_url, revision)
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, database_url: str, revision: str) -> None:
    config = alembic_config(database_url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def upgrade(database_url: str, revision: str = "heads") -> None:
    """:func:`upgrade_async` for synchronous callers, inside a running loop or not."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(upgrade_async(database_url, revision))
        return
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, upgrade_async(database_url, revision)).result()


def head_revisions(database_url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))


def pending_revisions(database_url: str, current: set[str]) -> list[str]:
    """The revisions an upgrade to ``heads`` would apply to a database at ``current``.

    A plugin branch ``depends_on`` a core revision, so the database may record only the
    plugin's head where the script has two: what counts is whether every revision
    under the heads is under what the database records, dependencies included.
    """
    script = ScriptDirectory.from_config(alembic_config(database_url))
    done = _under(script, current)
    return sorted(_under(script, set(script.get_heads())) - done)


def _under(script: ScriptDirectory, revisions: set[str]) -> set[str]:
    """``revisions`` and every revision they follow or depend on."""
    found: set[str] = set()
    pending = list(revisions)
    while pending:
        revision = script.get_revision(pending.pop())
        if revision is None or revision.revision in found:
            continue
        found.add(revision.revision)
        for linked in (revision.down_revision, revision.dependencies):
            pending.extend([linked] if isinstance(linked, str) else linked or ())
    return found


async def check_current(engine: AsyncEngine, database_url: str) -> None:
    current = await current_revisions(engine)
    if pending_revisions(database_url, current):
        heads = head_revisions(database_url)
        raise SchemaOutOfDate(
            f"The database schema is at {sorted(current) or 'nothing'}, the newest is {sorted(heads)}: "
            "run `mcgraph migrate`."
        )
