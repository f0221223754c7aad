"""Milestones, comments with mentions, time and cost entries, and history, through GraphQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from mcgraph.api.ids import decode_id
from mcgraph.db import models as m
from mcgraph.db.models import Role
from mcgraph.domain.comments import mention_tokens
from tests.conftest import START, make_token
from tests.helpers import statements
from tests.project_helpers import rows_of

TODAY = START.date().isoformat()
TOMORROW = (START.date() + timedelta(days=1)).isoformat()

PAYLOADS = {
    "createProject": "project { id }",
    "createTask": "task { id }",
    "setProjectMember": "member { id hourlyRate }",
    "setTaskState": "task { id state { key } }",
    "updateTask": "task { id title }",
    "createMilestone": "milestone { id name dueDate done version }",
    "updateMilestone": "milestone { id name done version }",
    "deleteMilestone": "deletedMilestoneId",
    "signOffMilestone": "milestone { id done version signedOffAt signedOffBy { email } }",
    "revokeMilestoneSignOff": "milestone { id done signedOffAt signedOffBy { email } }",
    "addComment": "comment { id body author { email } mentions { email } editedAt }",
    "editComment": "comment { id body editedAt mentions { email } }",
    "deleteComment": "deletedCommentId",
    "logTime": "timeEntry { id minutes spentOn note user { email } task { id timeSpentMinutes } }",
    "updateTimeEntry": "timeEntry { id minutes note }",
    "deleteTimeEntry": "deletedTimeEntryId",
    "addProjectCost": "costEntry { id amount description incurredOn createdBy { email } }",
}

MEMBERS = "{ viewer { organization { members(first: 100) { nodes { user { id email } } } } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
PROJECT = """
query($id: ID!) { node(id: $id) { ... on Project {
  actualCost
  costEntries { amount description incurredOn createdBy { email } }
  timeEntries(first: 10) { totalCount nodes { minutes spentOn user { email } task { id } } }
  comments(first: 10) { totalCount nodes { body author { email } mentions { email } } }
  milestones { id name done signedOffAt signedOffBy { email } }
} } }
"""
HISTORY = """
query($id: ID!, $types: [String!], $first: Int, $after: String) { node(id: $id) {
  ... on Task { history(types: $types, first: $first, after: $after) { ...events } }
  ... on Project { history(types: $types, first: $first, after: $after) { ...events } }
} }
fragment events on EventConnection {
  totalCount
  pageInfo { hasNextPage endCursor }
  nodes { id type cursor occurredAt subjectType subjectId actor { email } changes { field before after } data }
}
"""


def document(name: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ userErrors {{ field message code }} {PAYLOADS[name]} }} }}"


async def mutate(gql: Any, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    """The payload of mutation ``name``; the request itself must not fail."""
    return (await gql.data(document(name), {"input": input}, token=token))[name]


async def role_refused(gql: Any, name: str, input: dict[str, Any], token: str) -> None:
    """Mutation ``name`` is refused as a whole: the token's role may not call it."""
    body = await gql(document(name), {"input": input}, token=token)
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]


async def ok(gql: Any, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    payload = await mutate(gql, name, input, token)
    assert payload["userErrors"] == [], payload
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


def pk(global_id: str) -> int:
    decoded = decode_id(global_id)
    assert decoded is not None
    return decoded[1]


async def users(gql: Any, token: str) -> dict[str, str]:
    data = await gql.data(MEMBERS, token=token)
    return {node["user"]["email"]: node["user"]["id"] for node in data["viewer"]["organization"]["members"]["nodes"]}


async def node(gql: Any, document: str, global_id: str, token: str, **variables: Any) -> dict[str, Any]:
    return (await gql.data(document, {"id": global_id, **variables}, token=token))["node"]


async def make_project(gql: Any, tokens: dict[Role, str], key: str, domain: str) -> dict[str, Any]:
    """A project run by the manager, with the member on it at 60 an hour, and one task."""
    manager = tokens[Role.MANAGER]
    ids = await users(gql, manager)
    project = (await ok(gql, "createProject", {"key": key, "name": f"Project {key}", "managerId": ids[f"manager@{domain}"]}, manager))["project"]
    await ok(gql, "setProjectMember", {"projectId": project["id"], "userId": ids[f"member@{domain}"], "hourlyRate": "60.00"}, manager)
    task = (await ok(gql, "createTask", {"projectId": project["id"], "title": "Write the copy"}, manager))["task"]
    return {"project": project["id"], "task": task["id"], "users": ids}


@pytest.fixture
async def web(gql, acme) -> dict[str, Any]:
    return await make_project(gql, acme, "WEB", "acme.test")


async def test_a_manager_signs_a_milestone_off_and_a_member_may_not(gql, acme, web):
    manager, member = acme[Role.MANAGER], acme[Role.MEMBER]
    created = await ok(gql, "createMilestone", {"projectId": web["project"], "name": " Beta ", "dueDate": "2026-03-20"}, manager)
    milestone = created["milestone"]
    assert (milestone["name"], milestone["done"], milestone["version"]) == ("Beta", False, 1)

    refused = await mutate(gql, "signOffMilestone", {"milestoneId": milestone["id"]}, member)
    assert codes(refused) == ["FORBIDDEN"] and refused["milestone"] is None
    await role_refused(gql, "signOffMilestone", {"milestoneId": milestone["id"]}, acme[Role.VIEWER])
    (unsigned,) = (await node(gql, PROJECT, web["project"], manager))["milestones"]
    assert (unsigned["done"], unsigned["signedOffAt"], unsigned["signedOffBy"]) == (False, None, None)

    signed = (await ok(gql, "signOffMilestone", {"milestoneId": milestone["id"], "expectedVersion": 1}, manager))["milestone"]
    assert signed["done"] is True
    assert signed["signedOffBy"] == {"email": "manager@acme.test"}
    assert signed["signedOffAt"].startswith(START.strftime("%Y-%m-%dT%H:%M:%S"))
    assert signed["version"] == 2

    stale = await mutate(gql, "updateMilestone", {"milestoneId": milestone["id"], "expectedVersion": 1, "name": "Late"}, manager)
    assert codes(stale) == ["VERSION_CONFLICT"]
    reopen = await mutate(gql, "updateMilestone", {"milestoneId": milestone["id"], "done": False}, manager)
    assert codes(reopen) == ["INVALID"]
    assert codes(await mutate(gql, "revokeMilestoneSignOff", {"milestoneId": milestone["id"]}, member)) == ["FORBIDDEN"]

    revoked = (await ok(gql, "revokeMilestoneSignOff", {"milestoneId": milestone["id"]}, manager))["milestone"]
    assert (revoked["signedOffAt"], revoked["signedOffBy"], revoked["done"]) == (None, None, True)
    reopened = (await ok(gql, "updateMilestone", {"milestoneId": milestone["id"], "done": False, "name": "Beta 2"}, manager))["milestone"]
    assert (reopened["done"], reopened["name"]) == (False, "Beta 2")

    history = (await node(gql, HISTORY, web["project"], manager, types=["milestone.created", "milestone.signed_off", "milestone.sign_off_revoked", "milestone.updated"]))["history"]
    assert [e["type"] for e in history["nodes"]] == ["milestone.updated", "milestone.sign_off_revoked", "milestone.signed_off", "milestone.created"]
    assert {"field": "done", "before": True, "after": False} in history["nodes"][0]["changes"]
    assert history["nodes"][2]["subjectId"] == milestone["id"]

    await role_refused(gql, "deleteMilestone", {"milestoneId": milestone["id"]}, member)
    assert (await ok(gql, "deleteMilestone", {"milestoneId": milestone["id"]}, manager))["deletedMilestoneId"] == milestone["id"]
    assert (await node(gql, PROJECT, web["project"], manager))["milestones"] == []


async def test_a_comment_stores_and_returns_its_mentions(gql, acme, globex, web, database):
    member = acme[Role.MEMBER]
    body = "Ready for review @manager@acme.test, and @owner: see @nobody, @member@globex.test and mail@example.test. Thanks @manager@acme.test!"
    comment = (await ok(gql, "addComment", {"taskId": web["task"], "body": body}, member))["comment"]
    assert comment["body"] == body
    assert comment["author"] == {"email": "member@acme.test"}
    assert comment["mentions"] == [{"email": "manager@acme.test"}, {"email": "owner@acme.test"}]
    assert comment["editedAt"] is None

    async with database.session() as session:
        stored = set(await session.scalars(select(m.CommentMention.user_id).where(m.CommentMention.comment_id == pk(comment["id"]))))
        (added,) = await session.scalars(select(m.Event).where(m.Event.type == "comment.added"))
    expected = {pk(web["users"]["manager@acme.test"]), pk(web["users"]["owner@acme.test"])}
    assert stored == expected
    assert added.data["mentions"] == [pk(web["users"]["manager@acme.test"]), pk(web["users"]["owner@acme.test"])]
    assert added.project_id == pk(web["project"])

    task = await node(gql, "query($id: ID!) { node(id: $id) { ... on Task { comments(first: 5) { totalCount nodes { id mentions { email } task { id } } } } } }", web["task"], member)
    assert task["comments"]["totalCount"] == 1
    assert task["comments"]["nodes"][0]["mentions"] == comment["mentions"]
    assert task["comments"]["nodes"][0]["task"] == {"id": web["task"]}

    on_project = (await ok(gql, "addComment", {"projectId": web["project"], "body": "Kick-off on Monday, @admin"}, acme[Role.OWNER]))["comment"]
    assert on_project["mentions"] == [{"email": "admin@acme.test"}]
    project = await node(gql, PROJECT, web["project"], member)
    assert [c["body"] for c in project["comments"]["nodes"]] == ["Kick-off on Monday, @admin"]

    assert codes(await mutate(gql, "addComment", {"taskId": web["task"], "body": "   "}, member)) == ["REQUIRED"]
    assert codes(await mutate(gql, "addComment", {"taskId": web["task"], "body": "x" * 20_001}, member)) == ["TOO_LONG"]
    assert codes(await mutate(gql, "addComment", {"taskId": web["task"], "projectId": web["project"], "body": "both"}, member)) == ["INVALID"]
    await role_refused(gql, "addComment", {"taskId": web["task"], "body": "hi"}, acme[Role.VIEWER])


def test_mention_tokens_are_read_from_the_text():
    text = "@Mo@Demo.test: ask @jo. and @jo again; not mail@example.test nor @ alone, but (@al_b+x)!"
    assert mention_tokens(text) == ["mo@demo.test", "jo", "al_b+x"]


async def test_a_local_part_shared_by_two_members_mentions_nobody(gql, acme, web, database):
    await make_token(database, "acme", "member@partner.test", Role.MEMBER)
    comment = (await ok(gql, "addComment", {"taskId": web["task"], "body": "@member or @member@partner.test?"}, acme[Role.OWNER]))["comment"]
    assert comment["mentions"] == [{"email": "member@partner.test"}]


PAGE = "query($id: ID!, $first: Int, $after: String) {{ node(id: $id) {{ ... on Task {{ {list}(first: $first, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {fields} }} }} }} }} }}"
COMMENT_PAGE = PAGE.format(list="comments", fields="body")
TIME_PAGE = PAGE.format(list="timeEntries", fields="minutes spentOn")


async def test_only_the_author_edits_a_comment(gql, acme, web, clock):
    member, admin, manager = acme[Role.MEMBER], acme[Role.ADMIN], acme[Role.MANAGER]
    comment = (await ok(gql, "addComment", {"taskId": web["task"], "body": "Draft is up, @owner"}, member))["comment"]

    refused = await mutate(gql, "editComment", {"commentId": comment["id"], "body": "Rewritten by an admin"}, admin)
    assert codes(refused) == ["FORBIDDEN"] and refused["comment"] is None

    clock.advance(timedelta(minutes=5))
    edited = (await ok(gql, "editComment", {"commentId": comment["id"], "body": "Final is up, @manager"}, member))["comment"]
    assert edited["body"] == "Final is up, @manager"
    assert edited["editedAt"].startswith((START + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    assert edited["mentions"] == [{"email": "manager@acme.test"}]

    other = (await ok(gql, "addComment", {"taskId": web["task"], "body": "Manager's note"}, manager))["comment"]
    first = (await node(gql, COMMENT_PAGE, web["task"], member, first=1))["comments"]
    second = (await node(gql, COMMENT_PAGE, web["task"], member, first=1, after=first["pageInfo"]["endCursor"]))["comments"]
    assert [c["body"] for c in first["nodes"] + second["nodes"]] == ["Final is up, @manager", "Manager's note"]
    assert first["pageInfo"]["hasNextPage"] and not second["pageInfo"]["hasNextPage"]
    assert codes(await mutate(gql, "deleteComment", {"commentId": other["id"]}, member)) == ["FORBIDDEN"]
    assert (await ok(gql, "deleteComment", {"commentId": comment["id"]}, manager))["deletedCommentId"] == comment["id"]
    task = await node(gql, "query($id: ID!) { node(id: $id) { ... on Task { comments(first: 5) { nodes { body } } } } }", web["task"], member)
    assert [c["body"] for c in task["comments"]["nodes"]] == ["Manager's note"]


async def test_time_counts_in_actual_cost_at_the_members_rate(gql, acme, web):
    member, manager = acme[Role.MEMBER], acme[Role.MANAGER]
    logged = (await ok(gql, "logTime", {"taskId": web["task"], "minutes": 90, "spentOn": TODAY, "note": "first draft"}, member))["timeEntry"]
    assert (logged["minutes"], logged["spentOn"], logged["user"]) == (90, TODAY, {"email": "member@acme.test"})
    assert logged["task"] == {"id": web["task"], "timeSpentMinutes": 90}
    # logged for the member by a manager, on a day left out (today)
    for_member = (await ok(gql, "logTime", {"taskId": web["task"], "minutes": 30, "userId": web["users"]["member@acme.test"]}, manager))["timeEntry"]
    assert (for_member["user"], for_member["spentOn"]) == ({"email": "member@acme.test"}, TODAY)
    cost = (await ok(gql, "addProjectCost", {"projectId": web["project"], "amount": "100.50", "description": "Stock photos"}, manager))["costEntry"]
    assert (Decimal(cost["amount"]), cost["incurredOn"], cost["createdBy"]) == (Decimal("100.50"), TODAY, {"email": "manager@acme.test"})

    project = await node(gql, PROJECT, web["project"], member)
    assert Decimal(project["actualCost"]) == Decimal("220.50")  # 2 h at 60 + 100.50
    assert project["timeEntries"]["totalCount"] == 2
    assert [(c["description"], c["createdBy"]["email"]) for c in project["costEntries"]] == [("Stock photos", "manager@acme.test")]

    await ok(gql, "updateTimeEntry", {"timeEntryId": logged["id"], "spentOn": "2026-02-27"}, member)
    first = (await node(gql, TIME_PAGE, web["task"], member, first=1))["timeEntries"]
    second = (await node(gql, TIME_PAGE, web["task"], member, first=1, after=first["pageInfo"]["endCursor"]))["timeEntries"]
    assert [(e["minutes"], e["spentOn"]) for e in first["nodes"] + second["nodes"]] == [(30, TODAY), (90, "2026-02-27")]
    assert first["pageInfo"]["hasNextPage"] and not second["pageInfo"]["hasNextPage"]

    updated = (await ok(gql, "updateTimeEntry", {"timeEntryId": for_member["id"], "minutes": 60, "note": "review"}, member))["timeEntry"]
    assert (updated["minutes"], updated["note"]) == (60, "review")
    assert Decimal((await node(gql, PROJECT, web["project"], member))["actualCost"]) == Decimal("250.50")
    assert codes(await mutate(gql, "updateTimeEntry", {"timeEntryId": for_member["id"], "minutes": 0}, member)) == ["INVALID"]
    assert codes(await mutate(gql, "updateTimeEntry", {"timeEntryId": for_member["id"], "minutes": 24 * 60 + 1}, member)) == ["INVALID"]
    assert codes(await mutate(gql, "deleteTimeEntry", {"timeEntryId": for_member["id"]}, acme[Role.OWNER])) == []
    assert Decimal((await node(gql, PROJECT, web["project"], member))["actualCost"]) == Decimal("190.50")

    history = (await node(gql, HISTORY, web["project"], member, types=["time.logged", "time.updated", "time.deleted"]))["history"]
    assert [e["type"] for e in history["nodes"]] == ["time.deleted", "time.updated", "time.updated", "time.logged", "time.logged"]
    assert history["nodes"][-1]["subjectId"] == logged["id"]
    assert history["nodes"][-1]["data"]["minutes"] == 90


async def test_time_in_the_future_or_for_someone_else_is_refused(gql, acme, web, database):
    member = acme[Role.MEMBER]
    future = await mutate(gql, "logTime", {"taskId": web["task"], "minutes": 60, "spentOn": TOMORROW}, member)
    assert codes(future) == ["INVALID"] and future["userErrors"][0]["field"] == ["spentOn"]
    assert future["timeEntry"] is None
    too_long = await mutate(gql, "logTime", {"taskId": web["task"], "minutes": 24 * 60 + 1, "spentOn": TODAY}, member)
    assert codes(too_long) == ["INVALID"]
    for_other = await mutate(gql, "logTime", {"taskId": web["task"], "minutes": 30, "userId": web["users"]["admin@acme.test"]}, member)
    assert codes(for_other) == ["FORBIDDEN"]
    await role_refused(gql, "logTime", {"taskId": web["task"], "minutes": 30}, acme[Role.VIEWER])
    await role_refused(gql, "addProjectCost", {"projectId": web["project"], "amount": "5"}, member)
    async with database.session() as session:
        assert list(await session.scalars(select(m.TimeEntry.id))) == []
    assert (await node(gql, PROJECT, web["project"], member))["timeEntries"]["totalCount"] == 0

    mine = (await ok(gql, "logTime", {"taskId": web["task"], "minutes": 15}, acme[Role.ADMIN]))["timeEntry"]
    assert codes(await mutate(gql, "deleteTimeEntry", {"timeEntryId": mine["id"]}, member)) == ["FORBIDDEN"]
    assert codes(await mutate(gql, "updateTimeEntry", {"timeEntryId": mine["id"], "spentOn": TOMORROW}, acme[Role.ADMIN])) == ["INVALID"]


async def test_history_lists_a_tasks_changes_newest_first(gql, acme, web):
    manager = acme[Role.MANAGER]
    await ok(gql, "setTaskState", {"taskId": web["task"], "state": "in_progress"}, manager)
    await ok(gql, "updateTask", {"taskId": web["task"], "title": "Write the final copy"}, manager)
    await ok(gql, "addComment", {"taskId": web["task"], "body": "Not in the task's own history"}, manager)

    history = (await node(gql, HISTORY, web["task"], manager))["history"]
    assert [e["type"] for e in history["nodes"]] == ["task.updated", "task.state_changed", "task.created"]
    assert history["totalCount"] == 3
    updated, moved, created = history["nodes"]
    assert moved["changes"] == [
        {"field": "state", "before": "todo", "after": "in_progress"},
        {"field": "stateCategory", "before": "todo", "after": "in_progress"},
    ]
    assert moved["data"] == {"forced": False}
    assert updated["changes"] == [{"field": "title", "before": "Write the copy", "after": "Write the final copy"}]
    assert created["changes"] == [] and created["data"]["title"] == "Write the copy"
    for entry in history["nodes"]:
        assert (entry["subjectType"], entry["subjectId"], entry["actor"]) == ("task", web["task"], {"email": "manager@acme.test"})
        assert entry["cursor"] == str(pk(entry["id"]))
    assert [pk(e["id"]) for e in history["nodes"]] == sorted((pk(e["id"]) for e in history["nodes"]), reverse=True)

    first = (await node(gql, HISTORY, web["task"], manager, first=2))["history"]
    assert [e["type"] for e in first["nodes"]] == ["task.updated", "task.state_changed"] and first["pageInfo"]["hasNextPage"]
    rest = (await node(gql, HISTORY, web["task"], manager, first=2, after=first["pageInfo"]["endCursor"]))["history"]
    assert [e["type"] for e in rest["nodes"]] == ["task.created"] and not rest["pageInfo"]["hasNextPage"]
    only = (await node(gql, HISTORY, web["task"], manager, types=["task.state_changed"]))["history"]
    assert [e["type"] for e in only["nodes"]] == ["task.state_changed"]

    project = (await node(gql, HISTORY, web["project"], manager, first=50))["history"]
    types = [e["type"] for e in project["nodes"]]
    assert types[0] == "comment.added" and types[-1] == "project.created"
    assert [t for t in types if t.startswith("task.")] == ["task.updated", "task.state_changed", "task.created"]
    assert (await gql.data(NODE, {"id": moved["id"]}, token=manager))["node"] == {"__typename": "Event", "id": moved["id"]}


WATCHED = (m.Milestone, m.Comment, m.CommentMention, m.TimeEntry, m.CostEntry, m.Event, m.Project, m.Task)


async def test_another_organisations_rows_are_not_found(gql, acme, globex, database):
    theirs = await make_project(gql, globex, "OPS", "globex.test")
    g_manager = globex[Role.MANAGER]
    milestone = (await ok(gql, "createMilestone", {"projectId": theirs["project"], "name": "Launch"}, g_manager))["milestone"]["id"]
    comment = (await ok(gql, "addComment", {"taskId": theirs["task"], "body": "Secret plan"}, g_manager))["comment"]["id"]
    entry = (await ok(gql, "logTime", {"taskId": theirs["task"], "minutes": 45}, g_manager))["timeEntry"]["id"]
    cost = (await ok(gql, "addProjectCost", {"projectId": theirs["project"], "amount": "10"}, g_manager))["costEntry"]["id"]
    their_event = (await node(gql, HISTORY, theirs["project"], g_manager, first=1))["history"]["nodes"][0]["id"]
    ours = await make_project(gql, acme, "WEB", "acme.test")
    before = await rows_of(database, *WATCHED)

    owner = acme[Role.OWNER]
    attempts = [
        ("createMilestone", {"projectId": theirs["project"], "name": "Hijack"}, "projectId"),
        ("updateMilestone", {"milestoneId": milestone, "name": "Hijack"}, "milestoneId"),
        ("signOffMilestone", {"milestoneId": milestone}, "milestoneId"),
        ("revokeMilestoneSignOff", {"milestoneId": milestone}, "milestoneId"),
        ("deleteMilestone", {"milestoneId": milestone}, "milestoneId"),
        ("addComment", {"taskId": theirs["task"], "body": "Hello"}, "taskId"),
        ("addComment", {"projectId": theirs["project"], "body": "Hello"}, "projectId"),
        ("editComment", {"commentId": comment, "body": "Hijack"}, "commentId"),
        ("deleteComment", {"commentId": comment}, "commentId"),
        ("logTime", {"taskId": theirs["task"], "minutes": 10}, "taskId"),
        ("updateTimeEntry", {"timeEntryId": entry, "minutes": 10}, "timeEntryId"),
        ("deleteTimeEntry", {"timeEntryId": entry}, "timeEntryId"),
        ("addProjectCost", {"projectId": theirs["project"], "amount": "1"}, "projectId"),
    ]
    for name, input, field in attempts:
        payload = await mutate(gql, name, input, owner)
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", [field])], (name, payload)
    # their users are not ours to log time for
    stranger = await mutate(gql, "logTime", {"taskId": ours["task"], "minutes": 10, "userId": theirs["users"]["member@globex.test"]}, owner)
    assert codes(stranger) == ["NOT_A_MEMBER"]
    assert await rows_of(database, *WATCHED) == before

    for global_id in (milestone, comment, entry, cost, their_event):
        assert (await gql.data(NODE, {"id": global_id}, token=owner))["node"] is None, global_id
        assert (await gql.data(NODE, {"id": global_id}, token=globex[Role.VIEWER]))["node"]["id"] == global_id
    ours_now = await node(gql, PROJECT, ours["project"], owner)
    assert ours_now["comments"]["totalCount"] == 0 and ours_now["timeEntries"]["totalCount"] == 0 and ours_now["costEntries"] == []


NESTED = """
{ projects(first: 20) { nodes {
  actualCost
  costEntries { amount createdBy { email } project { key } }
  comments(first: 5) { totalCount nodes { body author { email } mentions { email } } }
  timeEntries(first: 5) { totalCount nodes { minutes user { email } task { key timeSpentMinutes } project { key } } }
  history(first: 5) { totalCount nodes { type actor { email } changes { field before after } } }
  tasks(first: 10) { nodes {
    timeSpentMinutes
    comments(first: 5) { totalCount nodes { mentions { email } task { key } } }
    timeEntries(first: 5) { nodes { minutes user { email } } }
    history(first: 5) { totalCount nodes { type subjectId } }
  } }
} } }
"""


async def test_nested_lists_are_batched(gql, acme, app):
    manager, member = acme[Role.MANAGER], acme[Role.MEMBER]

    async def busy_project(key: str) -> None:
        made = await make_project(gql, acme, key, "acme.test")
        await ok(gql, "addComment", {"projectId": made["project"], "body": "Go @member"}, manager)
        await ok(gql, "addComment", {"taskId": made["task"], "body": "Mine, @manager"}, member)
        await ok(gql, "logTime", {"taskId": made["task"], "minutes": 30}, member)
        await ok(gql, "addProjectCost", {"projectId": made["project"], "amount": "5"}, manager)

    await busy_project("ONE")
    with statements(app) as few:
        small = await gql.data(NESTED, token=manager)
    await busy_project("TWO")
    await busy_project("THREE")
    with statements(app) as many:
        large = await gql.data(NESTED, token=manager)
    assert len(small["projects"]["nodes"]) == 1 and len(large["projects"]["nodes"]) == 3
    assert all(p["tasks"]["nodes"][0]["timeSpentMinutes"] == 30 for p in large["projects"]["nodes"])
    assert all(p["comments"]["nodes"][0]["mentions"] == [{"email": "member@acme.test"}] for p in large["projects"]["nodes"])
    assert len(many) == len(few), "\n".join(many)
