"""HTTP routes: health, readiness, GraphQL over GET, and the lifespan's schema check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mcgraph.app import create_app
from mcgraph.db.migrate import SchemaOutOfDate
from mcgraph.db.models import Role
from mcgraph.settings import Settings
from tests.helpers import TEAMS, mutation_document


async def test_healthz_and_readyz(http):
    healthz = await http.get("/healthz")
    assert (healthz.status_code, healthz.json()) == (200, {"status": "ok"})
    readyz = await http.get("/readyz")
    assert (readyz.status_code, readyz.json()) == (200, {"status": "ok", "checks": {"database": "ok", "broker": "ok", "bus": "ok"}})
    assert (await http.get("/nope")).status_code == 404


@pytest.fixture
async def broken_broker(database_url) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose broker does not answer."""
    app = create_app(Settings(database_url=database_url, broker_url="redis://127.0.0.1:1/0"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client


async def test_readyz_names_an_unreachable_broker(broken_broker):
    response = await broken_broker.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] != "ok"
    assert "127.0.0.1:1" in body["checks"]["broker"]
    # alive all the same
    assert (await broken_broker.get("/healthz")).status_code == 200


@pytest.mark.parametrize("bus_url", ["redis://127.0.0.1:1/0", "postgresql://postgres@127.0.0.1:1/test"])
async def test_readyz_names_an_unreachable_bus(database_url, bus_url):
    app = create_app(Settings(database_url=database_url, bus_url=bus_url))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert (checks["database"], checks["broker"]) == ("ok", "ok")
    assert checks["bus"] != "ok"


async def test_a_query_over_get(http, acme):
    response = await http.get(
        "/graphql", params={"query": "{viewer{role}}"}, headers={"Authorization": f"Bearer {acme[Role.MEMBER]}"}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"role": "MEMBER"}}}


async def test_a_mutation_over_get_is_refused(http, gql, acme):
    response = await http.get(
        "/graphql",
        params={"query": 'mutation { createTeam(input: {name: "Sneaky"}) { team { id } } }'},
        headers={"Authorization": f"Bearer {acme[Role.OWNER]}"},
    )
    assert 400 <= response.status_code < 500
    assert (await gql.data(TEAMS, token=acme[Role.OWNER]))["viewer"]["organization"]["teams"]["nodes"] == []
    # the same mutation over POST is carried out
    await gql.data(mutation_document("createTeam"), {"input": {"name": "Sneaky"}}, token=acme[Role.OWNER])
    assert len((await gql.data(TEAMS, token=acme[Role.OWNER]))["viewer"]["organization"]["teams"]["nodes"]) == 1


async def test_the_app_refuses_to_start_on_an_unmigrated_database(tmp_path: Path):
    path = tmp_path / "empty.db"
    path.touch()
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    try:
        with pytest.raises(SchemaOutOfDate, match="mcgraph migrate"):
            async with app.router.lifespan_context(app):
                pytest.fail("the app started")
    finally:
        await app.state.runtime.close()
