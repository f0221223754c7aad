"""Identifiers (e-mails, slugs, keys, team, user and token names) are NFKC-normalised, and
refused when they hide invisible or bidirectional control characters: a look-alike of an
existing identifier is the same identifier (taken) or refused, never a second one."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner, Result

from mcgraph.cli import main
from mcgraph.db.models import Role
from mcgraph.domain.errors import UserError, UserErrorCode
from mcgraph.domain.identifiers import identifier
from tests.helpers import TEAMS, members, mutate, succeed, user_error_codes
from tests.project_helpers import mutate as project_mutate, succeed as project_succeed

# zero-width, word joiner, byte-order mark, bidi embeddings, overrides, isolates and marks
HIDDEN = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c",
]


@pytest.mark.parametrize("hidden", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_an_identifier_hiding_a_character_is_refused(hidden):
    with pytest.raises(UserError) as refused:
        identifier(f"Ops{hidden}Team", "name")
    (problem,) = refused.value.problems
    assert problem.code == UserErrorCode.INVALID and problem.field == ["name"]
    assert f"U+{ord(hidden):04X}" in problem.message


def test_identifiers_are_nfkc_normalised():
    assert identifier("\uff2f\uff50\uff53", "name") == "Ops"  # full-width
    assert identifier("\ufb01nance", "name") == "finance"  # ligature
    assert identifier(" Ops\u00a0Team ", "name") == "Ops Team"  # no-break space


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


async def test_an_email_look_alike_is_refused_or_the_same_member(gql, acme):
    owner = acme[Role.OWNER]
    for hidden in ("\u200b", "\u202e", "\u2060"):
        payload = await mutate(gql, "addMember", {"email": f"member{hidden}@acme.test", "name": "x", "role": "MEMBER"}, owner)
        assert user_error_codes(payload) == ["INVALID"], payload
    same = await mutate(gql, "addMember", {"email": fullwidth("member@acme.test"), "name": "x", "role": "MEMBER"}, owner)
    assert user_error_codes(same) == ["TAKEN"], same
    emails = [edge["node"]["user"]["email"] for edge in (await members(gql, owner))["edges"]]
    assert sorted(emails) == sorted(f"{role.value}@acme.test" for role in Role)


async def test_a_user_name_hiding_a_character_is_refused(gql, acme):
    payload = await mutate(gql, "addMember", {"email": "new@acme.test", "name": "Ann\u200d", "role": "MEMBER"}, acme[Role.OWNER])
    assert user_error_codes(payload) == ["INVALID"]


async def test_a_team_name_look_alike_is_refused_or_taken(gql, acme):
    owner = acme[Role.OWNER]
    team = (await succeed(gql, "createTeam", {"name": "Ops"}, owner))["team"]
    for name in ("Ops\u200b", "\u2066Ops\u2069", "O\u200dps"):
        payload = await mutate(gql, "createTeam", {"name": name}, owner)
        assert user_error_codes(payload) == ["INVALID"], name
    taken = await mutate(gql, "createTeam", {"name": fullwidth("Ops")}, owner)
    assert user_error_codes(taken) == ["TAKEN"]
    other = (await succeed(gql, "createTeam", {"name": "Dev"}, owner))["team"]
    renamed = await mutate(gql, "updateTeam", {"teamId": other["id"], "name": "Ops\ufeff"}, owner)
    assert user_error_codes(renamed) == ["INVALID"]
    names = [t["name"] for t in (await gql.data(TEAMS, token=owner))["viewer"]["organization"]["teams"]["nodes"]]
    assert sorted(names) == ["Dev", "Ops"] and team["name"] == "Ops"


async def test_a_token_name_hiding_a_character_is_refused(gql, acme):
    payload = await mutate(gql, "createApiToken", {"name": "ci\u202e"}, acme[Role.OWNER])
    assert user_error_codes(payload) == ["INVALID"]


async def test_a_project_key_look_alike_is_the_same_key(gql, acme):
    owner = acme[Role.OWNER]
    await project_succeed(gql, "createProject", {"key": "AB", "name": "First"}, owner)
    taken = await project_mutate(gql, "createProject", {"key": fullwidth("AB"), "name": "Second"}, owner)
    assert user_error_codes(taken) == ["TAKEN"], taken
    found = await gql.data('query($key: String!) { project(key: $key) { key } }', {"key": fullwidth("ab")}, token=owner)
    assert found["project"] == {"key": "AB"}


async def invoke(*args: str, env: dict[str, str]) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, ["token", "create", *args], env=env)


async def test_token_create_refuses_a_hidden_character_and_finds_the_same_user(gql, database_url):
    env = {"MCGRAPH_DATABASE_URL": database_url}
    refused = await invoke("--org", "acme", "--email", "a\u200b@acme.test", env=env)
    assert refused.exit_code != 0 and "U+200B" in refused.output
    made = await invoke("--org", fullwidth("acme"), "--email", fullwidth("a@acme.test"), "--role", "owner", env=env)
    assert made.exit_code == 0, made.output
    plain = await invoke("--org", "acme", "--email", "a@acme.test", "--role", "owner", env=env)
    who = "{ viewer { user { id email } organization { id } } }"
    first, second = [await gql.data(who, token=result.stdout.strip()) for result in (made, plain)]
    assert first == second and first["viewer"]["user"]["email"] == "a@acme.test"
