"""CORS from MCGRAPH_ALLOWED_ORIGINS: listed origins may call the API from a browser,
others get no CORS headers (the browser then keeps the answer from the page)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mcgraph.app import create_app
from mcgraph.db.models import Role

pytestmark = pytest.mark.parametrize("mcgraph_database_url", ["sqlite"], indirect=True)

DASHBOARD = "https://dash.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


@pytest.fixture
async def client(settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"allowed_origins": [DASHBOARD]}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield http


async def test_a_listed_origin_passes_the_preflight_with_the_headers_the_api_uses(client):
    answer = await client.options("/graphql", headers={"Origin": DASHBOARD, **PREFLIGHT})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == DASHBOARD
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert "POST" in answer.headers["access-control-allow-methods"]


async def test_a_listed_origin_can_read_the_answer_and_its_request_id_and_retry_after(client, acme):
    answer = await client.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers={"Origin": DASHBOARD, "Authorization": f"Bearer {acme[Role.MEMBER]}"}
    )
    assert answer.json() == {"data": {"viewer": {"role": "MEMBER"}}}
    assert answer.headers["access-control-allow-origin"] == DASHBOARD
    exposed = {h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "retry-after", "idempotent-replayed"} <= exposed


async def test_another_origin_is_refused_the_preflight_and_gets_no_cors_headers(client, acme):
    preflight = await client.options("/graphql", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    answer = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in answer.headers


async def test_without_allowed_origins_no_origin_gets_cors_headers(http):
    preflight = await http.options("/graphql", headers={"Origin": DASHBOARD, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers
    answer = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": DASHBOARD})
    assert "access-control-allow-origin" not in answer.headers
