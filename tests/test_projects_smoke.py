from __future__ import annotations

from mcgraph.db.models import Role
from tests.project_helpers import create_project, create_task, succeed

CREATE = """
mutation($input: CreateProjectInput!) { createProject(input: $input) {
  project { id key version stage { key } health { health reasons { code message } } progress }
  userErrors { field message code } } }
"""
TASK = """
mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id key state { key category } } userErrors { field code message } } }
"""
DEP = """
mutation($input: AddDependencyInput!) { addDependency(input: $input) { dependency { id } userErrors { code message } } }
"""


async def test_plan_a_project(gql, acme):
    token = acme[Role.MANAGER]
    data = await gql.data(CREATE, {"input": {"key": "WEB", "name": "Website", "startDate": "2026-03-02", "targetEndDate": "2026-03-31"}}, token=token)
    project = data["createProject"]["project"]
    assert data["createProject"]["userErrors"] == []
    ids = {}
    for name, hours in [("A", 24), ("B", 16), ("C", 32), ("D", 8)]:
        d = await gql.data(TASK, {"input": {"projectId": project["id"], "title": name, "estimateHours": hours}}, token=token)
        assert d["createTask"]["userErrors"] == [], d
        ids[name] = d["createTask"]["task"]["id"]
    for p, s, lag in [("A", "B", 0), ("A", "C", 1), ("B", "D", 0), ("C", "D", 0)]:
        d = await gql.data(DEP, {"input": {"predecessorId": ids[p], "successorId": ids[s], "lagDays": lag}}, token=token)
        assert d["addDependency"]["userErrors"] == []
    d = await gql.data(DEP, {"input": {"predecessorId": ids["D"], "successorId": ids["A"]}}, token=token)
    assert d["addDependency"]["userErrors"][0]["code"] == "CYCLE", d
    sched = await gql.data("query($id: ID!) { node(id: $id) { ... on Project { schedule { finish durationDays criticalPath { title } tasks { task { title } earliestStartDay slackDays } } tasks(first: 10) { totalCount nodes { key title } } } } }", {"id": project["id"]}, token=token)
    s = sched["node"]["schedule"]
    assert s["durationDays"] == 9
    assert [t["title"] for t in s["criticalPath"]] == ["A", "C", "D"]
    assert sched["node"]["tasks"]["totalCount"] == 4
    st = await gql.data("mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { task { state { key } } userErrors { code message } } }", {"i": {"taskId": ids["D"], "state": "done"}}, token=token)
    assert st["setTaskState"]["userErrors"][0]["code"] == "BLOCKED_BY_DEPENDENCY", st
    lst = await gql.data("{ projects(first: 5) { nodes { key health { health } progress manager { email } members { user { email } } tasks(first: 2) { nodes { title assignee { email } } } } } }", token=token)
    assert lst["projects"]["nodes"][0]["key"] == "WEB"


async def test_null_labels_clear_a_projects_and_a_tasks_labels(gql, acme):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "LBL", labels=["web"])
    task = await create_task(gql, token, project["id"], "Label me", labels=["web"])
    await succeed(gql, "updateProject", {"projectId": project["id"], "labels": None}, token)
    await succeed(gql, "updateTask", {"taskId": task["id"], "labels": None}, token)
    both = "query($p: ID!, $t: ID!) { p: node(id: $p) { ... on Project { labels } } t: node(id: $t) { ... on Task { labels } } }"
    assert await gql.data(both, {"p": project["id"], "t": task["id"]}, token=token) == {"p": {"labels": []}, "t": {"labels": []}}
