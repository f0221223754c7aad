"""On PostgreSQL, every project and task filter and order of the dashboards can be
answered from an index: with sequential scans priced out, no plan scans a whole table.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from mcgraph.db.models import Event, Health, ProjectStatus, StateCategory
from mcgraph.db.pagination import SortKey, Window, _order_by, _total
from mcgraph.domain import history, queries

TODAY = date(2026, 3, 2)

PROJECT_FILTERS = {
    "status": queries.ProjectQuery(statuses=[ProjectStatus.ACTIVE]),
    "health": queries.ProjectQuery(healths=[Health.AT_RISK]),
    "manager": queries.ProjectQuery(manager_ids=[1]),
    "member": queries.ProjectQuery(member_ids=[1]),
    "label": queries.ProjectQuery(labels=["x"]),
    "methodology": queries.ProjectQuery(methodologies=["simple"]),
    "dates": queries.ProjectQuery(starts_after=TODAY, ends_before=TODAY),
    "search": queries.ProjectQuery(search="web"),
}
TASK_FILTERS = {
    "project": queries.TaskQuery(project_ids=[1]),
    "assignee": queries.TaskQuery(assignee_ids=[1]),
    "category": queries.TaskQuery(categories=[StateCategory.IN_PROGRESS]),
    "state": queries.TaskQuery(states=["doing"]),
    "overdue": queries.TaskQuery(overdue=True),
    "due": queries.TaskQuery(due_after=TODAY, due_before=TODAY),
    "label": queries.TaskQuery(labels=["x"]),
    "milestone": queries.TaskQuery(milestone_ids=[1]),
    "parent": queries.TaskQuery(parent_ids=[1]),
    "search": queries.TaskQuery(search="fix"),
}


def _sql(stmt, keys: list[SortKey]) -> str:
    entity = stmt.column_descriptions[0]["entity"]
    ordered = stmt.order_by(*_order_by(_total(keys, entity), reverse=False)).limit(Window(20).size + 1)
    return str(ordered.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


async def _plan(database, sql: str) -> str:
    async with database.session() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        rows = await session.execute(text("EXPLAIN " + sql))
        return "\n".join(r[0] for r in rows)


def _cases():
    for name, query in PROJECT_FILTERS.items():
        yield f"projects-where-{name}", "project", lambda q=query: (queries.project_select(1, q), queries.project_order(queries.ProjectOrder.DUE_DATE, False))
    for order in queries.ProjectOrder:
        yield f"projects-order-{order.name}", "project", lambda o=order: (queries.project_select(1, queries.ProjectQuery()), queries.project_order(o, False))
    for name, query in TASK_FILTERS.items():
        yield f"tasks-where-{name}", "task", lambda q=query: (queries.task_select(1, q, TODAY), queries.task_order(queries.TaskOrder.RANK, False))
    for order in queries.TaskOrder:
        yield f"tasks-order-{order.name}", "task", lambda o=order: (queries.task_select(1, queries.TaskQuery(), TODAY), queries.task_order(o, False))

    # an organisation's event log read after a cursor, and a project's and a task's history: by event number
    by_number = [SortKey(Event.org_seq, unique=True)]
    yield "events-after-cursor", "event", lambda: (history.event_log(1, after=5), by_number)
    yield "events-of-a-subject", "event", lambda: (history.event_log(1, after=5, subject=("task", 1)), by_number)
    yield "history-of-a-project", "event", lambda: (history.project_history(1).where(Event.project_id == 1), history.history_order())
    yield "history-of-a-task", "event", lambda: (history.task_history(1).where(Event.subject_id == 1), history.history_order())


CASES = list(_cases())


@pytest.mark.parametrize(("case", "table", "build"), CASES, ids=[c[0] for c in CASES])
async def test_plan_reads_an_index(database_url, database, case, table, build):
    if not database_url.startswith("postgresql"):
        pytest.skip("query plans are checked on PostgreSQL")
    stmt, keys = build()
    plan = await _plan(database, _sql(stmt, keys))
    assert f"Seq Scan on {table}" not in plan, f"{case}:\n{plan}"
    assert "Index" in plan, plan
