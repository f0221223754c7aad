"""Cursor pagination, filters and order of ``organization.members``; ``node``/``nodes``."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from mcgraph.api.ids import encode_id
from mcgraph.db.models import Membership, Role
from tests.helpers import MY_TOKENS, error_codes, members, succeed

ADDED = 12
DESCENDING = {"field": "JOINED_AT", "direction": "DESC"}


@pytest.fixture
async def emails(gql, acme) -> list[str]:
    """Every acme member's e-mail address, in the order they joined."""
    for i in range(1, ADDED + 1):
        role = "MANAGER" if i % 4 == 0 else "MEMBER"
        await succeed(gql, "addMember", {"email": f"p{i:02}@acme.test", "name": f"Person {i:02}", "role": role}, acme[Role.OWNER])
    return [f"{role.value}@acme.test" for role in Role] + [f"p{i:02}@acme.test" for i in range(1, ADDED + 1)]


def emails_of(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["user"]["email"] for edge in page["edges"]]


def emails_in(pages: list[dict[str, Any]]) -> list[str]:
    return [email for page in pages for email in emails_of(page)]


async def walk(gql: Any, token: str, *, backwards: bool, size: int = 5, **arguments: Any) -> list[dict[str, Any]]:
    """Every page of the list, from its start (or, backwards, from its end)."""
    pages, cursor = [], None
    while True:
        if backwards:
            page = await members(gql, token, first=None, last=size, before=cursor, **arguments)
        else:
            page = await members(gql, token, first=size, after=cursor, **arguments)
        pages.append(page)
        info = page["pageInfo"]
        more = info["hasPreviousPage"] if backwards else info["hasNextPage"]
        if not more:
            return pages
        cursor = info["startCursor"] if backwards else info["endCursor"]
        assert len(pages) < 20, "the walk does not end"


async def test_walk_forward_and_backwards(gql, acme, emails):
    forward = await walk(gql, acme[Role.VIEWER], backwards=False)
    assert [len(p["edges"]) for p in forward] == [5, 5, 5, 2]
    assert emails_in(forward) == emails
    assert {p["totalCount"] for p in forward} == {len(emails)}
    flags = [(p["pageInfo"]["hasPreviousPage"], p["pageInfo"]["hasNextPage"]) for p in forward]
    assert flags == [(False, True), (True, True), (True, True), (True, False)]
    for page in forward:
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]

    backwards = await walk(gql, acme[Role.VIEWER], backwards=True)
    assert [len(p["edges"]) for p in backwards] == [5, 5, 5, 2]
    assert emails_in(backwards[::-1]) == emails
    flags = [(p["pageInfo"]["hasPreviousPage"], p["pageInfo"]["hasNextPage"]) for p in backwards]
    assert flags == [(True, False), (True, True), (True, True), (False, True)]


async def test_cursors_work_in_both_directions(gql, acme, emails):
    everything = await members(gql, acme[Role.VIEWER])
    cursors = [edge["cursor"] for edge in everything["edges"]]
    assert emails_of(everything) == emails
    after = await members(gql, acme[Role.VIEWER], first=3, after=cursors[6])
    assert emails_of(after) == emails[7:10]
    before = await members(gql, acme[Role.VIEWER], first=None, last=3, before=cursors[6])
    assert emails_of(before) == emails[3:6]
    between = await members(gql, acme[Role.VIEWER], after=cursors[2], before=cursors[6])
    assert emails_of(between) == emails[3:6]
    empty = await members(gql, acme[Role.VIEWER], first=0)
    assert empty["edges"] == []
    assert empty["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False, "startCursor": None, "endCursor": None}
    assert empty["totalCount"] == len(emails)


async def test_descending_order_reverses_the_list(gql, acme, emails):
    pages = await walk(gql, acme[Role.VIEWER], backwards=False, orderBy=DESCENDING)
    assert emails_in(pages) == emails[::-1]
    pages = await walk(gql, acme[Role.VIEWER], backwards=True, orderBy=DESCENDING)
    assert emails_in(pages[::-1]) == emails[::-1]


async def test_members_who_joined_at_the_same_moment_keep_one_order(gql, database, acme, emails):
    """Ties on the sort column are broken the same way in both directions."""
    async with database.transaction() as session:
        await session.execute(update(Membership).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    ascending = emails_in(await walk(gql, acme[Role.VIEWER], backwards=False))
    descending = emails_in(await walk(gql, acme[Role.VIEWER], backwards=False, orderBy=DESCENDING))
    assert sorted(ascending) == sorted(emails)
    assert descending == ascending[::-1]


FILTERS = {
    "one-role": ({"roles": ["MANAGER"]}, ["manager@acme.test", "p04@acme.test", "p08@acme.test", "p12@acme.test"]),
    "two-roles": ({"roles": ["OWNER", "ADMIN"]}, ["owner@acme.test", "admin@acme.test"]),
    "no-roles": ({"roles": []}, None),
    "email": ({"search": "p0"}, [f"p{i:02}@acme.test" for i in range(1, 10)]),
    "name": ({"search": " PERSON 1"}, ["p10@acme.test", "p11@acme.test", "p12@acme.test"]),
    "case": ({"search": "OWNER@"}, ["owner@acme.test"]),
    "percent": ({"search": "%"}, []),
    "underscore": ({"search": "p_1"}, []),
    "both": ({"search": "p1", "roles": ["MEMBER"]}, ["p10@acme.test", "p11@acme.test"]),
    "none": ({"search": "nobody"}, []),
}


async def test_member_filters(gql, acme, emails):
    expected = {name: emails if want is None else want for name, (_, want) in FILTERS.items()}
    observed, counts, walked = {}, {}, {}
    for name, (where, _) in FILTERS.items():
        page = await members(gql, acme[Role.VIEWER], where=where)
        observed[name] = emails_of(page)
        counts[name] = page["totalCount"]
        pages = await walk(gql, acme[Role.VIEWER], backwards=False, size=3, where=where)
        walked[name] = emails_in(pages)
    assert observed == expected
    assert counts == {name: len(want) for name, want in expected.items()}
    assert walked == expected


# --- node and nodes -----------------------------------------------------------------------

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


async def one_id_of_each_type(gql: Any, token: str) -> dict[str, str]:
    team = await succeed(gql, "createTeam", {"name": "Ops"}, token)
    viewer = (await gql.data("{ viewer { user { id } organization { id } } }", token=token))["viewer"]
    page = await members(gql, token, first=1)
    tokens = (await gql.data(MY_TOKENS, token=token))["viewer"]["apiTokens"]["nodes"]
    return {
        "User": viewer["user"]["id"],
        "Membership": page["edges"][0]["node"]["id"],
        "Team": team["team"]["id"],
        "ApiToken": tokens[0]["id"],
        "Organization": viewer["organization"]["id"],
    }


async def test_node_finds_each_type(gql, acme):
    ids = await one_id_of_each_type(gql, acme[Role.OWNER])
    for type_name, global_id in ids.items():
        data = await gql.data(NODE, {"id": global_id}, token=acme[Role.VIEWER])
        assert data["node"] == {"__typename": type_name, "id": global_id}
    data = await gql.data(NODES, {"ids": list(ids.values())}, token=acme[Role.VIEWER])
    assert data["nodes"] == [{"__typename": t, "id": i} for t, i in ids.items()]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


MALFORMED = ["", "garbage", "!!!", b64("Nope:1"), b64("User:abc"), b64("User:-1"), b64("User:"), b64("User"), b64("User:1:2")]


async def test_malformed_or_unknown_ids_give_null(gql, acme):
    ids = await one_id_of_each_type(gql, acme[Role.OWNER])
    for global_id in MALFORMED + [encode_id("Team", 999999)]:
        assert await gql.data(NODE, {"id": global_id}, token=acme[Role.VIEWER]) == {"node": None}, global_id
    data = await gql.data(NODES, {"ids": [ids["User"], "garbage", ids["Team"]]}, token=acme[Role.VIEWER])
    assert data["nodes"] == [{"__typename": "User", "id": ids["User"]}, None, {"__typename": "Team", "id": ids["Team"]}]
    too_many = await gql(NODES, {"ids": [ids["User"]] * 101}, token=acme[Role.VIEWER])
    assert error_codes(too_many) == ["BAD_USER_INPUT"]
    assert "100" in too_many["errors"][0]["message"]
