"""Planning a project through GraphQL: dependencies, the critical path, cycles,
finishing before predecessors, subtasks and ordering.

The plan of project WEB, starting 2026-03-02 (estimates in hours, 1 day = 8 hours):

    task             estimate    links
    WEB-1 Design     16 h = 2 d
    WEB-2 Build      24 h = 3 d  FS after Design
    WEB-3 Copy        8 h = 1 d  SS after Design, lag 1 day
    WEB-4 Test       32 h = 4 d  FS after Build
    WEB-5 Launch     16 h = 2 d  FF with Test; FS after Copy
    WEB-6 Announce    8 h = 1 d  FS after Launch
    WEB-7 Translate   8 h = 1 d  FS after Copy (a parallel branch)

Forward pass, earliest start and finish (days from the start):
    Design     0, 2
    Build      EF(Design) = 2                                  -> 2, 5
    Copy       ES(Design) + 1 = 1                              -> 1, 2
    Test       EF(Build) = 5                                   -> 5, 9
    Launch     FF: EF >= EF(Test) = 9, so ES >= 7; FS: ES >= 2  -> 7, 9
    Announce   EF(Launch) = 9                                  -> 9, 10
    Translate  EF(Copy) = 2                                    -> 2, 3
    The project takes 10 days: it finishes on 2026-03-12.

Backward pass from day 10, latest start and finish:
    Announce   LF = 10                                         -> 9, 10
    Translate  LF = 10                                         -> 9, 10
    Launch     LF <= LS(Announce) = 9                          -> 7, 9
    Test       FF: LF <= LF(Launch) = 9                        -> 5, 9
    Copy       LF <= LS(Launch) = 7 and LF <= LS(Translate) = 9 -> 6, 7
    Build      LF <= LS(Test) = 5                              -> 2, 5
    Design     LF <= LS(Build) = 2; SS: LS <= LS(Copy) - 1 = 5 -> 0, 2

Slack (LS - ES): Copy 5, Translate 7, every other task 0.
Critical path: Design -> Build -> Test -> Launch -> Announce.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from mcgraph.db.models import Role
from tests.project_helpers import codes, create_project, create_task, mutate, rows_of, succeed

START = date(2026, 3, 2)

TASKS = [("Design", 16), ("Build", 24), ("Copy", 8), ("Test", 32), ("Launch", 16), ("Announce", 8), ("Translate", 8)]
LINKS = [
    ("Design", "Build", "FS", 0),
    ("Design", "Copy", "SS", 1),
    ("Build", "Test", "FS", 0),
    ("Test", "Launch", "FF", 0),
    ("Copy", "Launch", "FS", 0),
    ("Launch", "Announce", "FS", 0),
    ("Copy", "Translate", "FS", 0),
]
# title: (earliest start, earliest finish, latest start, latest finish, slack), in days
EXPECTED = {
    "Design": (0, 2, 0, 2, 0),
    "Build": (2, 5, 2, 5, 0),
    "Copy": (1, 2, 6, 7, 5),
    "Test": (5, 9, 5, 9, 0),
    "Launch": (7, 9, 7, 9, 0),
    "Announce": (9, 10, 9, 10, 0),
    "Translate": (2, 3, 9, 10, 7),
}

SCHEDULE = """
query($key: String!) { project(key: $key) { schedule {
  start finish durationDays
  criticalPath { key title }
  tasks { task { title } earliestStart earliestFinish latestStart latestFinish
          earliestStartDay earliestFinishDay latestStartDay latestFinishDay slackDays critical }
} } }
"""
PROJECT_TASKS = "query($key: String!) { project(key: $key) { tasks(first: 50) { nodes { id title rank } } } }"


async def plan_web(gql: Any, token: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Project WEB with the plan of the module docstring; returns it and task ids by title."""
    project = await create_project(gql, token, "WEB", startDate="2026-03-02", targetEndDate="2026-03-31")
    ids = {}
    for title, hours in TASKS:
        ids[title] = (await create_task(gql, token, project["id"], title, estimateHours=hours))["id"]
    for predecessor, successor, kind, lag in LINKS:
        payload = await succeed(
            gql, "addDependency", {"predecessorId": ids[predecessor], "successorId": ids[successor], "type": kind, "lagDays": lag}, token
        )
        assert payload["dependency"]["type"] == kind and payload["dependency"]["lagDays"] == lag
    return project, ids


async def test_critical_path_matches_the_hand_computed_plan(gql, acme):
    await plan_web(gql, acme[Role.MANAGER])

    schedule = (await gql.data(SCHEDULE, {"key": "WEB"}, token=acme[Role.MEMBER]))["project"]["schedule"]

    assert schedule["start"] == "2026-03-02"
    assert schedule["durationDays"] == 10
    assert schedule["finish"] == "2026-03-12"
    assert [t["title"] for t in schedule["criticalPath"]] == ["Design", "Build", "Test", "Launch", "Announce"]
    assert [t["key"] for t in schedule["criticalPath"]] == ["WEB-1", "WEB-2", "WEB-4", "WEB-5", "WEB-6"]
    got = {
        row["task"]["title"]: (
            row["earliestStartDay"], row["earliestFinishDay"], row["latestStartDay"], row["latestFinishDay"], row["slackDays"]
        )
        for row in schedule["tasks"]
    }
    assert got == EXPECTED
    for row in schedule["tasks"]:
        es, ef, ls, lf, slack = EXPECTED[row["task"]["title"]]
        assert row["critical"] is (slack == 0), row
        dates = [row["earliestStart"], row["earliestFinish"], row["latestStart"], row["latestFinish"]]
        assert dates == [str(START + timedelta(days=d)) for d in (es, ef, ls, lf)], row


@pytest.mark.parametrize(
    ("predecessor", "successor", "message"),
    [
        ("Copy", "Design", "This dependency would close a cycle: WEB-3 -> WEB-1 -> WEB-3."),
        ("Launch", "Design", "This dependency would close a cycle: WEB-5 -> WEB-1 -> WEB-3 -> WEB-5."),
        ("Announce", "Build", "This dependency would close a cycle: WEB-6 -> WEB-2 -> WEB-4 -> WEB-5 -> WEB-6."),
        ("Design", "Design", "A task cannot depend on itself."),
    ],
)
async def test_a_cycle_is_refused_naming_it_and_nothing_is_written(gql, acme, database, predecessor, successor, message):
    token = acme[Role.MANAGER]
    _, ids = await plan_web(gql, token)
    before = await rows_of(database)

    payload = await mutate(gql, "addDependency", {"predecessorId": ids[predecessor], "successorId": ids[successor], "type": "SS"}, token)

    assert payload["dependency"] is None
    assert payload["userErrors"] == [{"field": ["successorId"], "message": message, "code": "CYCLE"}]
    assert await rows_of(database) == before


SET_STATE = "setTaskState"


async def test_done_waits_for_finish_to_start_predecessors(gql, acme):
    member = acme[Role.MEMBER]
    _, ids = await plan_web(gql, acme[Role.MANAGER])

    blocked = await mutate(gql, SET_STATE, {"taskId": ids["Build"], "state": "done"}, member)
    assert blocked["task"] is None
    assert blocked["userErrors"] == [
        {"field": ["state"], "message": "Finish its predecessors first: WEB-1 'Design'.", "code": "BLOCKED_BY_DEPENDENCY"}
    ]
    # Launch waits for Copy (FS); Test is only FF, so it is not named.
    launch = await mutate(gql, SET_STATE, {"taskId": ids["Launch"], "state": "done"}, member)
    assert launch["userErrors"] == [
        {"field": ["state"], "message": "Finish its predecessors first: WEB-3 'Copy'.", "code": "BLOCKED_BY_DEPENDENCY"}
    ]
    # Work may start before the predecessors finish; only DONE waits.
    started = await succeed(gql, SET_STATE, {"taskId": ids["Build"], "state": "in_progress"}, member)
    assert started["task"]["state"] == {"key": "in_progress", "category": "IN_PROGRESS"}

    await succeed(gql, SET_STATE, {"taskId": ids["Design"], "state": "done"}, member)
    done = await succeed(gql, SET_STATE, {"taskId": ids["Build"], "state": "done"}, member)
    assert done["task"]["state"]["category"] == "DONE"


async def test_force_finishes_early_for_managers_only(gql, acme, database):
    _, ids = await plan_web(gql, acme[Role.MANAGER])
    before = await rows_of(database)

    refused = await mutate(gql, SET_STATE, {"taskId": ids["Build"], "state": "done", "force": True}, acme[Role.MEMBER])
    assert refused["task"] is None
    assert codes(refused) == ["FORBIDDEN"]
    assert await rows_of(database) == before

    forced = await succeed(gql, SET_STATE, {"taskId": ids["Build"], "state": "done", "force": True}, acme[Role.MANAGER])
    assert forced["task"]["state"] == {"key": "done", "category": "DONE"}
    still_open = await gql.data("query($id: ID!) { node(id: $id) { ... on Task { category } } }", {"id": ids["Design"]}, token=acme[Role.MANAGER])
    assert still_open["node"]["category"] == "TODO"


async def test_subtasks_and_no_task_under_its_own_descendant(gql, acme, database):
    token = acme[Role.MEMBER]
    project = await create_project(gql, acme[Role.MANAGER], "WEB")
    parent = await create_task(gql, token, project["id"], "Parent")
    child = await create_task(gql, token, project["id"], "Child", parentId=parent["id"])
    grandchild = await create_task(gql, token, project["id"], "Grandchild", parentId=child["id"])
    assert (child["parent"], grandchild["parent"]) == ({"key": "WEB-1"}, {"key": "WEB-2"})

    tree = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on Task { subtasks { key subtasks { key subtasks { key } } } } } }",
        {"id": parent["id"]},
        token=token,
    )
    assert tree["node"]["subtasks"] == [{"key": "WEB-2", "subtasks": [{"key": "WEB-3", "subtasks": []}]}]

    before = await rows_of(database)
    for new_parent in (grandchild, child, parent):
        payload = await mutate(gql, "updateTask", {"taskId": parent["id"], "parentId": new_parent["id"]}, token)
        assert payload["task"] is None
        assert payload["userErrors"] == [
            {"field": ["parentId"], "message": "A task cannot sit under itself or its own subtasks.", "code": "CYCLE"}
        ]
    assert await rows_of(database) == before

    moved = await succeed(gql, "updateTask", {"taskId": grandchild["id"], "parentId": parent["id"]}, token)
    assert moved["task"]["parent"] == {"key": "WEB-1"}


async def _ranks(gql: Any, token: str) -> list[tuple[str, str]]:
    nodes = (await gql.data(PROJECT_TASKS, {"key": "WEB"}, token=token))["project"]["tasks"]["nodes"]
    return [(n["title"], n["rank"]) for n in nodes]


@pytest.mark.parametrize(
    ("moved", "where", "anchor", "order"),
    [
        ("T4", "afterId", "T1", ["T1", "T4", "T2", "T3"]),
        ("T1", "afterId", "T4", ["T2", "T3", "T4", "T1"]),
        ("T1", "beforeId", "T4", ["T2", "T3", "T1", "T4"]),
        ("T3", "beforeId", "T1", ["T3", "T1", "T2", "T4"]),
        ("T2", "afterId", "T3", ["T1", "T3", "T2", "T4"]),
    ],
)
async def test_move_task_reorders_and_changes_only_the_moved_rank(gql, acme, moved, where, anchor, order):
    token = acme[Role.MEMBER]
    project = await create_project(gql, acme[Role.MANAGER], "WEB")
    ids = {t: (await create_task(gql, token, project["id"], t))["id"] for t in ("T1", "T2", "T3", "T4")}
    before = dict(await _ranks(gql, token))

    payload = await succeed(gql, "moveTask", {"taskId": ids[moved], where: ids[anchor]}, token)

    after = await _ranks(gql, token)
    assert [title for title, _ in after] == order
    assert [rank for _, rank in after] == sorted(rank for _, rank in after)
    assert {t: r for t, r in after if t != moved} == {t: r for t, r in before.items() if t != moved}
    assert dict(after)[moved] == payload["task"]["rank"] != before[moved]


async def test_move_task_needs_exactly_one_anchor_in_the_same_list(gql, acme):
    token = acme[Role.MEMBER]
    web = await create_project(gql, acme[Role.MANAGER], "WEB")
    app = await create_project(gql, acme[Role.MANAGER], "APP")
    one, two = [(await create_task(gql, token, web["id"], t))["id"] for t in ("T1", "T2")]
    elsewhere = (await create_task(gql, token, app["id"], "Other"))["id"]
    before = await _ranks(gql, token)

    for input in (
        {"taskId": one},
        {"taskId": one, "afterId": two, "beforeId": two},
        {"taskId": one, "afterId": one},
        {"taskId": one, "beforeId": elsewhere},
    ):
        payload = await mutate(gql, "moveTask", input, token)
        assert codes(payload) == ["INVALID"], input
    assert await _ranks(gql, token) == before
