"""The role matrix (who may call what) and the rules about particular rows."""

from __future__ import annotations

from typing import Any

import pytest

from mcgraph.api.ids import encode_id
from mcgraph.db.models import Role
from mcgraph.domain import tenancy
from mcgraph.domain.permissions import MATRIX, Action
from tests.helpers import (
    ORG_TOKENS,
    VIEWER_ROLE,
    error_codes,
    membership_ids,
    mutate,
    mutation_document,
    my_token_id,
    snapshot,
    succeed,
    user_error_codes,
    warm_up,
)

# Who may do what. Written out by hand so that changing the matrix takes changing this too.
TABLE = """
operation               owner  admin  manager  member  viewer
addMember               yes    yes    no       no      no
changeMemberRole        yes    yes    no       no      no
removeMember            yes    yes    no       no      no
updateOrganization      yes    yes    no       no      no
createTeam              yes    yes    yes      no      no
organization.apiTokens  yes    yes    no       no      no
createApiToken          yes    yes    yes      yes     yes
revokeApiToken          yes    yes    yes      yes     yes
"""


def _parse(table: str) -> dict[str, frozenset[Role]]:
    header, *rows = table.split("\n")[1:-1]
    roles = [Role(name) for name in header.split()[1:]]
    allowed = {}
    for row in rows:
        operation, *cells = row.split()
        assert set(cells) <= {"yes", "no"} and len(cells) == len(roles), row
        allowed[operation] = frozenset(role for role, cell in zip(roles, cells, strict=True) if cell == "yes")
    return allowed


ALLOWED = _parse(TABLE)

ACTION_OF = {
    "addMember": Action.MEMBER_MANAGE,
    "changeMemberRole": Action.MEMBER_MANAGE,
    "removeMember": Action.MEMBER_MANAGE,
    "updateOrganization": Action.ORG_UPDATE,
    "createTeam": Action.TEAM_MANAGE,
    "organization.apiTokens": Action.TOKEN_MANAGE_ANY,
    "createApiToken": Action.TOKEN_MANAGE_OWN,
    "revokeApiToken": Action.TOKEN_MANAGE_OWN,
}

# Inputs of the mutations, given the ids they need. Run in this order: the actor's own
# token is revoked last, and the member's role is changed before the member is removed.
INPUTS = {
    "addMember": lambda ids: {"email": "new@acme.test", "role": "MEMBER"},
    "changeMemberRole": lambda ids: {"membershipId": ids["member"], "role": "VIEWER"},
    "removeMember": lambda ids: {"membershipId": ids["member"]},
    "updateOrganization": lambda ids: {"name": "Acme Inc"},
    "createTeam": lambda ids: {"name": "Ops"},
    "organization.apiTokens": None,
    "createApiToken": lambda ids: {"name": "extra"},
    "revokeApiToken": lambda ids: {"id": ids["own_token"]},
}


def test_the_written_table_is_the_matrix():
    assert ALLOWED.keys() == ACTION_OF.keys() == INPUTS.keys()
    assert {op: MATRIX[action] for op, action in ACTION_OF.items()} == ALLOWED


async def outcome(gql: Any, operation: str, ids: dict[str, str], token: str) -> str:
    """"allowed" when the operation succeeded, else the error codes it got."""
    make_input = INPUTS[operation]
    if make_input is None:
        body = await gql(ORG_TOKENS, token=token)
    else:
        body = await gql(mutation_document(operation), {"input": make_input(ids)}, token=token)
    if body.get("errors"):
        assert body["data"] is None
        return "/".join(error_codes(body))
    if make_input is None:
        return "allowed" if body["data"]["viewer"]["organization"]["apiTokens"]["nodes"] else "empty"
    payload = body["data"][operation]
    return "/".join(user_error_codes(payload)) or "allowed"


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
async def test_role_matrix(gql, database, acme, role):
    token = acme[role]
    ids = {"member": (await membership_ids(gql, acme[Role.OWNER]))["member@acme.test"]}
    ids["own_token"] = await my_token_id(gql, token)

    observed, expected = {}, {}
    for operation in INPUTS:
        before = await snapshot(database)
        observed[operation] = await outcome(gql, operation, ids, token)
        expected[operation] = "allowed" if role in ALLOWED[operation] else "FORBIDDEN"
        assert expected[operation] == ("allowed" if role in MATRIX[ACTION_OF[operation]] else "FORBIDDEN")
        if observed[operation] == "FORBIDDEN":
            assert await snapshot(database) == before, f"{operation} was refused but wrote"
    assert observed == expected


# --- rules about particular rows ------------------------------------------------------


OWNER_CHANGES = {
    "add an owner": ("addMember", lambda ids: {"email": "boss@acme.test", "role": "OWNER"}),
    "promote to owner": ("changeMemberRole", lambda ids: {"membershipId": ids["member@acme.test"], "role": "OWNER"}),
    "demote an owner": ("changeMemberRole", lambda ids: {"membershipId": ids["owner2@acme.test"], "role": "MEMBER"}),
    "remove an owner": ("removeMember", lambda ids: {"membershipId": ids["owner2@acme.test"]}),
}


async def test_only_an_owner_makes_or_unmakes_owners(gql, database, acme):
    await succeed(gql, "addMember", {"email": "owner2@acme.test", "role": "OWNER"}, acme[Role.OWNER])
    ids = await membership_ids(gql, acme[Role.OWNER])
    await warm_up(gql, acme[Role.ADMIN])
    for name, (mutation, make_input) in OWNER_CHANGES.items():
        before = await snapshot(database)
        payload = await mutate(gql, mutation, make_input(ids), acme[Role.ADMIN])
        assert user_error_codes(payload) == ["FORBIDDEN"], name
        assert await snapshot(database) == before, name
    # an owner may do each of them
    for mutation, make_input in OWNER_CHANGES.values():
        await succeed(gql, mutation, make_input(ids), acme[Role.OWNER])


async def test_the_last_owner_stays(gql, acme):
    ids = await membership_ids(gql, acme[Role.OWNER])
    demote = ("changeMemberRole", {"membershipId": ids["owner@acme.test"], "role": "ADMIN"})
    remove = ("removeMember", {"membershipId": ids["owner@acme.test"]})
    for mutation, input in (demote, remove):
        payload = await mutate(gql, mutation, input, acme[Role.OWNER])
        assert user_error_codes(payload) == ["LAST_OWNER"], mutation
    assert (await gql.data(VIEWER_ROLE, token=acme[Role.OWNER]))["viewer"]["role"] == "OWNER"
    # with a second owner, the first may step down, and the second may remove them
    await succeed(gql, "changeMemberRole", {"membershipId": ids["admin@acme.test"], "role": "OWNER"}, acme[Role.OWNER])
    await succeed(gql, *demote, acme[Role.OWNER])
    payload = await mutate(gql, "changeMemberRole", {"membershipId": ids["admin@acme.test"], "role": "ADMIN"}, acme[Role.ADMIN])
    assert user_error_codes(payload) == ["LAST_OWNER"]
    await succeed(gql, *remove, acme[Role.ADMIN])


async def test_a_removed_member_loses_access(gql, acme):
    ids = await membership_ids(gql, acme[Role.OWNER])
    assert (await gql.data(VIEWER_ROLE, token=acme[Role.MEMBER]))["viewer"]["role"] == "MEMBER"
    payload = await succeed(gql, "removeMember", {"membershipId": ids["member@acme.test"]}, acme[Role.ADMIN])
    assert payload["removedMembershipId"] == ids["member@acme.test"]
    assert error_codes(await gql(VIEWER_ROLE, token=acme[Role.MEMBER])) == ["UNAUTHENTICATED"]
    assert "member@acme.test" not in await membership_ids(gql, acme[Role.OWNER])


async def test_only_owners_and_admins_revoke_other_peoples_tokens(gql, database, acme):
    viewers_token = await my_token_id(gql, acme[Role.VIEWER])
    await warm_up(gql, *acme.values())
    for role in (Role.MEMBER, Role.MANAGER):
        before = await snapshot(database)
        refused = await mutate(gql, "revokeApiToken", {"id": viewers_token}, acme[role])
        missing = await mutate(gql, "revokeApiToken", {"id": encode_id("ApiToken", 999999)}, acme[role])
        assert refused == missing == {
            "userErrors": [{"field": ["id"], "message": "No such token.", "code": "NOT_FOUND"}],
            "apiToken": None,
        }
        assert await snapshot(database) == before
    assert (await gql.data(VIEWER_ROLE, token=acme[Role.VIEWER]))["viewer"]["role"] == "VIEWER"

    await succeed(gql, "revokeApiToken", {"id": viewers_token}, acme[Role.ADMIN])
    assert error_codes(await gql(VIEWER_ROLE, token=acme[Role.VIEWER])) == ["UNAUTHENTICATED"]


BAD_EMAILS = {
    "member@acme.test": "TAKEN",
    "  Member@ACME.test ": "TAKEN",
    "not-an-address": "INVALID",
    "two@@acme.test": "INVALID",
    "": "INVALID",
}


async def test_add_member_refuses_bad_or_duplicate_email(gql, database, acme):
    await warm_up(gql, acme[Role.ADMIN])
    before = await snapshot(database)
    observed = {}
    for email in BAD_EMAILS:
        payload = await mutate(gql, "addMember", {"email": email}, acme[Role.ADMIN])
        assert payload["membership"] is None
        assert [e["field"] for e in payload["userErrors"]] == [["email"]]
        observed[email] = "/".join(user_error_codes(payload))
    assert observed == BAD_EMAILS
    assert await snapshot(database) == before

    payload = await succeed(gql, "addMember", {"email": " New.Person@Acme.TEST", "role": "MANAGER"}, acme[Role.ADMIN])
    assert payload["membership"]["role"] == "MANAGER"
    assert payload["membership"]["user"]["email"] == "new.person@acme.test"


async def test_team_names_are_unique_in_an_organisation(gql, globex, acme):
    await succeed(gql, "createTeam", {"name": "Ops"}, acme[Role.MANAGER])
    payload = await mutate(gql, "createTeam", {"name": " Ops "}, acme[Role.MANAGER])
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["name"], "TAKEN")]
    assert payload["team"] is None
    # another organisation may use the name
    await succeed(gql, "createTeam", {"name": "Ops"}, globex[Role.MANAGER])
    # renaming onto a taken name is refused too
    other = await succeed(gql, "createTeam", {"name": "Dev"}, acme[Role.MANAGER])
    renamed = await mutate(gql, "updateTeam", {"teamId": other["team"]["id"], "name": "Ops"}, acme[Role.MANAGER])
    assert user_error_codes(renamed) == ["TAKEN"]


async def test_only_members_join_a_team(gql, database, acme):
    async with database.transaction() as session:
        outsider = await tenancy.ensure_user(session, "outsider@example.test")
    outsider_id = encode_id("User", outsider.id)
    created = await mutate(gql, "createTeam", {"name": "Ops", "memberIds": [outsider_id]}, acme[Role.ADMIN])
    assert user_error_codes(created) == ["NOT_A_MEMBER"]
    assert created["team"] is None

    team = (await succeed(gql, "createTeam", {"name": "Ops"}, acme[Role.ADMIN]))["team"]
    added = await mutate(gql, "addTeamMembers", {"teamId": team["id"], "userIds": [outsider_id]}, acme[Role.ADMIN])
    assert user_error_codes(added) == ["NOT_A_MEMBER"]
    members = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on Team { members { totalCount } } } }", {"id": team["id"]},
        token=acme[Role.ADMIN],
    )
    assert members["node"]["members"]["totalCount"] == 0
