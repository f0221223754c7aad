"""GraphQL over a real WebSocket, on both subprotocols, against a live server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from mcgraph.api.tenancy import mutations
from mcgraph.db.models import Role

TIMEOUT = 5
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
KEEP_ALIVE = {"ka", "ping", "pong"}


def ws_url(live_server: str) -> str:
    return live_server.replace("http://", "ws://", 1) + "/graphql"


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next message that is not a keep-alive, waiting at most TIMEOUT seconds."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if message["type"] not in KEEP_ALIVE:
            return message


def init(token: str) -> dict[str, Any]:
    return {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}


async def test_transport_ws_runs_a_query(live_server, acme):
    async with connect(ws_url(live_server), subprotocols=[TRANSPORT_WS]) as ws:
        assert ws.subprotocol == TRANSPORT_WS
        await send(ws, init(acme[Role.MANAGER]))
        assert (await receive(ws))["type"] == "connection_ack"

        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { role user { email } } }"}})
        assert await receive(ws) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"viewer": {"role": "MANAGER", "user": {"email": "manager@acme.test"}}}},
        }
        assert await receive(ws) == {"id": "1", "type": "complete"}

        # the connection's role is checked as over HTTP
        await send(ws, {"id": "2", "type": "subscribe", "payload": {"query": "{ viewer { organization { apiTokens { totalCount } } } }"}})
        answer = await receive(ws)
        assert answer["id"] == "2"
        assert [e["extensions"]["code"] for e in answer["payload"]["errors"]] == ["FORBIDDEN"]


async def test_transport_ws_masks_an_internal_error(live_server, acme, monkeypatch):
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("canary-secret-123")

    monkeypatch.setattr(mutations.tenancy, "create_team", explode)
    document = 'mutation { createTeam(input: {name: "Ops"}) { team { id } } }'
    async with connect(ws_url(live_server), subprotocols=[TRANSPORT_WS], additional_headers={"X-Request-ID": "ws-request-1"}) as ws:
        await send(ws, init(acme[Role.OWNER]))
        assert (await receive(ws))["type"] == "connection_ack"
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": document}})
        answer = await receive(ws)
        assert await receive(ws) == {"id": "1", "type": "complete"}
    (error,) = answer["payload"]["errors"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "ws-request-1"}
    for leak in ("canary", "Traceback", "RuntimeError"):
        assert leak not in json.dumps(answer)


async def close_code(live_server: str, payload: dict[str, Any]) -> int | None:
    """The code the server closes with after a ``connection_init`` with ``payload``."""
    async with connect(ws_url(live_server), subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, {"type": "connection_init", "payload": payload})
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_transport_ws_closes_on_a_bad_token(gql, live_server, acme):
    data = await gql.data("{ viewer { apiTokens { nodes { id } } } }", token=acme[Role.MEMBER])
    (token_id,) = [node["id"] for node in data["viewer"]["apiTokens"]["nodes"]]
    revoke = "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { userErrors { code } } }"
    assert (await gql.data(revoke, {"id": token_id}, token=acme[Role.MEMBER]))["revokeApiToken"]["userErrors"] == []

    payloads = {
        "unknown token": {"authorization": "Bearer mcg_not-a-real-token"},
        "revoked token": {"authorization": f"Bearer {acme[Role.MEMBER]}"},
        "malformed": {"authorization": acme[Role.OWNER]},
        "no token": {},
    }
    observed = {name: await close_code(live_server, payload) for name, payload in payloads.items()}
    assert observed == dict.fromkeys(payloads, 4403)


async def test_legacy_ws_accepts_a_good_token(live_server, acme):
    async with connect(ws_url(live_server), subprotocols=[LEGACY_WS]) as ws:
        assert ws.subprotocol == LEGACY_WS
        await send(ws, init(acme[Role.VIEWER]))
        assert (await receive(ws))["type"] == "connection_ack"


async def test_legacy_ws_reports_a_bad_token(live_server, acme):
    async with connect(ws_url(live_server), subprotocols=[LEGACY_WS]) as ws:
        await send(ws, init("mcg_not-a-real-token"))
        answer = await receive(ws)
        assert answer["type"] == "connection_error"
        assert "not valid" in answer["payload"]["message"]
