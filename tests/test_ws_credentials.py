"""An open WebSocket's token is checked again: a revoked, expired or removed credential, or a
changed role, closes the socket (4401 / 4403) before anything more is sent or done."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from websockets.exceptions import ConnectionClosed

from mcgraph.app import create_app
from mcgraph.cli import main
from mcgraph.db.models import Role
from tests.helpers import membership_ids
from tests.live import LEGACY_WS, TRANSPORT_WS, Http, Live, Socket, open_socket, serving, until
from tests.test_subscriptions import EVENTS, create_project

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
REVOKE = "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { userErrors { code } } }"
REMOVE = "mutation($id: ID!) { removeMember(input: {membershipId: $id}) { userErrors { code } } }"
LOWER = "mutation($id: ID!) { changeMemberRole(input: {membershipId: $id, role: VIEWER}) { userErrors { code } } }"
NEW_TOKEN = "mutation($at: DateTime) { createApiToken(input: {name: \"short\", expiresAt: $at}) { secret userErrors { code } } }"
PROJECTS = "{ projects(first: 50) { nodes { key } } }"


async def closed_with(sock: Socket) -> int:
    """The code the server closes ``sock`` with; fails if a result or an error arrives first."""
    try:
        message = await sock.receive()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code
    pytest.fail(f"the socket got {message} instead of being closed")


async def revoke_by_mutation(http: Http, token: str, **_: Any) -> None:
    data = await http.data("{ viewer { apiTokens(first: 10) { nodes { id expiresAt } } } }", token=token)
    (token_id,) = [node["id"] for node in data["viewer"]["apiTokens"]["nodes"] if node["expiresAt"]]  # this one
    payload = await http.data(REVOKE, {"id": token_id}, token=token)
    assert payload["revokeApiToken"]["userErrors"] == []


async def revoke_by_cli(http: Http, token: str, database_url: str, **_: Any) -> None:
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, main, ["token", "revoke", token], env={"MCGRAPH_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output


async def remove_member(http: Http, token: str, owner: str, **_: Any) -> None:
    membership = (await membership_ids(http, owner))["manager@acme.test"]
    assert (await http.data(REMOVE, {"id": membership}, token=owner))["removeMember"]["userErrors"] == []


async def lower_role(http: Http, token: str, owner: str, **_: Any) -> None:
    membership = (await membership_ids(http, owner))["manager@acme.test"]
    assert (await http.data(LOWER, {"id": membership}, token=owner))["changeMemberRole"]["userErrors"] == []


async def let_expire(http: Http, token: str, clock: Any, **_: Any) -> None:
    clock.advance(hours=2)


Change = Callable[..., Awaitable[None]]
# what happens to the manager's credential -> the code its socket is closed with
CHANGES: dict[str, tuple[Change, int]] = {
    "revoked by revokeApiToken": (revoke_by_mutation, 4401),
    "revoked by mcgraph token revoke": (revoke_by_cli, 4401),
    "member removed": (remove_member, 4401),
    "role lowered": (lower_role, 4403),
    "token expired": (let_expire, 4401),
}


async def manager_token(http: Http, acme: dict[Role, str], clock: Any) -> str:
    """A manager's token that expires in an hour (the others never do, and work the same)."""
    data = await http.data(NEW_TOKEN, {"at": (clock.now() + timedelta(hours=1)).isoformat()}, token=acme[Role.MANAGER])
    assert data["createApiToken"]["userErrors"] == []
    return data["createApiToken"]["secret"]


def app_of(settings: Any, clock: Any, check_seconds: float) -> Any:
    return create_app(settings.model_copy(update={"ws_credential_check_seconds": check_seconds}), clock=clock)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("change", CHANGES)
async def test_a_streaming_socket_is_closed_before_the_next_event(settings, clock, acme, database_url, change, protocol):
    """With no periodic check, the next result itself finds the credential changed."""
    act, code = CHANGES[change]
    owner = acme[Role.OWNER]
    app = app_of(settings, clock, 0)
    async with serving(app) as url, Http(url) as http:
        token = await manager_token(http, acme, clock)
        async with open_socket(url, token, protocol) as sock:
            await sock.subscribe(EVENTS, {"types": ["project.created"]})
            await Live(url, app).listening(1)
            await create_project(http, owner, "BEFORE")
            assert (await sock.data())["events"]["type"] == "project.created"

            await act(http, token, owner=owner, database_url=database_url, clock=clock)
            await create_project(http, owner, "AFTER")
            assert await closed_with(sock) == code


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("change", CHANGES)
async def test_an_idle_socket_is_closed_by_the_periodic_check(settings, clock, acme, database_url, change, protocol):
    act, code = CHANGES[change]
    app = app_of(settings, clock, 0.05)
    async with serving(app) as url, Http(url) as http:
        token = await manager_token(http, acme, clock)
        async with open_socket(url, token, protocol) as sock:
            await sock.subscribe(EVENTS)
            await Live(url, app).listening(1)
            await act(http, token, owner=acme[Role.OWNER], database_url=database_url, clock=clock)
            assert await closed_with(sock) == code
        await until(lambda: app.state.credentials.count() == 0, "the socket to be forgotten")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("change", CHANGES)
async def test_an_operation_after_the_change_is_refused(settings, clock, acme, database_url, change, protocol):
    act, code = CHANGES[change]
    owner = acme[Role.OWNER]
    app = app_of(settings, clock, 0)
    async with serving(app) as url, Http(url) as http:
        token = await manager_token(http, acme, clock)
        async with open_socket(url, token, protocol) as sock:
            await act(http, token, owner=owner, database_url=database_url, clock=clock)
            await sock.subscribe('mutation { createProject(input: {key: "LATE", name: "Late"}) { project { id } } }')
            assert await closed_with(sock) == code
        keys = [node["key"] for node in (await http.data(PROJECTS, token=owner))["projects"]["nodes"]]
        assert "LATE" not in keys


async def test_a_lowered_role_applies_once_reconnected(settings, clock, acme):
    app = app_of(settings, clock, 0)
    async with serving(app) as url, Http(url) as http:
        token = acme[Role.MANAGER]
        async with open_socket(url, token) as sock:
            await sock.subscribe("{ viewer { role } }")
            assert (await sock.data())["viewer"]["role"] == "MANAGER"
            assert (await sock.receive())["type"] == "complete"
            await lower_role(http, token, owner=acme[Role.OWNER])
            await sock.subscribe("{ viewer { role } }")
            assert await closed_with(sock) == 4403
        async with open_socket(url, token) as sock:
            await sock.subscribe("{ viewer { role } }")
            assert (await sock.data())["viewer"]["role"] == "VIEWER"


async def test_other_sockets_of_the_organisation_go_on(settings, clock, acme):
    """One member's revoked token closes that member's socket only."""
    owner = acme[Role.OWNER]
    app = app_of(settings, clock, 0)
    async with serving(app) as url, Http(url) as http:
        token = await manager_token(http, acme, clock)
        async with open_socket(url, token) as revoked, open_socket(url, acme[Role.VIEWER]) as kept:
            await revoked.subscribe(EVENTS, {"types": ["project.created"]})
            await kept.subscribe(EVENTS, {"types": ["project.created"]})
            await Live(url, app).listening(2)  # a feed per role
            await revoke_by_mutation(http, token)
            await create_project(http, owner, "AFTER")
            assert await closed_with(revoked) == 4401
            assert (await kept.data())["events"]["type"] == "project.created"
