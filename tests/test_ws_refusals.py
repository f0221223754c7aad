"""Every refusal sent over a WebSocket, on both protocols, carries ``extensions.code``."""

from __future__ import annotations

from typing import Any

import pytest

from mcgraph.app import create_app
from mcgraph.db.models import Role
from tests.live import LEGACY_WS, TRANSPORT_WS, Socket, open_socket, serving
from tests.test_subscriptions import EVENTS

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
NESTED = "project { tasks(first: 1) { nodes { " * 6 + "id" + " }" * 18
DEEP = 'subscription { projectUpdated(id: "UHJvamVjdDox") { ' + NESTED + " } }"


async def refusal(sock: Socket, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The first error of the answer to ``query``: an error frame's, or a result's."""
    operation_id = await sock.subscribe(query, variables)
    message = await sock.receive()
    assert message["id"] == operation_id, message
    payload = message["payload"]
    if message["type"] == "error":
        return payload[0] if isinstance(payload, list) else payload
    assert message["type"] in ("next", "data"), message
    return payload["errors"][0]


REFUSALS = {
    # name -> (query, variables, the code)
    "unknown field": ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
    "unknown field in a subscription": ("subscription { events { nope } }", None, "GRAPHQL_VALIDATION_FAILED"),
    "bad variable": ("subscription($after: String) { events(after: $after) { type } }", {"after": 5}, "BAD_USER_INPUT"),
    "bad cursor": ("subscription { events(after: \"not-a-cursor\") { type } }", None, "BAD_USER_INPUT"),
    "no such project": ('subscription { projectUpdated(id: "UHJvamVjdDo5OTk5OTk=") { event { type } } }', None, "NOT_FOUND"),
    "too deep": (DEEP, None, "QUERY_TOO_DEEP"),
}
# (the legacy protocol runs subscriptions only: a query is refused there, with a code too)
QUERY_REFUSALS = {
    "forbidden": ("{ viewer { organization { apiTokens { totalCount } } } }", None, "FORBIDDEN"),
    "query on the legacy protocol": ("{ viewer { role } }", None, "GRAPHQL_VALIDATION_FAILED"),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("kind", REFUSALS)
async def test_a_refused_operation_says_why_with_a_code(live_server, acme, protocol, kind):
    query, variables, code = REFUSALS[kind]
    async with open_socket(live_server, acme[Role.VIEWER], protocol) as sock:
        error = await refusal(sock, query, variables)
    assert error.get("extensions", {}).get("code") == code, error


@pytest.mark.parametrize("kind", QUERY_REFUSALS)
async def test_a_refused_query_says_why_with_a_code(live_server, acme, kind):
    query, variables, code = QUERY_REFUSALS[kind]
    protocol = LEGACY_WS if "legacy" in kind else TRANSPORT_WS
    async with open_socket(live_server, acme[Role.VIEWER], protocol) as sock:
        error = await refusal(sock, query, variables)
    assert error.get("extensions", {}).get("code") == code, error


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_too_many_subscriptions_on_one_socket_is_refused_with_a_code(settings, clock, acme, protocol):
    app = create_app(settings.model_copy(update={"ws_max_subscriptions": 1}), clock=clock)
    async with serving(app) as url, open_socket(url, acme[Role.VIEWER], protocol) as sock:
        await sock.subscribe(EVENTS)
        error = await refusal(sock, EVENTS, {"types": ["task.*"]})
    assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS", error


async def test_a_rate_limited_operation_is_refused_with_a_code(settings, clock, acme):
    protocol = TRANSPORT_WS  # subscriptions are not rate limited, and legacy runs nothing else
    limited = settings.model_copy(update={"rate_limit_requests_per_minute": 1, "rate_limit_cost_per_minute": 0})
    app = create_app(limited, clock=clock)
    async with serving(app) as url, open_socket(url, acme[Role.VIEWER], protocol) as sock:
        await sock.subscribe("{ viewer { role } }")
        assert (await sock.data())["viewer"]["role"] == "VIEWER"
        assert (await sock.receive())["type"] == "complete"
        error = await refusal(sock, "{ viewer { role } }")
    assert error["extensions"]["code"] == "RATE_LIMITED", error


async def test_a_legacy_connection_with_a_bad_token_is_refused_with_a_code(live_server):
    from websockets.asyncio.client import connect

    from tests.live import ws_url

    async with connect(ws_url(live_server), subprotocols=[LEGACY_WS]) as ws:
        sock = Socket(ws, LEGACY_WS)
        await sock.send({"type": "connection_init", "payload": {"authorization": "Bearer mcg_not-a-real-token"}})
        message = await sock.receive()
    assert message["type"] == "connection_error"
    assert message["payload"]["extensions"]["code"] == "UNAUTHENTICATED", message


async def test_a_legacy_syntax_error_is_refused_with_a_code(live_server, acme):
    async with open_socket(live_server, acme[Role.VIEWER], LEGACY_WS) as sock:
        error = await refusal(sock, "{ viewer { ")
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED", error
