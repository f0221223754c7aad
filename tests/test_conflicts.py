"""Lost updates and input validation of projects and tasks.

A write with a stale ``expectedVersion`` is refused with VERSION_CONFLICT and changes
nothing; work on a project's tasks refreshes its health without bumping its version.
Every problem of an input is reported at once, each with its code.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mcgraph.db.models import Role
from tests.project_helpers import codes, create_project, create_task, mutate, rows_of, succeed, viewer_id

VERSIONS = "query($key: String!) { project(key: $key) { version name health { health } tasks(first: 5) { nodes { version title } } } }"

# (mutation, id field, the object in the payload, what the stale write tries to change)
GUARDED = [
    ("updateProject", "projectId", "project", {"name": "Lost update"}),
    ("moveProjectStage", "projectId", "project", {"stage": "execute"}),
    ("setProjectStatus", "projectId", "project", {"status": "ON_HOLD"}),
    ("updateTask", "taskId", "task", {"title": "Lost update"}),
    ("setTaskState", "taskId", "task", {"state": "in_progress"}),
]


async def _state(gql: Any, token: str) -> dict[str, Any]:
    return (await gql.data(VERSIONS, {"key": "WEB"}, token=token))["project"]


@pytest.mark.parametrize(("name", "id_field", "kind", "change"), GUARDED, ids=[g[0] for g in GUARDED])
async def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(gql, acme, database, name, id_field, kind, change):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB")
    task = await create_task(gql, token, project["id"], "Write")
    target = {"project": project, "task": task}[kind]
    read = target["version"]
    # Someone else changes the object after we read it.
    other = {"projectId": project["id"], "objective": "Theirs"} if kind == "project" else {"taskId": task["id"], "description": "Theirs"}
    bumped = await succeed(gql, "updateProject" if kind == "project" else "updateTask", other, token)
    assert bumped[kind]["version"] == read + 1
    before = await rows_of(database)

    stale = await mutate(gql, name, {id_field: target["id"], "expectedVersion": read, **change}, token)

    assert stale[kind] is None
    assert stale["userErrors"] == [
        {
            "field": ["expectedVersion"],
            "message": f"It changed since you read it (version {read}, now {read + 1}); reload and retry.",
            "code": "VERSION_CONFLICT",
        }
    ]
    assert await rows_of(database) == before

    fresh = await succeed(gql, name, {id_field: target["id"], "expectedVersion": read + 1, **change}, token)
    assert fresh[kind]["version"] == read + 2


async def test_task_work_refreshes_health_but_not_the_project_version(gql, acme, database):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB", startDate="2026-03-01", targetEndDate="2026-03-31")
    read = project["version"]
    assert project["health"]["health"] == "ON_TRACK"

    late = await create_task(gql, token, project["id"], "Late", dueDate="2026-03-01", estimateHours=8)
    soon = await create_task(gql, token, project["id"], "Soon", dueDate="2026-03-20", estimateHours=8)
    await succeed(gql, "updateTask", {"taskId": soon["id"], "estimateHours": 16}, token)
    await succeed(gql, "addDependency", {"predecessorId": late["id"], "successorId": soon["id"]}, token)
    await succeed(gql, "setTaskState", {"taskId": soon["id"], "state": "in_progress"}, token)

    now = await _state(gql, token)
    assert now["version"] == read
    assert now["health"]["health"] == "AT_RISK"
    stored = await gql.data("{ projects(where: {healths: [AT_RISK]}) { nodes { key } } }", token=token)
    assert stored["projects"]["nodes"] == [{"key": "WEB"}]

    updated = await succeed(gql, "updateProject", {"projectId": project["id"], "expectedVersion": read, "name": "Website"}, token)
    assert (updated["project"]["version"], updated["project"]["name"]) == (read + 1, "Website")


@pytest.fixture
async def world(gql, acme, globex) -> dict[str, Any]:
    """Project WEB (2026-03-02..2026-03-31) with task WEB-1 starting 2026-03-10, a
    completed project OLD, and the id of a user of another organisation."""
    token = acme[Role.MANAGER]
    web = await create_project(gql, token, "WEB", startDate="2026-03-02", targetEndDate="2026-03-31")
    task = await create_task(gql, token, web["id"], "Write", startDate="2026-03-10")
    old = await create_project(gql, token, "OLD", status="COMPLETED")
    return {"web": web["id"], "task": task["id"], "old": old["id"], "stranger": await viewer_id(gql, globex[Role.MEMBER])}


def bad_key(key: str) -> tuple[str, Any, list[tuple[str, str]]]:
    return ("createProject", lambda w: {"key": key, "name": "New"}, [("key", "INVALID")])


REFUSED = {
    "project end before start": (
        "createProject",
        lambda w: {"key": "NEW", "name": "New", "startDate": "2026-03-10", "targetEndDate": "2026-03-09"},
        [("targetEndDate", "DATE_RANGE")],
    ),
    "updated end before start": (
        "updateProject", lambda w: {"projectId": w["web"], "targetEndDate": "2026-03-01"}, [("targetEndDate", "DATE_RANGE")]
    ),
    "task due before start": (
        "createTask",
        lambda w: {"projectId": w["web"], "title": "T", "startDate": "2026-03-10", "dueDate": "2026-03-05"},
        [("dueDate", "DATE_RANGE")],
    ),
    "updated due before start": ("updateTask", lambda w: {"taskId": w["task"], "dueDate": "2026-03-09"}, [("dueDate", "DATE_RANGE")]),
    "unknown state on create": ("createTask", lambda w: {"projectId": w["web"], "title": "T", "state": "nope"}, [("state", "UNKNOWN_STATE")]),
    "unknown state": ("setTaskState", lambda w: {"taskId": w["task"], "state": "nope"}, [("state", "UNKNOWN_STATE")]),
    "unknown stage": ("moveProjectStage", lambda w: {"projectId": w["web"], "stage": "nope"}, [("stage", "UNKNOWN_STAGE")]),
    "unknown methodology": (
        "createProject", lambda w: {"key": "NEW", "name": "New", "methodology": "nope"}, [("methodology", "UNKNOWN_METHODOLOGY")]
    ),
    "key taken": ("createProject", lambda w: {"key": "WEB", "name": "Again"}, [("key", "TAKEN")]),
    "key taken, other case": ("createProject", lambda w: {"key": " old ", "name": "Again"}, [("key", "TAKEN")]),
    "key one letter": bad_key("W"),
    "key starts with a digit": bad_key("1AB"),
    "key with a dash": bad_key("WEB-1"),
    "key of 11 characters": bad_key("ABCDEFGHIJK"),
    "assignee of another organisation": (
        "createTask", lambda w: {"projectId": w["web"], "title": "T", "assigneeId": w["stranger"]}, [("assigneeId", "NOT_A_MEMBER")]
    ),
    "reassigned to another organisation": (
        "updateTask", lambda w: {"taskId": w["task"], "assigneeId": w["stranger"]}, [("assigneeId", "NOT_A_MEMBER")]
    ),
    "manager of another organisation": (
        "createProject", lambda w: {"key": "NEW", "name": "New", "managerId": w["stranger"]}, [("managerId", "NOT_A_MEMBER")]
    ),
    "member of another organisation": ("setProjectMember", lambda w: {"projectId": w["web"], "userId": w["stranger"]}, [("userId", "NOT_A_MEMBER")]),
    "completed to on hold": ("setProjectStatus", lambda w: {"projectId": w["old"], "status": "ON_HOLD"}, [("status", "STATUS_TRANSITION")]),
    "every problem of a project at once": (
        "createProject",
        lambda w: {
            "key": "1", "name": " ", "methodology": "nope", "startDate": "2026-03-10", "targetEndDate": "2026-03-01",
            "plannedBudget": "-1", "labels": ["ok", "not\nok"], "managerId": w["stranger"],
        },
        [
            ("key", "INVALID"), ("methodology", "UNKNOWN_METHODOLOGY"), ("name", "REQUIRED"), ("targetEndDate", "DATE_RANGE"),
            ("plannedBudget", "INVALID"), ("labels", "INVALID"), ("managerId", "NOT_A_MEMBER"),
        ],
    ),
    "every problem of a new task at once": (
        "createTask",
        lambda w: {
            "projectId": w["web"], "title": "", "state": "nope", "startDate": "2026-03-10", "dueDate": "2026-03-01",
            "estimateHours": -1, "assigneeId": w["stranger"],
        },
        [("state", "UNKNOWN_STATE"), ("title", "REQUIRED"), ("dueDate", "DATE_RANGE"), ("estimateHours", "INVALID"), ("assigneeId", "NOT_A_MEMBER")],
    ),
    "every problem of a task update at once": (
        "updateTask",
        lambda w: {"taskId": w["task"], "title": " ", "dueDate": "2026-03-01", "points": -2, "assigneeId": w["stranger"], "labels": ["a\tb"]},
        [("title", "REQUIRED"), ("dueDate", "DATE_RANGE"), ("points", "INVALID"), ("assigneeId", "NOT_A_MEMBER"), ("labels", "INVALID")],
    ),
}


@pytest.mark.parametrize(("name", "make_input", "expected"), list(REFUSED.values()), ids=list(REFUSED))
async def test_invalid_input_is_refused_with_codes_and_nothing_is_written(gql, acme, database, world, name, make_input, expected):
    before = await rows_of(database)

    payload = await mutate(gql, name, make_input(world), acme[Role.MANAGER])

    assert [(e["field"][0], e["code"]) for e in payload["userErrors"]] == expected, payload["userErrors"]
    assert all(e["message"] for e in payload["userErrors"])
    assert await rows_of(database) == before


async def test_the_status_transition_error_says_what_is_allowed(gql, acme, world):
    payload = await mutate(gql, "setProjectStatus", {"projectId": world["old"], "status": "ON_HOLD"}, acme[Role.MANAGER])
    assert payload["userErrors"][0]["message"] == "A COMPLETED project cannot become ON_HOLD; it can become: ACTIVE."


async def test_a_lower_case_key_is_taken_in_capitals(gql, acme):
    payload = await mutate(gql, "createProject", {"key": "web", "name": "Website"}, acme[Role.MANAGER])
    assert codes(payload) == []
    again = await mutate(gql, "createProject", {"key": "WEB", "name": "Website"}, acme[Role.MANAGER])
    assert codes(again) == ["TAKEN"]


async def test_tasks_created_at_the_same_moment_get_distinct_keys(gql, acme):
    token = acme[Role.MEMBER]
    project = await create_project(gql, acme[Role.MANAGER], "WEB")
    document = "mutation($input: CreateTaskInput!) { createTask(input: $input) { task { key rank } userErrors { code } } }"

    bodies = await asyncio.gather(*(gql(document, {"input": {"projectId": project["id"], "title": f"T{n}"}}, token=token) for n in range(6)))

    assert [b.get("errors") for b in bodies] == [None] * 6
    tasks = [b["data"]["createTask"]["task"] for b in bodies]
    assert sorted(t["key"] for t in tasks) == [f"WEB-{n}" for n in range(1, 7)]
    assert len({t["rank"] for t in tasks}) == 6


@pytest.mark.parametrize(
    ("name", "id_field", "field"),
    [("updateProject", "projectId", "objective"), ("updateProject", "projectId", "scope"),
     ("updateTask", "taskId", "description"), ("updateTask", "taskId", "priority")],
)
async def test_null_for_a_required_field_is_a_user_error_not_a_crash(gql, acme, name, id_field, field):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB")
    task = await create_task(gql, token, project["id"], "Write")
    target = project["id"] if id_field == "projectId" else task["id"]

    body = await gql(
        f"mutation($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) {{ userErrors {{ field code }} }} }}",
        {"input": {id_field: target, field: None}},
        token=token,
    )

    assert "errors" not in body, body["errors"]


async def test_a_budget_too_large_to_store_is_invalid(gql, acme):
    payload = await mutate(gql, "createProject", {"key": "WEB", "name": "Website", "plannedBudget": "1000000000000000"}, acme[Role.MANAGER])
    assert codes(payload) == ["INVALID"]
