"""Tenant isolation of projects and tasks: acme's tokens never see or touch globex's rows.

Every answer about a globex id must be exactly the answer about an id of the same type
that names no row, so that a client cannot even learn that the id exists.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mcgraph.api.ids import encode_id
from mcgraph.db import models as m
from mcgraph.db.models import Role
from tests.project_helpers import create_project, create_task, mutate, pk, rows_of, succeed, viewer_id

TYPES = {"project": "Project", "task": "Task", "task2": "Task", "dependency": "Dependency", "member": "ProjectMember",
         "milestone": "Milestone", "user": "User"}


@pytest.fixture
async def theirs(gql, globex, database) -> dict[str, str]:
    """Globex's project GLX: two tasks (one assigned), a dependency, a member and a milestone."""
    token = globex[Role.MANAGER]
    user = await viewer_id(gql, globex[Role.MEMBER])
    project = await create_project(gql, token, "GLX", startDate="2026-03-02", targetEndDate="2026-03-31", labels=["secret"])
    member = (await succeed(gql, "setProjectMember", {"projectId": project["id"], "userId": user, "hourlyRate": "80"}, token))["member"]
    task = await create_task(gql, token, project["id"], "Secret plan", assigneeId=user, dueDate="2026-03-01", labels=["secret"])
    task2 = await create_task(gql, token, project["id"], "Secret launch")
    dependency = (await succeed(gql, "addDependency", {"predecessorId": task["id"], "successorId": task2["id"]}, token))["dependency"]
    async with database.transaction() as session:
        milestone = m.Milestone(organization_id=(await session.get(m.Project, pk(project["id"]))).organization_id,
                                project_id=pk(project["id"]), name="Beta", due_date=date(2026, 3, 20))
        session.add(milestone)
        await session.flush()
        milestone_id = encode_id("Milestone", milestone.id)
    return {"project": project["id"], "task": task["id"], "task2": task2["id"], "dependency": dependency["id"],
            "member": member["id"], "milestone": milestone_id, "user": user}


@pytest.fixture
async def ours(gql, acme) -> dict[str, str]:
    """Acme's project WEB with two tasks, the second assigned to acme's member."""
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB", labels=["secret"])
    member = await viewer_id(gql, acme[Role.MEMBER])
    one = await create_task(gql, token, project["id"], "Secret one", dueDate="2026-03-01", labels=["secret"])
    two = await create_task(gql, token, project["id"], "Secret two", assigneeId=member)
    return {"project": project["id"], "task": one["id"], "task2": two["id"], "member_user": member}


def missing(name: str) -> str:
    return encode_id(TYPES[name], 999999)


NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


@pytest.mark.parametrize("role", [Role.OWNER, Role.MEMBER])
async def test_node_and_nodes_give_null_for_their_ids(gql, acme, theirs, ours, role):
    token = acme[role]
    for name in TYPES:
        for global_id in (theirs[name], missing(name)):
            assert await gql.data(NODE, {"id": global_id}, token=token) == {"node": None}, name
    data = await gql.data(NODES, {"ids": [*theirs.values(), ours["project"]]}, token=token)
    assert data["nodes"] == [None] * len(theirs) + [{"__typename": "Project", "id": ours["project"]}]


async def test_project_by_their_id_or_key_is_null(gql, acme, theirs):
    token = acme[Role.OWNER]
    by_id = "query($id: ID!) { project(id: $id) { key } }"
    by_key = "query($key: String!) { project(key: $key) { key } }"
    assert await gql.data(by_id, {"id": theirs["project"]}, token=token) == {"project": None}
    assert await gql.data(by_id, {"id": missing("project")}, token=token) == {"project": None}
    for key in ("GLX", "glx", "NOPE"):
        assert await gql.data(by_key, {"key": key}, token=token) == {"project": None}, key


LISTS = {
    "projects": "query($w: ProjectFilter) { projects(first: 100, where: $w) { totalCount nodes { key } } }",
    "tasks": "query($w: TaskFilter) { tasks(first: 100, where: $w) { totalCount nodes { key } } }",
    "myTasks": "query($w: TaskFilter) { myTasks(first: 100, where: $w) { totalCount nodes { key } } }",
}


@pytest.mark.parametrize(
    ("field", "where", "expected"),
    [
        ("projects", None, ["WEB"]),
        ("projects", {"includeArchived": True, "labels": ["secret"]}, ["WEB"]),
        ("projects", {"memberIds": ["$user"]}, []),
        ("projects", {"managerIds": ["$user"]}, []),
        ("projects", {"search": "GL"}, []),
        ("tasks", None, ["WEB-1", "WEB-2"]),
        ("tasks", {"projectIds": ["$project"]}, []),
        ("tasks", {"assigneeIds": ["$user"]}, []),
        ("tasks", {"milestoneIds": ["$milestone"]}, []),
        ("tasks", {"overdue": True}, ["WEB-1"]),
        ("tasks", {"labels": ["secret"], "search": "secret"}, ["WEB-1"]),
        ("myTasks", None, ["WEB-2"]),
        ("myTasks", {"projectIds": ["$project"]}, []),
    ],
)
async def test_lists_hold_nothing_of_theirs(gql, acme, theirs, ours, field, where, expected):
    resolved = {k: [theirs[v[1:]] if isinstance(v, str) and v.startswith("$") else v for v in vs] if isinstance(vs, list) else vs
                for k, vs in (where or {}).items()}

    data = await gql.data(LISTS[field], {"w": resolved or None}, token=acme[Role.MEMBER])

    assert sorted(n["key"] for n in data[field]["nodes"]) == expected
    assert data[field]["totalCount"] == len(expected)


# mutation: (input with "G." for globex ids and "A." for acme ids, [(field, code)])
MUTATIONS = {
    "updateProject": ({"projectId": "G.project", "name": "Mine now"}, [("projectId", "NOT_FOUND")]),
    "moveProjectStage": ({"projectId": "G.project", "stage": "execute"}, [("projectId", "NOT_FOUND")]),
    "setProjectStatus": ({"projectId": "G.project", "status": "ON_HOLD"}, [("projectId", "NOT_FOUND")]),
    "overrideProjectHealth": ({"projectId": "G.project", "health": "OFF_TRACK", "note": "Bad"}, [("projectId", "NOT_FOUND")]),
    "archiveProject": ({"projectId": "G.project"}, [("projectId", "NOT_FOUND")]),
    "setProjectMember": ({"projectId": "G.project", "userId": "A.member_user"}, [("projectId", "NOT_FOUND")]),
    "setProjectMember their user": ({"projectId": "A.project", "userId": "G.user"}, [("userId", "NOT_A_MEMBER")]),
    "removeProjectMember": ({"projectId": "G.project", "userId": "G.user"}, [("projectId", "NOT_FOUND")]),
    "removeProjectMember their user": ({"projectId": "A.project", "userId": "G.user"}, [("userId", "NOT_A_MEMBER")]),
    "createTask": ({"projectId": "G.project", "title": "Spy"}, [("projectId", "NOT_FOUND")]),
    "createTask their assignee": ({"projectId": "A.project", "title": "T", "assigneeId": "G.user"}, [("assigneeId", "NOT_A_MEMBER")]),
    "createTask their parent": ({"projectId": "A.project", "title": "T", "parentId": "G.task"}, [("parentId", "NOT_FOUND")]),
    "createTask their milestone": ({"projectId": "A.project", "title": "T", "milestoneId": "G.milestone"}, [("milestoneId", "NOT_FOUND")]),
    "updateTask": ({"taskId": "G.task", "title": "Mine now"}, [("taskId", "NOT_FOUND")]),
    "updateTask their parent": ({"taskId": "A.task", "parentId": "G.task"}, [("parentId", "NOT_FOUND")]),
    "updateTask their milestone": ({"taskId": "A.task", "milestoneId": "G.milestone"}, [("milestoneId", "NOT_FOUND")]),
    "updateTask their assignee": ({"taskId": "A.task", "assigneeId": "G.user"}, [("assigneeId", "NOT_A_MEMBER")]),
    "setTaskState": ({"taskId": "G.task", "state": "done", "force": True}, [("taskId", "NOT_FOUND")]),
    "moveTask": ({"taskId": "G.task2", "beforeId": "G.task"}, [("taskId", "NOT_FOUND")]),
    "moveTask after theirs": ({"taskId": "A.task", "afterId": "G.task"}, [("afterId", "NOT_FOUND")]),
    "moveTask before theirs": ({"taskId": "A.task", "beforeId": "G.task"}, [("beforeId", "NOT_FOUND")]),
    "deleteTask": ({"taskId": "G.task"}, [("taskId", "NOT_FOUND")]),
    "addDependency": ({"predecessorId": "G.task", "successorId": "G.task2"}, [("predecessorId", "NOT_FOUND")]),
    "addDependency to theirs": ({"predecessorId": "A.task", "successorId": "G.task"}, [("successorId", "NOT_FOUND")]),
    "addDependency from theirs": ({"predecessorId": "G.task2", "successorId": "A.task"}, [("predecessorId", "NOT_FOUND")]),
    "removeDependency": ({"dependencyId": "G.dependency"}, [("dependencyId", "NOT_FOUND")]),
}


def resolve(template: dict[str, Any], theirs: dict[str, str], ours: dict[str, str], *, nonexistent: bool = False) -> dict[str, Any]:
    def one(value: Any) -> Any:
        if not isinstance(value, str) or value[:2] not in ("G.", "A."):
            return value
        side, name = value.split(".", 1)
        if side == "A":
            return ours[name]
        return missing(name) if nonexistent else theirs[name]

    return {k: one(v) for k, v in template.items()}


@pytest.mark.parametrize(("case", "template", "expected"), [(k, *v) for k, v in MUTATIONS.items()], ids=list(MUTATIONS))
async def test_mutations_on_their_ids_are_not_found_and_change_nothing(gql, acme, database, theirs, ours, case, template, expected):
    name = case.split()[0]
    token = acme[Role.OWNER]
    before = await rows_of(database)

    payload = await mutate(gql, name, resolve(template, theirs, ours), token)
    nonexistent = await mutate(gql, name, resolve(template, theirs, ours, nonexistent=True), token)

    assert [(e["field"][0], e["code"]) for e in payload["userErrors"]] == expected
    assert payload == nonexistent
    assert await rows_of(database) == before


async def test_their_project_is_intact_for_them(gql, globex, acme, theirs, ours):
    """After every refused attempt, globex still sees its project as it was."""
    query = """query($id: ID!) { node(id: $id) { ... on Project { key name version status stage { key } archivedAt
      members { user { email } } health { override { health } }
      tasks(first: 10) { nodes { key title version category predecessors { id } } } } } }"""
    seen = await gql.data(query, {"id": theirs["project"]}, token=globex[Role.MANAGER])
    for case, (template, _) in MUTATIONS.items():
        await mutate(gql, case.split()[0], resolve(template, theirs, ours), acme[Role.OWNER])
    assert await gql.data(query, {"id": theirs["project"]}, token=globex[Role.MANAGER]) == seen
    assert seen["node"]["key"] == "GLX" and len(seen["node"]["tasks"]["nodes"]) == 2
