"""Fixtures: a fresh database per test (SQLite always, PostgreSQL when reachable), the
app on it with a frozen clock, and GraphQL clients per role and per organisation.

Every test that takes ``database_url`` (directly or through ``app``/``gql``) runs twice:
``[sqlite]`` and ``[postgresql]``. PostgreSQL runs are skipped when 127.0.0.1:5432 does
not answer, unless ``MCGRAPH_TEST_REQUIRE_POSTGRES=1`` (set in CI), which fails them.

``[sqlite]`` apps use the in-process event bus; ``[postgresql]`` apps use Redis pub/sub
(127.0.0.1:6379, a channel per test) when it answers, as production would, and the
in-process bus otherwise, unless ``MCGRAPH_TEST_REQUIRE_REDIS=1`` (set in CI).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from mcgraph.app import create_app
from mcgraph.db import Base, Database
from mcgraph.db.migrate import upgrade
from mcgraph.db.models import Role
from mcgraph.domain import tenancy, tokens
from mcgraph.domain.clock import FrozenClock
from mcgraph.settings import Settings
from tests.live import serving

POSTGRES_ADMIN_URL = os.environ.get("MCGRAPH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("MCGRAPH_TEST_REQUIRE_POSTGRES") == "1"
REDIS_URL = os.environ.get("MCGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("MCGRAPH_TEST_REQUIRE_REDIS") == "1"
RABBITMQ_URL = os.environ.get("MCGRAPH_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REQUIRE_RABBITMQ = os.environ.get("MCGRAPH_TEST_REQUIRE_RABBITMQ") == "1"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test session, migrated to head, dropped at the end."""
    if not _reachable("127.0.0.1", 5432):
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (MCGRAPH_TEST_REQUIRE_POSTGRES=1) but 127.0.0.1:5432 is down")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"mcgraph_test_{uuid.uuid4().hex[:12]}"
    _in_thread(_admin(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        _in_thread(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _in_thread(coro: Any) -> Any:
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


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty, migrated database for this test alone."""
    if request.param == "sqlite":
        path = tmp_path / "mcgraph.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    # DELETE beats TRUNCATE on tables this small: no file work, no exclusive locks.
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute(";".join(f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)))
    finally:
        await engine.dispose()
    yield url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def _service(url: str, default_port: int, required: bool, variable: str) -> str | None:
    """``url`` when its server answers; None otherwise, or a failure when ``variable`` requires it."""
    parts = urlsplit(url)
    if _reachable(parts.hostname or "127.0.0.1", parts.port or default_port):
        return url
    if required:
        pytest.fail(f"{url} is required ({variable}=1) but does not answer")
    return None


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    """Redis's URL when it answers (None otherwise; a failure with MCGRAPH_TEST_REQUIRE_REDIS=1)."""
    return _service(REDIS_URL, 6379, REQUIRE_REDIS, "MCGRAPH_TEST_REQUIRE_REDIS")


@pytest.fixture(scope="session")
def rabbitmq_url() -> str | None:
    """RabbitMQ's URL when it answers (None otherwise; a failure with MCGRAPH_TEST_REQUIRE_RABBITMQ=1)."""
    return _service(RABBITMQ_URL, 5672, REQUIRE_RABBITMQ, "MCGRAPH_TEST_REQUIRE_RABBITMQ")


@pytest.fixture
def bus_channel() -> str:
    """A bus channel of the test's own, so that tests sharing a Redis server stay apart."""
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(database_url: str, redis_url: str | None, bus_channel: str) -> Settings:
    if database_url.startswith("postgresql") and redis_url:
        return Settings(database_url=database_url, bus_url=redis_url, bus_channel=bus_channel)
    return Settings(database_url=database_url)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A database handle of the test's own, for seeding and for checking what was written."""
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[Any]:
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


class GraphQLClient:
    """Posts GraphQL documents with a given token; returns the decoded JSON body."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.last_response: httpx.Response | None = None

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        self.last_response = response
        assert response.headers["content-type"].startswith("application/"), response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict[str, Any]:
        """The ``data`` of a response that must have no errors."""
        body = await self(query, variables, token=token)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


async def make_token(database: Database, org: str, email: str, role: Role, *, now: datetime = START) -> str:
    """Create the organisation, user and membership as needed; return a token's secret."""
    async with database.transaction() as session:
        organization = await tenancy.ensure_organization(session, org)
        user = await tenancy.ensure_user(session, email)
        await tenancy.ensure_membership(session, organization, user, role)
        _, secret = await tokens.issue(session, organization_id=organization.id, user_id=user.id, name="test", now=now)
        return secret


@pytest.fixture
async def acme(database: Database) -> dict[Role, str]:
    """Tokens for one member of each role in organisation ``acme``."""
    return {role: await make_token(database, "acme", f"{role.value}@acme.test", role) for role in Role}


@pytest.fixture
async def globex(database: Database) -> dict[Role, str]:
    """Tokens for one member of each role in a second organisation, ``globex``."""
    return {role: await make_token(database, "globex", f"{role.value}@globex.test", role) for role in Role}


@pytest.fixture
def live_server(settings: Settings, clock: FrozenClock) -> Iterator[str]:
    """The app served by uvicorn on a free local port, in a thread with its own event loop.

    Yields the base URL (``http://127.0.0.1:<port>``); the server stops at teardown.
    """
    with serving(create_app(settings, clock=clock)) as url:
        yield url


# Process mutations: what each payload selects, for the helpers below.
PROCESS_PAYLOADS = {
    "createProcess": "process { id key status version draft { id number } }",
    "updateProcess": "process { id key version triggerEvent payloadSchema runNameTemplate }",
    "setProcessSteps": "draft { id number isDraft steps { id key name position } }",
    "updateProcessStep": "step { id key name durationHours }",
    "publishProcess": "version { id number isDraft } process { id status }",
    "retireProcess": "process { id status }",
    "startProcessRun": "run { id number name state processVersion { number } steps { id stepKey readyAt task { id title assignee { email } } } }",
    "cancelProcessRun": "run { id state }",
    "decideApproval": "runStep { id outcome rounds } run { id state outcomeNote }",
    "raiseEvent": "eventId runs { id number name state steps { id stepKey readyAt task { id title assignee { email } } } }",
    "createProcessFromProject": "process { id key status }",
    "createProjectFromProcess": "project { id key }",
}


async def process_mutation(gql: GraphQLClient, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    """The payload of the process mutation ``name``; the request itself must have no errors."""
    document = (
        f"mutation M($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) {{"
        f" userErrors {{ field message code }} {PROCESS_PAYLOADS[name]} }} }}"
    )
    return (await gql.data(document, {"input": input}, token=token))[name]


async def process_ok(gql: GraphQLClient, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    """The payload of the process mutation ``name``, which must have no user errors either."""
    payload = await process_mutation(gql, name, input, token)
    assert payload["userErrors"] == [], payload
    return payload


@pytest.fixture
def live(settings: Settings, clock: FrozenClock) -> Iterator[Any]:
    """Like ``live_server``, with the app's runtime at hand (``tests.live.Live``)."""
    from tests.live import Live

    app_instance = create_app(settings, clock=clock)
    with serving(app_instance) as url:
        yield Live(url, app_instance)
