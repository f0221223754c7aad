"""Rate limits per token: requests and query cost per minute, in the process or shared
through Redis, refused with RATE_LIMITED, 429 and Retry-After before anything runs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import structlog
from websockets.asyncio.client import connect

from mcgraph.app import create_app
from mcgraph.db.models import Role
from mcgraph.settings import Settings, SettingsError, load_settings
from tests.live import serving
from tests.test_websocket import TRANSPORT_WS, init, receive, send, ws_url

VIEWER = "{ viewer { role } }"
# cost 300: 100 x (projects 1 + nodes 1 + id 1)
PAGE_OF_100 = "{ projects(first: 100) { nodes { id } } }"


@asynccontextmanager
async def client_of(settings: Settings, **limits: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=limits))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client


async def post(client: httpx.AsyncClient, query: str, token: str | None = None, *, accept: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    return await client.post("/graphql", json={"query": query}, headers=headers)


def rate_limited(response: httpx.Response) -> dict[str, Any]:
    """The RATE_LIMITED error of a refused response, checked against its status and header."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED", error
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert error["extensions"]["retryAfter"] == retry_after
    return error


async def test_past_the_requests_per_minute_a_token_gets_429_with_retry_after(settings, acme):
    async with client_of(settings, rate_limit_requests_per_minute=3) as client:
        for _ in range(3):
            answer = await post(client, VIEWER, acme[Role.MEMBER])
            assert answer.status_code == 200 and answer.json() == {"data": {"viewer": {"role": "MEMBER"}}}

        error = rate_limited(await post(client, VIEWER, acme[Role.MEMBER]))
        assert "at most 3 requests per minute" in error["message"]
        assert "MCGRAPH_RATE_LIMIT_REQUESTS_PER_MINUTE" in error["message"]
        # the same with the GraphQL-over-HTTP media type
        rate_limited(await post(client, VIEWER, acme[Role.MEMBER], accept="application/graphql-response+json"))
        # another token has a budget of its own
        assert (await post(client, VIEWER, acme[Role.VIEWER])).json() == {"data": {"viewer": {"role": "VIEWER"}}}


async def test_a_refused_mutation_changes_nothing(settings, acme, gql):
    create = 'mutation { createProject(input: {key: "RL%d", name: "Limited"}) { project { key } userErrors { code } } }'
    async with client_of(settings, rate_limit_requests_per_minute=1) as client:
        assert (await post(client, create % 1, acme[Role.MANAGER])).json()["data"]["createProject"]["project"] == {"key": "RL1"}
        rate_limited(await post(client, create % 2, acme[Role.MANAGER]))
    keys = await gql.data("{ projects(first: 10) { nodes { key } } }", token=acme[Role.OWNER])
    assert keys == {"projects": {"nodes": [{"key": "RL1"}]}}


async def test_the_cost_per_minute_counts_each_operations_estimated_cost(settings, acme):
    async with client_of(settings, rate_limit_cost_per_minute=700, max_query_cost=700) as client:
        for _ in range(2):
            assert "errors" not in (await post(client, PAGE_OF_100, acme[Role.MEMBER])).json()
        error = rate_limited(await post(client, PAGE_OF_100, acme[Role.MEMBER]))  # 900 > 700
        assert "at most 700 query cost per minute" in error["message"]
        # a cheaper operation still fits what is left
        assert (await post(client, VIEWER, acme[Role.MEMBER])).json() == {"data": {"viewer": {"role": "MEMBER"}}}


async def test_a_named_operation_sent_without_its_name_is_charged_its_cost(settings, acme):
    async with client_of(settings, rate_limit_cost_per_minute=700, max_query_cost=700) as client:
        named = PAGE_OF_100.replace("{ projects", "query Page { projects", 1)
        for _ in range(2):
            assert "errors" not in (await post(client, named, acme[Role.MEMBER])).json()
        rate_limited(await post(client, named, acme[Role.MEMBER]))


async def test_a_document_that_does_not_validate_costs_a_request_but_nothing_runs(settings, acme):
    async with client_of(settings, rate_limit_requests_per_minute=2) as client:
        refused = (await post(client, "{ nosuchfield }", acme[Role.MEMBER])).json()
        assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "errors" not in (await post(client, VIEWER, acme[Role.MEMBER])).json()
        rate_limited(await post(client, VIEWER, acme[Role.MEMBER]))


async def test_requests_without_a_token_are_counted_by_client_address(settings):
    async with client_of(settings, rate_limit_requests_per_minute=2) as client:
        for _ in range(2):
            assert (await post(client, "{ __typename }")).json() == {"data": {"__typename": "Query"}}
        rate_limited(await post(client, "{ __typename }"))


async def test_zero_turns_the_limits_off(settings, acme):
    async with client_of(settings, rate_limit_requests_per_minute=0, rate_limit_cost_per_minute=0) as client:
        for _ in range(30):
            assert (await post(client, VIEWER, acme[Role.MEMBER])).status_code == 200


async def test_queries_over_a_websocket_are_charged_to_the_same_token(settings, acme):
    app = create_app(settings.model_copy(update={"rate_limit_requests_per_minute": 2}))
    async with serving(app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(2):
                assert (await post(client, VIEWER, acme[Role.MEMBER])).status_code == 200
        async with connect(ws_url(url), subprotocols=[TRANSPORT_WS]) as ws:
            await send(ws, init(acme[Role.MEMBER]))
            assert (await receive(ws))["type"] == "connection_ack"
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": VIEWER}})
            answer = await receive(ws)
    assert answer["id"] == "1"
    (error,) = answer["payload"]["errors"] if answer["type"] == "next" else answer["payload"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= error["extensions"]["retryAfter"] <= 60


async def test_processes_sharing_a_redis_share_each_tokens_budget(settings, acme, redis_url):
    if redis_url is None:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    shared = {"rate_limit_requests_per_minute": 3, "rate_limit_url": redis_url, "bus_channel": f"test_{uuid.uuid4().hex[:12]}"}
    async with client_of(settings, **shared) as first, client_of(settings, **shared) as second:
        for client in (first, second, first):
            assert (await post(client, VIEWER, acme[Role.MEMBER])).status_code == 200
        rate_limited(await post(client=second, query=VIEWER, token=acme[Role.MEMBER]))
        # another deployment on the same Redis (another channel) counts apart
        alone = {**shared, "bus_channel": f"test_{uuid.uuid4().hex[:12]}"}
        async with client_of(settings, **alone) as other:
            assert (await post(other, VIEWER, acme[Role.MEMBER])).status_code == 200


async def test_an_unreachable_store_lets_requests_through_and_says_so(settings, acme):
    with structlog.testing.capture_logs() as lines:
        async with client_of(settings, rate_limit_requests_per_minute=1, rate_limit_url="redis://127.0.0.1:1/0") as client:
            for _ in range(3):
                assert (await post(client, VIEWER, acme[Role.MEMBER])).json() == {"data": {"viewer": {"role": "MEMBER"}}}
    warnings = [line for line in lines if line["event"].startswith("rate limits not applied")]
    assert len(warnings) == 1  # once, not per request


def test_the_redis_of_the_bus_or_the_broker_keeps_the_counters_unless_told_otherwise():
    assert Settings().rate_limit_store is None
    assert Settings(broker_url="amqp://guest:guest@h:5672/", bus_url="redis://bus:6379/1").rate_limit_store == "redis://bus:6379/1"
    assert Settings(broker_url="redis://broker:6379/0").rate_limit_store == "redis://broker:6379/0"
    assert Settings(bus_url="redis://bus/0", rate_limit_url="redis://limits/2").rate_limit_store == "redis://limits/2"


def test_a_cost_budget_below_one_operations_cost_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("MCGRAPH_RATE_LIMIT_COST_PER_MINUTE", "100")
    with pytest.raises(SettingsError, match="MCGRAPH_RATE_LIMIT_COST_PER_MINUTE"):
        load_settings()
    monkeypatch.setenv("MCGRAPH_RATE_LIMIT_URL", "memcached://x")
    monkeypatch.setenv("MCGRAPH_RATE_LIMIT_COST_PER_MINUTE", "0")
    with pytest.raises(SettingsError, match="MCGRAPH_RATE_LIMIT_URL"):
        load_settings()
