"""The ``events`` query: the audit trail in order, resumed from a cursor, per organisation."""

from __future__ import annotations

from mcgraph.db.models import Role
from tests.project_helpers import create_project, create_task, succeed

EVENTS = """query($after: String, $types: [String!], $subjectId: ID, $first: Int) {
  events(after: $after, types: $types, subjectId: $subjectId, first: $first) {
    totalCount pageInfo { hasNextPage endCursor } nodes { type cursor subjectType subjectId actor { email } } } }"""


async def _work(gql, acme) -> dict:
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB")
    task = await create_task(gql, token, project["id"], "Build")
    await succeed(gql, "setTaskState", {"taskId": task["id"], "state": "in_progress"}, token)
    return {"project": project, "task": task}


async def test_events_are_read_in_order_from_a_cursor(gql, acme):
    made = await _work(gql, acme)
    token = acme[Role.VIEWER]
    everything = (await gql.data(EVENTS, {"first": 50}, token=token))["events"]
    types = [e["type"] for e in everything["nodes"]]
    assert types == ["project.created", "task.created", "task.state_changed"]
    assert everything["totalCount"] == 3 and everything["pageInfo"]["hasNextPage"] is False
    assert [int(e["cursor"]) for e in everything["nodes"]] == sorted(int(e["cursor"]) for e in everything["nodes"])
    assert everything["nodes"][2]["subjectId"] == made["task"]["id"]
    assert everything["nodes"][0]["actor"] == {"email": "manager@acme.test"}

    first = (await gql.data(EVENTS, {"first": 1}, token=token))["events"]
    assert [e["type"] for e in first["nodes"]] == ["project.created"] and first["pageInfo"]["hasNextPage"] is True
    rest = (await gql.data(EVENTS, {"after": first["pageInfo"]["endCursor"], "first": 10}, token=token))["events"]
    assert [e["type"] for e in rest["nodes"]] == types[1:]


async def test_events_by_type_and_by_subject(gql, acme):
    made = await _work(gql, acme)
    token = acme[Role.VIEWER]
    by_type = (await gql.data(EVENTS, {"types": ["task.state_changed"]}, token=token))["events"]["nodes"]
    assert [e["type"] for e in by_type] == ["task.state_changed"]
    by_subject = (await gql.data(EVENTS, {"subjectId": made["task"]["id"]}, token=token))["events"]["nodes"]
    assert [e["type"] for e in by_subject] == ["task.created", "task.state_changed"]
    family = (await gql.data(EVENTS, {"types": ["task.*", "project.created"]}, token=token))["events"]["nodes"]
    assert [e["type"] for e in family] == ["project.created", "task.created", "task.state_changed"]
    # a family is a prefix, not a pattern: `_` and `%` are plain characters
    assert (await gql.data(EVENTS, {"types": ["task_%.*"]}, token=token))["events"]["nodes"] == []


async def test_events_stay_in_their_organisation_and_bad_cursors_are_refused(gql, acme, globex):
    made = await _work(gql, acme)
    theirs = (await gql.data(EVENTS, {}, token=globex[Role.OWNER]))["events"]
    assert theirs["nodes"] == [] and theirs["totalCount"] == 0
    by_subject = (await gql.data(EVENTS, {"subjectId": made["task"]["id"]}, token=globex[Role.OWNER]))["events"]["nodes"]
    assert by_subject == []
    for cursor in ("not-a-cursor", "²", str(2**64)):  # other digits, and past any cursor the log can hold
        body = await gql(EVENTS, {"after": cursor}, token=acme[Role.VIEWER])
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", cursor


async def test_the_latest_cursor_is_where_a_live_view_resumes_from(gql, acme, globex):
    latest = "{ latestEventCursor }"
    assert (await gql.data(latest, token=acme[Role.VIEWER]))["latestEventCursor"] is None
    await _work(gql, acme)
    cursor = (await gql.data(latest, token=acme[Role.VIEWER]))["latestEventCursor"]
    everything = (await gql.data(EVENTS, {"first": 50}, token=acme[Role.VIEWER]))["events"]
    assert cursor == everything["pageInfo"]["endCursor"]
    assert (await gql.data(EVENTS, {"after": cursor}, token=acme[Role.VIEWER]))["events"]["nodes"] == []
    assert (await gql.data(latest, token=globex[Role.OWNER]))["latestEventCursor"] is None
