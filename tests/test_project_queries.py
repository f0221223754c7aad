"""Filters, orders and pagination of `projects`, `tasks` and `myTasks`.

The portfolio of acme on 2026-03-02 (M manager, A admin, U member, V viewer):

    key    name              status    dates            manager  members  labels        progress  health
    ALPHA  Alpha website     ACTIVE    03-02..04-30     M        M U      client, web   0.5       ON_TRACK
    BETA   Beta app          ACTIVE    -                A        A U V    mobile        0         AT_RISK (1 overdue)
    GAMMA  Gamma migration   ON_HOLD   02-01..02-28     M        M        internal      0.25      OFF_TRACK (past its end)
    DELTA  Delta research    PROPOSED  04-01..06-30     -        -        -             0         ON_TRACK
    OLD    Old intranet      COMPLETED 2025, archived   M        M        web           1         ON_TRACK

    task     title             state        assignee  due    labels    estimate
    ALPHA-1  Design homepage   done         U         03-01  design    8 h
    ALPHA-2  Build homepage    todo         U         03-20  frontend  8 h   (milestone Beta)
    ALPHA-3  Write copy        in_progress  V         03-10  -         -     (milestone Beta)
    BETA-1   Fix login         todo         U         02-27  bug       -
    BETA-2   Release build     todo         -         -      release   -
    GAMMA-1  Export data       done         M         -      -         8 h
    GAMMA-2  Migrate data      todo         M         02-27  bug       24 h
    OLD-1    Retire servers    done         M         -      -         -
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mcgraph.api.ids import encode_id
from mcgraph.db import models as m
from mcgraph.db.models import Role
from tests.project_helpers import create_project, create_task, pk, project_by_key, succeed, viewer_id

PROJECTS = """query($where: ProjectFilter, $orderBy: ProjectOrder, $first: Int, $after: String, $last: Int, $before: String) {
  projects(where: $where, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { key } } }"""
TASKS = """query($where: TaskFilter, $orderBy: TaskOrder, $first: Int, $after: String, $last: Int, $before: String) {
  tasks(where: $where, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { key } } }"""
MY_TASKS = TASKS.replace("tasks(", "myTasks(")

PROJECT_ROWS = [
    ("ALPHA", "Alpha website", "ACTIVE", "2026-03-02", "2026-04-30", "M", ["U"], ["web", "client"]),
    ("BETA", "Beta app", "ACTIVE", None, None, "A", ["U", "V"], ["mobile"]),
    ("GAMMA", "Gamma migration", "ON_HOLD", "2026-02-01", "2026-02-28", "M", [], ["internal"]),
    ("DELTA", "Delta research", "PROPOSED", "2026-04-01", "2026-06-30", None, [], []),
    ("OLD", "Old intranet", "COMPLETED", "2025-01-01", "2025-06-30", "M", [], ["web"]),
]
TASK_ROWS = [
    ("ALPHA", "Design homepage", "done", "U", "2026-03-01", ["design"], 8),
    ("ALPHA", "Build homepage", "todo", "U", "2026-03-20", ["frontend"], 8),
    ("ALPHA", "Write copy", "in_progress", "V", "2026-03-10", [], None),
    ("BETA", "Fix login", "todo", "U", "2026-02-27", ["bug"], None),
    ("BETA", "Release build", "todo", None, None, ["release"], None),
    ("GAMMA", "Export data", "done", "M", None, [], 8),
    ("GAMMA", "Migrate data", "todo", "M", "2026-02-27", ["bug"], 24),
    ("OLD", "Retire servers", "done", "M", None, [], None),
]
ROLES = {"M": Role.MANAGER, "A": Role.ADMIN, "U": Role.MEMBER, "V": Role.VIEWER}


@pytest.fixture
async def portfolio(gql, acme, database) -> dict[str, str]:
    """The portfolio of the module docstring; ids by project key, task key and user letter."""
    token = acme[Role.MANAGER]
    ids = {letter: await viewer_id(gql, acme[role]) for letter, role in ROLES.items()}
    for key, name, status, start, end, manager, members, labels in PROJECT_ROWS:
        project = await create_project(
            gql, token, key, name=name, status=status, startDate=start, targetEndDate=end, labels=labels,
            managerId=ids[manager] if manager else None, members=[{"userId": ids[u]} for u in members],
        )
        ids[key] = project["id"]
    for project, title, state, assignee, due, labels, hours in TASK_ROWS:
        task = await create_task(
            gql, token, ids[project], title, state=state, assigneeId=ids[assignee] if assignee else None, dueDate=due,
            labels=labels, estimateHours=hours,
        )
        ids[task["key"]] = task["id"]
    await succeed(gql, "archiveProject", {"projectId": ids["OLD"]}, token)
    async with database.transaction() as session:
        alpha = await session.get(m.Project, pk(ids["ALPHA"]))
        milestone = m.Milestone(organization_id=alpha.organization_id, project_id=alpha.id, name="Beta", due_date=date(2026, 3, 20))
        session.add(milestone)
        await session.flush()
        ids["milestone"] = encode_id("Milestone", milestone.id)
    for key in ("ALPHA-2", "ALPHA-3"):
        await succeed(gql, "updateTask", {"taskId": ids[key], "milestoneId": ids["milestone"]}, token)
    return ids


def resolved(where: dict[str, Any] | None, ids: dict[str, str]) -> dict[str, Any] | None:
    """``where`` with every "$X" replaced by the id of X."""
    if where is None:
        return None

    def one(value: Any) -> Any:
        return ids[value[1:]] if isinstance(value, str) and value.startswith("$") else value

    return {k: [one(v) for v in value] if isinstance(value, list) else one(value) for k, value in where.items()}


async def keys_of(gql: Any, token: str, document: str, field: str, **variables: Any) -> list[str]:
    page = (await gql.data(document, {"first": 100, **variables}, token=token))[field]
    keys = [n["key"] for n in page["nodes"]]
    assert page["totalCount"] == len(keys)
    return keys


PROJECT_FILTERS = {
    "statuses": [
        ({"statuses": ["ACTIVE"]}, ["ALPHA", "BETA"]),
        ({"statuses": ["ON_HOLD", "PROPOSED"]}, ["DELTA", "GAMMA"]),
        ({"statuses": ["COMPLETED"]}, []),
        ({"statuses": ["COMPLETED"], "includeArchived": True}, ["OLD"]),
    ],
    "healths": [
        ({"healths": ["OFF_TRACK", "AT_RISK"]}, ["BETA", "GAMMA"]),
        ({"healths": ["ON_TRACK"]}, ["ALPHA", "DELTA"]),
        ({"healths": ["OFF_TRACK"]}, ["GAMMA"]),
    ],
    "managerIds": [
        ({"managerIds": ["$M"]}, ["ALPHA", "GAMMA"]),
        ({"managerIds": ["$A", "$U"]}, ["BETA"]),
        ({"managerIds": ["$M"], "includeArchived": True}, ["ALPHA", "GAMMA", "OLD"]),
    ],
    "memberIds": [
        ({"memberIds": ["$U"]}, ["ALPHA", "BETA"]),
        ({"memberIds": ["$V"]}, ["BETA"]),
        ({"memberIds": ["$M"]}, ["ALPHA", "GAMMA"]),
        ({"memberIds": ["$V"], "statuses": ["ON_HOLD"]}, []),
    ],
    "labels": [
        ({"labels": ["web", "mobile"]}, ["ALPHA", "BETA"]),
        ({"labels": ["client"]}, ["ALPHA"]),
        ({"labels": ["web"], "includeArchived": True}, ["ALPHA", "OLD"]),
        ({"labels": ["nothing"]}, []),
    ],
    "methodologies": [
        ({"methodologies": ["simple"]}, ["ALPHA", "BETA", "DELTA", "GAMMA"]),
        ({"methodologies": ["nope"]}, []),
    ],
    "search": [
        ({"search": "alpha"}, ["ALPHA"]),
        ({"search": "MIGRATION"}, ["GAMMA"]),
        ({"search": " Ta "}, ["BETA", "DELTA"]),
        ({"search": "intranet"}, []),
        ({"search": "intranet", "includeArchived": True}, ["OLD"]),
        ({"search": "%"}, []),  # taken literally, not as a LIKE wildcard
        ({"search": "B_TA"}, []),
    ],
    "dates": [
        ({"startsOnOrAfter": "2026-03-02"}, ["ALPHA", "DELTA"]),
        ({"endsOnOrBefore": "2026-04-30"}, ["ALPHA", "GAMMA"]),
        ({"endsOnOrAfter": "2026-04-30"}, ["ALPHA", "DELTA"]),
        ({"endsOnOrAfter": "2026-03-01", "endsOnOrBefore": "2026-05-01"}, ["ALPHA"]),
        ({"endsOnOrBefore": "2025-12-31", "includeArchived": True}, ["OLD"]),
    ],
    "includeArchived": [
        (None, ["ALPHA", "BETA", "DELTA", "GAMMA"]),
        ({"includeArchived": True}, ["ALPHA", "BETA", "DELTA", "GAMMA", "OLD"]),
    ],
}


@pytest.mark.parametrize("cases", list(PROJECT_FILTERS.values()), ids=list(PROJECT_FILTERS))
async def test_project_filters(gql, acme, portfolio, cases):
    for where, expected in cases:
        found = await keys_of(gql, acme[Role.VIEWER], PROJECTS, "projects", where=resolved(where, portfolio))
        assert sorted(found) == expected, where


PROJECT_ORDERS = {
    "DUE_DATE": ["GAMMA", "ALPHA", "DELTA", "BETA"],  # no date last, in both directions
    "HEALTH": ["GAMMA", "BETA", "ALPHA", "DELTA"],
    "PROGRESS": ["BETA", "DELTA", "GAMMA", "ALPHA"],
    "NAME": ["ALPHA", "BETA", "DELTA", "GAMMA"],
}


async def walk(gql: Any, token: str, document: str, field: str, size: int, *, backwards: bool = False, **variables: Any) -> list[str]:
    """Every key of a list, fetched ``size`` at a time by cursor, in the list's order."""
    keys: list[str] = []
    cursor = None
    while True:
        window = {"last": size, "before": cursor} if backwards else {"first": size, "after": cursor}
        page = (await gql.data(document, {**variables, **window}, token=token))[field]
        found = [n["key"] for n in page["nodes"]]
        keys = found + keys if backwards else keys + found
        more = page["pageInfo"]["hasPreviousPage" if backwards else "hasNextPage"]
        if not more:
            return keys
        assert found, page
        cursor = page["pageInfo"]["startCursor" if backwards else "endCursor"]


def descending(field: str, ascending: list[str]) -> list[str]:
    """The order of ``field`` DESC: ASC reversed, except that projects without a date stay last."""
    return [*reversed(ascending[:-1]), ascending[-1]] if field == "DUE_DATE" else ascending[::-1]


@pytest.mark.parametrize(("field", "ascending"), PROJECT_ORDERS.items(), ids=list(PROJECT_ORDERS))
async def test_project_orders_and_their_pages(gql, acme, portfolio, field, ascending):
    token = acme[Role.MEMBER]
    for direction, expected in (("ASC", ascending), ("DESC", descending(field, ascending))):
        order = {"orderBy": {"field": field, "direction": direction}}
        assert await keys_of(gql, token, PROJECTS, "projects", **order) == expected, direction
        for size in (1, 3):
            assert await walk(gql, token, PROJECTS, "projects", size, **order) == expected, (direction, size)
            assert await walk(gql, token, PROJECTS, "projects", size, backwards=True, **order) == expected, (direction, size)


TASK_FILTERS = {
    "projectIds": [
        ({"projectIds": ["$ALPHA"]}, ["ALPHA-1", "ALPHA-2", "ALPHA-3"]),
        ({"projectIds": ["$BETA", "$GAMMA"]}, ["BETA-1", "BETA-2", "GAMMA-1", "GAMMA-2"]),
    ],
    "assigneeIds": [
        ({"assigneeIds": ["$U"]}, ["ALPHA-1", "ALPHA-2", "BETA-1"]),
        ({"assigneeIds": ["$U", "$V"]}, ["ALPHA-1", "ALPHA-2", "ALPHA-3", "BETA-1"]),
        ({"unassigned": True}, ["BETA-2"]),
        ({"assigneeIds": ["$A"]}, []),
    ],
    "categories": [
        ({"categories": ["DONE"]}, ["ALPHA-1", "GAMMA-1", "OLD-1"]),
        ({"categories": ["IN_PROGRESS", "BLOCKED"]}, ["ALPHA-3"]),
        ({"projectIds": ["$ALPHA"], "categories": ["TODO", "IN_PROGRESS"]}, ["ALPHA-2", "ALPHA-3"]),
        ({"states": ["in_progress"]}, ["ALPHA-3"]),
    ],
    "overdue": [
        ({"overdue": True}, ["BETA-1", "GAMMA-2"]),
        ({"overdue": False}, ["ALPHA-1", "ALPHA-2", "ALPHA-3", "BETA-2", "GAMMA-1", "OLD-1"]),
    ],
    "due dates": [
        ({"dueAfter": "2026-03-01", "dueBefore": "2026-03-10"}, ["ALPHA-1", "ALPHA-3"]),
        ({"dueAfter": "2026-03-11"}, ["ALPHA-2"]),
        ({"dueBefore": "2026-02-27"}, ["BETA-1", "GAMMA-2"]),
    ],
    "labels": [
        ({"labels": ["bug"]}, ["BETA-1", "GAMMA-2"]),
        ({"labels": ["design", "release"]}, ["ALPHA-1", "BETA-2"]),
        ({"labels": ["nothing"]}, []),
    ],
    "milestoneIds": [
        ({"milestoneIds": ["$milestone"]}, ["ALPHA-2", "ALPHA-3"]),
        ({"milestoneIds": ["$milestone"], "categories": ["TODO"]}, ["ALPHA-2"]),
    ],
    "search": [
        ({"search": "DATA"}, ["GAMMA-1", "GAMMA-2"]),
        ({"search": "home"}, ["ALPHA-1", "ALPHA-2"]),
        ({"search": "nothing"}, []),
        ({"search": "_"}, []),
    ],
}


@pytest.mark.parametrize("cases", list(TASK_FILTERS.values()), ids=list(TASK_FILTERS))
async def test_task_filters(gql, acme, portfolio, cases):
    for where, expected in cases:
        found = await keys_of(gql, acme[Role.VIEWER], TASKS, "tasks", where=resolved(where, portfolio))
        assert sorted(found) == expected, where


async def test_a_project_lists_its_own_tasks_with_the_same_filters(gql, acme, portfolio):
    query = """query($id: ID!, $where: TaskFilter) { node(id: $id) { ... on Project {
      tasks(first: 10, where: $where) { totalCount nodes { key } } } } }"""
    cases = [(None, ["ALPHA-1", "ALPHA-2", "ALPHA-3"]), ({"labels": ["bug"]}, []), ({"assigneeIds": [portfolio["U"]]}, ["ALPHA-1", "ALPHA-2"])]
    for where, expected in cases:
        tasks = (await gql.data(query, {"id": portfolio["ALPHA"], "where": where}, token=acme[Role.MEMBER]))["node"]["tasks"]
        assert [n["key"] for n in tasks["nodes"]] == expected and tasks["totalCount"] == len(expected), where


async def test_my_tasks_are_the_viewers_open_tasks_by_due_date(gql, acme, portfolio):
    for role, expected in [(Role.MEMBER, ["BETA-1", "ALPHA-2"]), (Role.VIEWER, ["ALPHA-3"]), (Role.MANAGER, ["GAMMA-2"]), (Role.ADMIN, [])]:
        assert await keys_of(gql, acme[role], MY_TASKS, "myTasks") == expected, role


@pytest.fixture
async def busy_member(gql, acme) -> list[str]:
    """Nine open tasks of acme's member (due dates with ties and gaps), and tasks that are
    not theirs to list: done ones, and ones of other people."""
    token = acme[Role.MANAGER]
    member = await viewer_id(gql, acme[Role.MEMBER])
    other = await viewer_id(gql, acme[Role.ADMIN])
    project = await create_project(gql, token, "WEB")
    dues = ["2026-03-05", "2026-03-05", None, "2026-03-01", "2026-03-05", None, "2026-03-10", "2026-03-03", "2026-03-05"]
    priorities = ["LOW", "HIGH", "URGENT", "MEDIUM", "HIGH", "LOW", "URGENT", "MEDIUM", "HIGH"]
    keys = []
    for n, (due, priority) in enumerate(zip(dues, priorities, strict=True)):
        task = await create_task(gql, token, project["id"], f"Task {n % 4}", assigneeId=member, dueDate=due, priority=priority)
        keys.append(task["key"])
    await create_task(gql, token, project["id"], "Finished", assigneeId=member, dueDate="2026-03-04", state="done")
    await create_task(gql, token, project["id"], "Not mine", assigneeId=other, dueDate="2026-03-04")
    await create_task(gql, token, project["id"], "Nobody's", dueDate="2026-03-04")
    return keys


ORDERS = [
    None,
    {"field": "DUE_DATE", "direction": "DESC"},
    {"field": "PRIORITY", "direction": "ASC"},
    {"field": "PRIORITY", "direction": "DESC"},
    {"field": "TITLE", "direction": "ASC"},
    {"field": "RANK", "direction": "DESC"},
]


@pytest.mark.parametrize("order", ORDERS, ids=["default", "due-desc", "priority", "priority-desc", "title", "rank-desc"])
async def test_paging_through_my_tasks_gives_each_once(gql, acme, busy_member, order):
    token = acme[Role.MEMBER]
    variables = {"orderBy": order} if order else {}
    everything = await keys_of(gql, token, MY_TASKS, "myTasks", **variables)
    assert sorted(everything) == sorted(busy_member)

    for size in (1, 2, 4):
        assert await walk(gql, token, MY_TASKS, "myTasks", size, **variables) == everything, size
        assert await walk(gql, token, MY_TASKS, "myTasks", size, backwards=True, **variables) == everything, size


async def test_my_tasks_by_due_date_put_undated_ones_last(gql, acme, busy_member):
    query = "{ myTasks(first: 20) { nodes { dueDate } } }"
    dues = [n["dueDate"] for n in (await gql.data(query, token=acme[Role.MEMBER]))["myTasks"]["nodes"]]
    assert dues == sorted(d for d in dues if d) + [None, None]


async def test_health_filters_and_order_follow_the_override_shown(gql, acme):
    token = acme[Role.MANAGER]
    for key in ("AAA", "BBB"):
        await create_project(gql, token, key)
    await succeed(gql, "overrideProjectHealth", {"projectId": (await project_by_key(gql, token, "BBB", "id"))["id"], "health": "OFF_TRACK", "note": "supplier failed"}, token)
    listed = await gql.data('{ projects(first: 10, where: {healths: [OFF_TRACK]}) { nodes { key health { health computed } } } }', token=token)
    assert listed["projects"]["nodes"] == [{"key": "BBB", "health": {"health": "OFF_TRACK", "computed": "ON_TRACK"}}]
    ordered = await gql.data('{ projects(first: 10, orderBy: {field: HEALTH}) { nodes { key } } }', token=token)
    assert [p["key"] for p in ordered["projects"]["nodes"]] == ["BBB", "AAA"]
