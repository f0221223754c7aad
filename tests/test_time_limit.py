"""The execution-time limit: an operation past MCGRAPH_MAX_EXECUTION_SECONDS is stopped,
answered with TIMEOUT, and keeps nothing it wrote; one that began committing is not cut."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import strawberry
import structlog
from websockets.asyncio.client import connect

from mcgraph.api.deadline import DeadlinePassed, _deadline, before_commit
from mcgraph.app import create_app
from mcgraph.db.models import Role
from mcgraph.domain import projects
from mcgraph.plugins import GraphQLContribution, hookimpl
from tests.live import serving
from tests.test_websocket import TRANSPORT_WS, init, receive, send, ws_url

LIMIT = 0.3


class Stalls:
    """Fields that never finish until their gate opens (the tests never open it)."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()  # set once a stalling resolver is waiting

    async def stall(self) -> None:
        self.reached.set()
        await asyncio.Event().wait()


STALLS = Stalls()


@strawberry.type
class StallQuery:
    @strawberry.field
    async def stall(self) -> bool:
        await STALLS.stall()
        return True


@strawberry.type
class StallMutation:
    @strawberry.mutation
    async def write_then_stall(self, info: strawberry.Info, key: str) -> bool:
        async with info.context.unit() as unit:
            await projects.create_project(unit, key=key, name="Never kept")
            await unit.session.flush()
            await STALLS.stall()
        return True


class StallPlugin:
    @hookimpl
    def mcgraph_graphql(self) -> GraphQLContribution:
        return GraphQLContribution(query=StallQuery, mutation=StallMutation)


@asynccontextmanager
async def client_of(settings: Any, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"max_execution_seconds": LIMIT, **changes}), plugins={"stalls": StallPlugin()})
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def post(client: httpx.AsyncClient, query: str, token: str, accept: str = "application/graphql-response+json") -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}", "Accept": accept})


def timed_out(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT", error
    assert error["extensions"]["requestId"]
    assert "MCGRAPH_MAX_EXECUTION_SECONDS" in error["message"]
    return error


async def test_a_query_past_the_limit_is_stopped_with_timeout(settings, acme):
    async with client_of(settings) as client:
        with structlog.testing.capture_logs() as lines:
            answer = await post(client, "query Slow { stall }", acme[Role.MEMBER])
        assert answer.status_code == 503
        timed_out(answer.json())
        line = next(line for line in lines if line["event"] == "graphql request")
        assert line["outcome"] == "timeout" and line["operation"] == "Slow"
        metrics = (await client.get("/metrics")).text
        assert 'mcgraph_graphql_requests_total{operation="Slow",outcome="timeout"} 1.0' in metrics
        # the server goes on answering
        assert (await post(client, "{ viewer { role } }", acme[Role.MEMBER])).json() == {"data": {"viewer": {"role": "MEMBER"}}}


async def test_older_clients_get_the_timeout_in_a_200(settings, acme):
    async with client_of(settings) as client:
        answer = await post(client, "{ stall }", acme[Role.MEMBER], accept="application/json")
        assert answer.status_code == 200
        timed_out(answer.json())


async def test_a_mutation_stopped_before_it_committed_keeps_nothing(settings, acme, gql):
    async with client_of(settings) as client:
        timed_out((await post(client, 'mutation { writeThenStall(key: "LOST") }', acme[Role.MANAGER])).json())
        # its write lock went with it: the next write goes through
        created = await post(client, 'mutation { createProject(input: {key: "KEPT", name: "Kept"}) { project { key } } }', acme[Role.MANAGER])
        assert created.json() == {"data": {"createProject": {"project": {"key": "KEPT"}}}}
    keys = await gql.data("{ projects(first: 10) { nodes { key } } events(first: 50) { nodes { type } } }", token=acme[Role.OWNER])
    assert keys["projects"] == {"nodes": [{"key": "KEPT"}]}
    assert [e["type"] for e in keys["events"]["nodes"]].count("project.created") == 1


async def test_queries_over_a_websocket_have_the_same_limit(settings, acme):
    app = create_app(settings.model_copy(update={"max_execution_seconds": LIMIT}), plugins={"stalls": StallPlugin()})
    async with serving(app) as url:
        async with connect(ws_url(url), subprotocols=[TRANSPORT_WS]) as ws:
            await send(ws, init(acme[Role.MEMBER]))
            assert (await receive(ws))["type"] == "connection_ack"
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": "{ stall }"}})
            answer = await receive(ws)
    assert answer["id"] == "1"
    errors = answer["payload"]["errors"] if answer["type"] == "next" else answer["payload"]
    assert [error["extensions"]["code"] for error in errors] == ["TIMEOUT"]


async def test_zero_turns_the_limit_off(settings, acme):
    async with client_of(settings, max_execution_seconds=0) as client:
        STALLS.reached = asyncio.Event()
        request = asyncio.create_task(post(client, "{ stall }", acme[Role.MEMBER]))
        await asyncio.wait_for(STALLS.reached.wait(), 10)
        done, _ = await asyncio.wait({request}, timeout=LIMIT * 3)
        assert not done  # still waiting well past the limit it would have had
        request.cancel()


async def test_committing_lifts_the_deadline():
    async with asyncio.timeout(60) as deadline:
        token = _deadline.set(deadline)
        try:
            before_commit()
            assert deadline.when() is None
        finally:
            _deadline.reset(token)


async def test_a_deadline_that_passed_refuses_the_commit():
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0) as deadline:
            token = _deadline.set(deadline)
            try:
                with pytest.raises(asyncio.CancelledError):
                    await asyncio.Event().wait()
                with pytest.raises(DeadlinePassed):
                    before_commit()
                raise asyncio.CancelledError  # as the interrupted wait would have
            finally:
                _deadline.reset(token)
