"""The statements a task's creation runs: the project read once, and as many statements
for a project of many tasks as for one of a few (every create refreshes the project's
health, which must not cost a statement per task)."""

from __future__ import annotations

import re

from mcgraph.db.models import Role
from tests.helpers import statements
from tests.project_helpers import create_project, create_task

# A client's payload (its key and state come from dataloaders, whose batches run in tasks
# of their own, which ``statements`` leaves out: what is counted is the write's).
CREATE = """mutation($input: CreateTaskInput!) {
  createTask(input: $input) { task { id title key state { key } } userErrors { field message code } } }"""
# the project's row (its key with it), not sums per project id
READS_PROJECT = re.compile(r"^SELECT .*\bproject\.\"?key\b.*\sFROM project\b", re.DOTALL)


async def created(gql, token: str, project_id: str, title: str) -> None:
    data = await gql.data(CREATE, {"input": {"projectId": project_id, "title": title, "estimateHours": 4}}, token=token)
    assert data["createTask"]["userErrors"] == [], data
    assert data["createTask"]["task"]["key"].startswith("GROW-") and data["createTask"]["task"]["state"]["key"] == "todo"


async def test_creating_a_task_reads_its_project_once_and_the_same_statements_as_the_project_grows(app, gql, acme):
    token = acme[Role.MANAGER]
    # a target end: the refresh forecasts the end by the critical path too
    project = await create_project(gql, token, "GROW", startDate="2026-03-02", targetEndDate="2026-04-30")
    await gql.data("{ viewer { role } }", token=token)  # the token now trusted: what is counted is the write's
    with statements(app) as first:
        await created(gql, token, project["id"], "First")
    for n in range(12):
        await create_task(gql, token, project["id"], f"Task {n}", estimateHours=8)
    with statements(app) as later:
        await created(gql, token, project["id"], "Later")
    project_reads = [s for s in first if READS_PROJECT.match(s)]
    assert len(project_reads) == 1, "\n".join(project_reads)
    assert "FOR UPDATE" in project_reads[0] or "sqlite" in str(app.state.runtime.database.url)
    assert len(later) == len(first), "\n".join(later)
