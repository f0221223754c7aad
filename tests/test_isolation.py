"""Tenant isolation: acme's tokens never see or touch a row of globex.

Every answer about a globex id must be exactly the answer about an id that does not
exist, so that a client cannot even learn that the id is taken.
"""

from __future__ import annotations

from typing import Any

import pytest

from mcgraph.api.ids import decode_id, encode_id
from mcgraph.db.models import Role
from tests.helpers import (
    ORG_TOKENS,
    members,
    mutate,
    snapshot,
    succeed,
    user_error_codes,
    warm_up,
)

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


def missing(global_id: str) -> str:
    """An id of the same type as ``global_id`` that names no row."""
    type_name, _ = decode_id(global_id)
    return encode_id(type_name, 999999)


@pytest.fixture
async def globex_ids(gql, globex, acme) -> dict[str, Any]:
    """Ids of globex's rows, read with globex's own tokens; plus an acme team to write to."""
    owner = globex[Role.OWNER]
    page = await members(gql, owner)
    by_email = {edge["node"]["user"]["email"]: edge["node"] for edge in page["edges"]}
    member = by_email["member@globex.test"]
    team = await succeed(gql, "createTeam", {"name": "Globex ops", "memberIds": [member["user"]["id"]]}, owner)
    tokens = (await gql.data(ORG_TOKENS, token=owner))["viewer"]["organization"]["apiTokens"]["nodes"]
    organization = (await gql.data("{ viewer { organization { id } } }", token=owner))["viewer"]["organization"]
    acme_team = await succeed(gql, "createTeam", {"name": "Acme ops"}, acme[Role.OWNER])
    ids = {
        "Membership": [node["id"] for node in by_email.values()],
        "User": [node["user"]["id"] for node in by_email.values()],
        "Team": [team["team"]["id"]],
        "ApiToken": [node["id"] for node in tokens],
        "Organization": [organization["id"]],
    }
    assert all(len(v) == 5 for k, v in ids.items() if k in ("Membership", "User", "ApiToken"))
    return {
        **ids,
        "member": member["id"],
        "member_user": member["user"]["id"],
        "acme_team": acme_team["team"]["id"],
    }


def all_ids(globex_ids: dict[str, Any]) -> list[str]:
    return [i for name in ("Membership", "User", "Team", "ApiToken", "Organization") for i in globex_ids[name]]


async def test_node_and_nodes_do_not_find_another_organisations_rows(gql, acme, globex, globex_ids):
    for global_id in all_ids(globex_ids):
        mine = await gql(NODE, {"id": global_id}, token=acme[Role.OWNER])
        assert mine == {"data": {"node": None}}, global_id
        assert mine == await gql(NODE, {"id": missing(global_id)}, token=acme[Role.OWNER])
        # while globex itself does see it
        theirs = await gql.data(NODE, {"id": global_id}, token=globex[Role.VIEWER])
        assert theirs["node"]["id"] == global_id

    ids = all_ids(globex_ids)
    data = await gql.data(NODES, {"ids": ids}, token=acme[Role.OWNER])
    assert data["nodes"] == [None] * len(ids)
    assert data == await gql.data(NODES, {"ids": [missing(i) for i in ids]}, token=acme[Role.OWNER])


LISTS = """
{ viewer {
    apiTokens(first: 100, includeRevoked: true) { totalCount nodes { id user { id email } } }
    organization {
      members(first: 100) { totalCount nodes { id user { id email } } }
      teams(first: 100) { totalCount nodes { id members(first: 100) { nodes { id } } } }
      apiTokens(first: 100, includeRevoked: true) { totalCount nodes { id user { id email } } }
    }
} }
"""


async def test_lists_hold_nothing_of_another_organisation(gql, acme, globex_ids):
    data = (await gql.data(LISTS, token=acme[Role.OWNER]))["viewer"]
    organization = data["organization"]
    assert organization["members"]["totalCount"] == 5
    assert organization["teams"]["totalCount"] == 1
    assert organization["apiTokens"]["totalCount"] == 5
    assert data["apiTokens"]["totalCount"] == 1
    text = str(data)
    assert "globex" not in text
    assert not any(global_id in text for global_id in all_ids(globex_ids))


# mutation -> (its input, given globex's ids; the user error expected)
MUTATIONS = {
    "changeMemberRole": (lambda g: {"membershipId": g["member"], "role": "VIEWER"}, "NOT_FOUND"),
    "removeMember": (lambda g: {"membershipId": g["member"]}, "NOT_FOUND"),
    "updateTeam": (lambda g: {"teamId": g["Team"][0], "name": "Hacked"}, "NOT_FOUND"),
    "deleteTeam": (lambda g: {"teamId": g["Team"][0]}, "NOT_FOUND"),
    "addTeamMembers": (lambda g: {"teamId": g["acme_team"], "userIds": [g["member_user"]]}, "NOT_A_MEMBER"),
    "removeTeamMembers": (lambda g: {"teamId": g["Team"][0], "userIds": [g["member_user"]]}, "NOT_FOUND"),
    "createTeam": (lambda g: {"name": "Spies", "memberIds": [g["member_user"]]}, "NOT_A_MEMBER"),
    "revokeApiToken": (lambda g: {"id": g["ApiToken"][0]}, "NOT_FOUND"),
}


async def test_mutations_do_not_touch_another_organisations_rows(gql, database, acme, globex_ids):
    theirs = set(all_ids(globex_ids))

    def nowhere(value: Any) -> Any:
        """``value`` with each globex id replaced by an id of the same type that names no row."""
        if isinstance(value, dict):
            return {key: nowhere(v) for key, v in value.items()}
        if isinstance(value, list):
            return [nowhere(v) for v in value]
        return missing(value) if value in theirs else value

    await warm_up(gql, acme[Role.OWNER])
    before = await snapshot(database)
    observed, expected = {}, {}
    for mutation, (make_input, code) in MUTATIONS.items():
        input = make_input(globex_ids)
        assert nowhere(input) != input
        payload = await mutate(gql, mutation, input, acme[Role.OWNER])
        observed[mutation] = user_error_codes(payload)
        expected[mutation] = [code]
        assert payload == await mutate(gql, mutation, nowhere(input), acme[Role.OWNER]), mutation
    assert observed == expected
    assert await snapshot(database) == before
