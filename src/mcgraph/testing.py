"""pytest fixtures for mcgraph and its plugins: loaded wherever mcgraph is installed.

A plugin's tests need no set-up of their own::

    async def test_sprint(mcgraph_client):
        data = await mcgraph_client.data("{ methodologies { key } }")

Fixtures:

``mcgraph_database_url``
    An empty, migrated database for the test alone. Every test that uses it runs
    twice, ``[sqlite]`` and ``[postgresql]``; the PostgreSQL run is skipped when
    127.0.0.1:5432 does not answer (``MCGRAPH_TEST_POSTGRES_URL`` names another
    server), or fails when ``MCGRAPH_TEST_REQUIRE_POSTGRES=1``.
``mcgraph_clock``
    A :class:`~mcgraph.domain.clock.FrozenClock` at 2026-03-02 09:00 UTC (a Monday);
    ``mcgraph_clock.advance(days=1)`` moves time for the app.
``mcgraph_plugins``
    Extra plugin objects to register by name (default none; the installed plugins
    are always there). Override it in a test module to add yours.
``mcgraph_settings``
    The :class:`~mcgraph.settings.Settings` of the app. Override it to change settings.
``mcgraph_app``
    The running app (its lifespan entered) on that database, clock and plugins.
``mcgraph_client``
    A :class:`Client` of the app, signed in as the owner of organisation ``acme``.

:func:`eventually` polls a check until it passes or a deadline passes, for effects
that follow a commit (event observers, automations).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from mcgraph.db import Database
from mcgraph.db.migrate import upgrade
from mcgraph.db.models import Role
from mcgraph.domain.clock import FrozenClock
from mcgraph.settings import Settings

T = TypeVar("T")

POSTGRES_ADMIN_URL = os.environ.get("MCGRAPH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("MCGRAPH_TEST_REQUIRE_POSTGRES") == "1"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- databases -----------------------------------------------------------------------------


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def in_thread(coro: Any) -> Any:
    """Run a coroutine to completion from sync code that may sit inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def mcgraph_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session (core and installed plugins), copied per test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def mcgraph_postgres_database() -> Iterator[str]:
    """A PostgreSQL database of its own for this test session, migrated, dropped at the end."""
    if not reachable("127.0.0.1", 5432):
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (MCGRAPH_TEST_REQUIRE_POSTGRES=1) but 127.0.0.1:5432 is down")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"mcgraph_test_{uuid.uuid4().hex[:12]}"
    in_thread(_admin(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        in_thread(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def empty_postgres(url: str) -> None:
    """Delete every row of every table but Alembic's, core and plugins alike."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            tables = await raw.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
            # DELETE beats TRUNCATE on tables this small: no file work, no exclusive locks;
            # replica mode skips the foreign-key triggers, so the order does not matter.
            statements = ";".join(f'DELETE FROM "{row["tablename"]}"' for row in tables)
            await raw.execute(f"SET LOCAL session_replication_role = replica;{statements}")
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def mcgraph_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty, migrated database for this test alone."""
    if request.param == "sqlite":
        path = tmp_path / "mcgraph.db"
        shutil.copy(request.getfixturevalue("mcgraph_sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("mcgraph_postgres_database")
    await empty_postgres(url)
    yield url


# -- the app ---------------------------------------------------------------------------


@pytest.fixture
def mcgraph_clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def mcgraph_plugins() -> dict[str, object]:
    """Extra plugin objects (name -> plugin) to register besides the installed ones."""
    return {}


@pytest.fixture
def mcgraph_settings(mcgraph_database_url: str) -> Settings:
    return Settings(database_url=mcgraph_database_url)


@pytest.fixture
async def mcgraph_app(mcgraph_settings: Settings, mcgraph_clock: FrozenClock, mcgraph_plugins: dict[str, object]) -> AsyncIterator[Any]:
    async with running_app(mcgraph_settings, mcgraph_clock, mcgraph_plugins) as app:
        yield app


@pytest.fixture
async def mcgraph_client(mcgraph_app: Any) -> AsyncIterator[Client]:
    async with Client.signed_in(mcgraph_app, "acme", "owner@acme.test", Role.OWNER) as client:
        yield client


class running_app:  # noqa: N801 - used like a function: ``async with running_app(...) as app``
    """The app of ``settings`` with its lifespan entered, for the block."""

    def __init__(self, settings: Settings, clock: FrozenClock | None = None, plugins: dict[str, object] | None = None) -> None:
        from mcgraph.app import create_app

        self.app = create_app(settings, clock=clock, plugins=plugins)
        self._lifespan: Any = None

    async def __aenter__(self) -> Any:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        return self.app

    async def __aexit__(self, *exc: Any) -> None:
        await self._lifespan.__aexit__(*exc)


async def issue_token(database: Database, org: str, email: str, role: Role | str, *, now: datetime = START) -> str:
    """Create the organisation, user and membership as needed; return a new token's secret."""
    from mcgraph.domain import tenancy, tokens

    async with database.transaction() as session:
        organization = await tenancy.ensure_organization(session, org)
        user = await tenancy.ensure_user(session, email)
        await tenancy.ensure_membership(session, organization, user, Role(role))
        _, secret = await tokens.issue(session, organization_id=organization.id, user_id=user.id, name="test", now=now)
        return secret


class Client:
    """Posts GraphQL documents to an app as one signed-in user.

    ``await client(doc, variables)`` returns the decoded body; ``client.data(...)``
    its ``data``, failing the test on any error; ``client.mutate(...)`` a mutation's
    payload, failing on user errors too.
    """

    def __init__(self, app: Any, http: httpx.AsyncClient, token: str | None, org: str) -> None:
        self.app = app
        self.http = http
        self.token = token
        self.org = org
        self.last_response: httpx.Response | None = None

    @classmethod
    def signed_in(cls, app: Any, org: str, email: str, role: Role | str) -> _ClientBlock:
        return _ClientBlock(app, org, email, Role(role))

    async def as_member(self, email: str, role: Role | str) -> Client:
        """A client of the same app and organisation, signed in as ``email`` with ``role``."""
        token = await issue_token(self.app.state.runtime.database, self.org, email, role)
        return Client(self.app, self.http, token, self.org)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        self.last_response = response
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def mutate(self, name: str, input: dict[str, Any], selection: str = "", *, ok: bool = True) -> dict[str, Any]:
        """Run mutation ``name`` with ``input`` (type ``<Name>Input``); its payload.

        ``selection`` is what to read besides ``userErrors { field message code }``.
        With ``ok`` (the default) the payload must have no user errors.
        """
        document = (
            f"mutation M($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) {{"
            f" userErrors {{ field message code }} {selection} }} }}"
        )
        payload = (await self.data(document, {"input": input}))[name]
        if ok:
            assert payload["userErrors"] == [], payload["userErrors"]
        return payload

    async def viewer_id(self) -> str:
        """The global id of the signed-in user."""
        return (await self.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"]


class _ClientBlock:
    def __init__(self, app: Any, org: str, email: str, role: Role) -> None:
        self.app, self.org, self.email, self.role = app, org, email, role
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Client:
        token = await issue_token(self.app.state.runtime.database, self.org, self.email, self.role)
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver")
        return Client(self.app, self._http, token, self.org)

    async def __aexit__(self, *exc: Any) -> None:
        assert self._http is not None
        await self._http.aclose()


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.02) -> T:
    """Call ``check`` until it returns without an AssertionError; fail after ``timeout`` seconds.

    For effects that follow a commit: event observers, automations, subscriptions.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(interval)
