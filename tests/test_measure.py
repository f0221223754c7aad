"""Measuring projects: a project with a target end has its task counts made from the
forecast's rows, one without from an aggregate statement; both must say the same."""

from __future__ import annotations

from sqlalchemy import select

from mcgraph.db.models import Project, Role
from mcgraph.domain.measure import forecast_ends, task_counts
from tests.conftest import START
from tests.project_helpers import create_project, create_task, pk, succeed


async def test_counts_from_the_forecast_rows_are_the_aggregate_statements(gql, acme, database):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB", startDate="2026-03-02", targetEndDate="2026-04-30")
    parent = await create_task(gql, token, project["id"], "Parent", estimateHours=100)  # not a leaf: not counted
    for title, hours, done in (("Sub done", 3, True), ("Sub open", 5, False)):
        sub = await create_task(gql, token, project["id"], title, estimateHours=hours, parentId=parent["id"])
        if done:
            await succeed(gql, "setTaskState", {"taskId": sub["id"], "state": "done"}, token)
    await create_task(gql, token, project["id"], "Late", dueDate="2026-02-20")
    late_done = await create_task(gql, token, project["id"], "Late but done", dueDate="2026-02-20", estimateHours=2)
    await succeed(gql, "setTaskState", {"taskId": late_done["id"], "state": "done"}, token)
    await create_task(gql, token, project["id"], "Due later", dueDate="2026-05-01")

    today = START.date()
    async with database.session() as session:
        row = await session.scalar(select(Project).where(Project.id == pk(project["id"])))
        _, from_rows = await forecast_ends(session, [row], today, 8.0)
        aggregated = await task_counts(session, [row.id], today)
    assert from_rows == aggregated
    counts = from_rows[row.id]
    assert (counts.total, counts.done, counts.overdue, counts.estimate_total, counts.estimate_done) == (5, 2, 1, 10.0, 5.0)
