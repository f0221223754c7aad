"""Authentication: which bearer tokens are accepted, and the token lifecycle."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from click.testing import CliRunner

from mcgraph.cli import main
from mcgraph.db.models import Role
from tests.conftest import START
from tests.helpers import MY_TOKENS, VIEWER_ROLE, error_codes, mutate, succeed

BAD_HEADERS = {
    "no header": {},
    "empty": {"Authorization": ""},
    "no scheme": {"Authorization": "mcg_abc"},
    "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
    "bearer without token": {"Authorization": "Bearer "},
    "unknown token": {"Authorization": "Bearer mcg_not-a-real-token"},
}


async def answer(http, token: str | None = None, headers: dict[str, str] | None = None) -> str:
    """The viewer's role, or the error codes, for a request with this token or these headers."""
    headers = headers if headers is not None else {"Authorization": f"Bearer {token}"}
    body = (await http.post("/graphql", json={"query": VIEWER_ROLE}, headers=headers)).json()
    if body.get("errors"):
        assert body["data"] is None
        return "/".join(error_codes(body))
    return body["data"]["viewer"]["role"]


async def test_missing_malformed_or_unknown_tokens_are_unauthenticated(http, acme):
    observed = {name: await answer(http, headers=headers) for name, headers in BAD_HEADERS.items()}
    assert observed == dict.fromkeys(BAD_HEADERS, "UNAUTHENTICATED")
    # while a good one works, whatever the case of the scheme
    assert await answer(http, headers={"Authorization": f"bearer {acme[Role.VIEWER]}"}) == "VIEWER"


async def create_token(gql, token: str, **input) -> dict:
    return await succeed(gql, "createApiToken", {"name": "ci", **input}, token)


async def test_a_created_token_works_and_its_secret_is_shown_once(gql, acme):
    created = await create_token(gql, acme[Role.MEMBER])
    secret = created["secret"]
    assert secret.startswith("mcg_") and len(secret) > 40

    data = await gql.data("{ viewer { role user { email } } }", token=secret)
    assert data["viewer"] == {"role": "MEMBER", "user": {"email": "member@acme.test"}}

    listed = (await gql.data(MY_TOKENS, token=acme[Role.MEMBER]))["viewer"]["apiTokens"]["nodes"]
    assert len(listed) == 2  # the fixture's token and the new one
    (mine,) = [node for node in listed if node["id"] == created["apiToken"]["id"]]
    assert mine["name"] == "ci" and mine["revokedAt"] is None
    assert secret.startswith(mine["prefix"]) and len(mine["prefix"]) < len(secret)
    assert secret not in str(listed)
    # there is no field to read it again
    body = await gql("{ viewer { apiTokens { nodes { secret } } } }", token=acme[Role.MEMBER])
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_last_used_at_is_set_once_the_token_is_used(gql, acme, clock):
    created = await create_token(gql, acme[Role.ADMIN])
    token_id = created["apiToken"]["id"]

    async def last_used() -> str | None:
        nodes = (await gql.data(MY_TOKENS, token=acme[Role.ADMIN]))["viewer"]["apiTokens"]["nodes"]
        return next(node["lastUsedAt"] for node in nodes if node["id"] == token_id)

    assert await last_used() is None
    await gql.data(VIEWER_ROLE, token=created["secret"])
    assert await last_used() == START.isoformat()
    later = clock.advance(minutes=5)
    await gql.data(VIEWER_ROLE, token=created["secret"])
    assert await last_used() == later.isoformat()


async def test_a_token_revoked_through_the_api_is_unauthenticated(gql, http, acme):
    created = await create_token(gql, acme[Role.MANAGER])
    assert await answer(http, created["secret"]) == "MANAGER"
    revoked = await succeed(gql, "revokeApiToken", {"id": created["apiToken"]["id"]}, acme[Role.MANAGER])
    assert revoked["apiToken"] == {"id": created["apiToken"]["id"], "revokedAt": START.isoformat()}
    assert await answer(http, created["secret"]) == "UNAUTHENTICATED"
    assert await answer(http, acme[Role.MANAGER]) == "MANAGER"  # the manager's other token still works

    again = await mutate(gql, "revokeApiToken", {"id": created["apiToken"]["id"]}, acme[Role.MANAGER])
    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_REVOKED"]
    assert again["apiToken"] is None


async def test_a_checked_token_is_read_again_only_after_a_change_of_access(gql, http, acme, monkeypatch):
    from mcgraph.domain import tokens
    from tests.project_helpers import create_project

    created = await create_token(gql, acme[Role.MANAGER])
    secret = created["secret"]
    checks = []
    authenticate = tokens.authenticate
    monkeypatch.setattr(tokens, "authenticate", lambda session, given, now: checks.append(given == secret) or authenticate(session, given, now))
    for _ in range(3):
        assert await answer(http, secret) == "MANAGER"
    # seen first, then checked with the versions read before its rows; trusted from then on
    assert checks.count(True) == 2
    await create_project(gql, acme[Role.MANAGER], "WEB")  # a write of the organisation's data
    assert await answer(http, secret) == "MANAGER"
    assert checks.count(True) == 2
    await succeed(gql, "revokeApiToken", {"id": created["apiToken"]["id"]}, acme[Role.OWNER])
    assert await answer(http, secret) == "UNAUTHENTICATED"


async def test_a_token_revoked_through_the_cli_is_unauthenticated(http, acme, database_url):
    for _ in range(3):  # checked, then trusted
        assert await answer(http, acme[Role.MEMBER]) == "MEMBER"
    env = {"MCGRAPH_DATABASE_URL": database_url}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["token", "revoke", acme[Role.MEMBER]], env=env)
    assert result.exit_code == 0, result.output
    assert await answer(http, acme[Role.MEMBER]) == "UNAUTHENTICATED"
    assert await answer(http, acme[Role.VIEWER]) == "VIEWER"

    again = await asyncio.to_thread(CliRunner().invoke, main, ["token", "revoke", acme[Role.MEMBER]], env=env)
    assert again.exit_code != 0
    assert "no such token" in again.output


async def test_an_expired_token_is_unauthenticated(gql, http, acme, clock):
    expires = START + timedelta(hours=1)
    created = await create_token(gql, acme[Role.VIEWER], expiresAt=expires.isoformat())
    assert created["apiToken"]["expiresAt"] == expires.isoformat()
    clock.advance(minutes=59)
    assert await answer(http, created["secret"]) == "VIEWER"
    clock.advance(minutes=1)
    assert await answer(http, created["secret"]) == "UNAUTHENTICATED"
    assert await answer(http, acme[Role.VIEWER]) == "VIEWER"  # a token without an expiry still works

    past = await mutate(gql, "createApiToken", {"expiresAt": clock.now().isoformat()}, acme[Role.VIEWER])
    assert [(e["field"], e["code"]) for e in past["userErrors"]] == [(["expiresAt"], "INVALID")]
    assert past["secret"] is None
