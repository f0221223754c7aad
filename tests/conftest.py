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

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import hypothesis
import pytest

from mcgraph.app import create_app
from mcgraph.db import Database
from mcgraph.db.models import Role
from mcgraph.domain.clock import FrozenClock
from mcgraph.settings import Settings
from mcgraph.testing import START, reachable
from mcgraph.testing import issue_token as make_token
from tests.live import serving

# The databases (``mcgraph_database_url``: SQLite and PostgreSQL, empty and migrated)
# come from mcgraph.testing, as plugins' tests get them.

REDIS_URL = os.environ.get("MCGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("MCGRAPH_TEST_REQUIRE_REDIS") == "1"
RABBITMQ_URL = os.environ.get("MCGRAPH_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REQUIRE_RABBITMQ = os.environ.get("MCGRAPH_TEST_REQUIRE_RABBITMQ") == "1"

__all__ = ["START", "make_token"]

# Property tests: a bounded run by default (CI and the noisy shared machine: no deadline,
# no example database in the tree); MCGRAPH_HYPOTHESIS_PROFILE=thorough and --timeout 0 for a long hunt.
hypothesis.settings.register_profile("mcgraph", max_examples=100, deadline=None, database=None, print_blob=True)
hypothesis.settings.register_profile("thorough", parent=hypothesis.settings.get_profile("mcgraph"), max_examples=2000)
hypothesis.settings.load_profile(os.environ.get("MCGRAPH_HYPOTHESIS_PROFILE", "mcgraph"))


@pytest.fixture
def database_url(mcgraph_database_url: str) -> str:
    """The URL of an empty, migrated database for this test alone ([sqlite], [postgresql])."""
    return mcgraph_database_url


@pytest.fixture
def clock(mcgraph_clock: FrozenClock) -> FrozenClock:
    return mcgraph_clock


def _service(url: str, default_port: int, required: bool, variable: str) -> str | None:
    """``url`` when its server answers; None otherwise, or a failure when ``variable`` requires it."""
    parts = urlsplit(url)
    if reachable(parts.hostname or "127.0.0.1", parts.port or default_port):
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


def without_rate_limits(settings: Settings) -> Settings:
    """``settings`` with the rate limits off, for tests that send more than a token may."""
    return settings.model_copy(update={"rate_limit_requests_per_minute": 0, "rate_limit_cost_per_minute": 0})


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


@pytest.fixture
async def acme(database: Database) -> dict[Role, str]:
    """Tokens for one member of each role in organisation ``acme``."""
    return {role: await make_token(database, "acme", f"{role.value}@acme.test", role) for role in Role}


@pytest.fixture
async def globex(database: Database) -> dict[Role, str]:
    """Tokens for one member of each role in a second organisation, ``globex``."""
    return {role: await make_token(database, "globex", f"{role.value}@globex.test", role) for role in Role}


@pytest.fixture
async def live_server(settings: Settings, clock: FrozenClock) -> AsyncIterator[str]:
    """The app served by uvicorn on a free local port, in a thread with its own event loop.

    Yields the base URL (``http://127.0.0.1:<port>``); the server stops at teardown.
    """
    async with serving(create_app(settings, clock=clock)) as url:
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
async def live(settings: Settings, clock: FrozenClock) -> AsyncIterator[Any]:
    """Like ``live_server``, with the app's runtime at hand (``tests.live.Live``)."""
    from tests.live import Live

    app_instance = create_app(settings, clock=clock)
    async with serving(app_instance) as url:
        yield Live(url, app_instance)
