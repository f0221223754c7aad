"""Bounds on the work one request can ask for (issue 17, item 3).

* a project planned from a process: its statements do not grow with the steps, and a
  version has at most ``MCGRAPH_MAX_PROCESS_STEPS`` steps;
* list and string arguments bounded, refused with BAD_USER_INPUT before anything runs;
* computed fields charged by the cost model: aliases of ``schedule`` are refused;
* ``/healthz`` answers within a second while a large legal request runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from mcgraph.db import models as m
from mcgraph.db.models import Role
from tests.conftest import process_mutation, process_ok, without_rate_limits
from tests.helpers import statements


@pytest.fixture
def settings(settings):
    return without_rate_limits(settings)


def steps(count: int) -> list[dict[str, Any]]:
    """``count`` steps, each waiting for the one before, every fifth also for the first."""
    made = []
    for n in range(count):
        step: dict[str, Any] = {"name": f"Step {n}", "key": f"s{n}", "durationHours": 4.0}
        if n and n % 5 == 0:
            step["waitsFor"] = ["s0", f"s{n - 1}"]
        made.append(step)
    return made


async def plan_statements(gql: Any, app: Any, token: str, key: str, count: int) -> list[str]:
    process = (await process_ok(gql, "createProcess", {"key": key, "name": f"Plan {count}", "steps": steps(count)}, token))["process"]
    await process_ok(gql, "publishProcess", {"processId": process["id"]}, token)
    with statements(app) as seen:
        made = await process_ok(gql, "createProjectFromProcess", {"processKey": key, "key": f"{key}X", "startDate": "2026-03-09"}, token)
    assert made["project"]["key"] == f"{key}X"
    return seen


def links_of(count: int) -> int:
    return sum(len(step.get("waitsFor", ["previous"])) for step in steps(count)[1:])


async def test_a_project_from_a_process_runs_as_many_statements_for_many_steps_as_for_few(gql, app, database, acme):
    """Today's main ran a health refresh per task and a cycle check per dependency: 10
    steps took 171 statements, 400 steps 7,029 (and the time grew with the square)."""
    token = acme[Role.MANAGER]
    few = await plan_statements(gql, app, token, "FEW", 10)
    many = await plan_statements(gql, app, token, "MANY", 400)
    print(f"SQL statements: {len(few)} for 10 steps, {len(many)} for 400 steps")

    def inserts(seen: list[str]) -> int:
        return sum(1 for s in seen if s.lstrip().upper().startswith("INSERT"))

    # what the plan reads and checks does not grow with it
    assert 0 < len(few) - inserts(few) == len(many) - inserts(many)
    if app.state.runtime.settings.database_url.startswith("postgresql"):
        assert inserts(few) == inserts(many)  # rows go in batches
    else:
        # SQLite's driver returns the keys of one row per INSERT: at most one per row written
        def rows(count: int) -> int:  # tasks and links, and an event for each
            return 2 * (count + links_of(count))

        assert inserts(many) - inserts(few) <= rows(400) - rows(10)
    data = await gql.data('{ project(key: "MANYX") { tasks(first: 1) { totalCount } schedule { criticalPath { key } } } }', token=token)
    assert data["project"]["tasks"]["totalCount"] == 400
    assert len(data["project"]["schedule"]["criticalPath"]) > 1
    async with database.session() as session:
        links = await session.scalar(select(func.count()).select_from(m.Dependency))
    assert links == links_of(10) + links_of(400)


async def test_a_process_version_has_a_bounded_number_of_steps(gql, app, acme):
    limit = app.state.runtime.settings.max_process_steps
    payload = await process_mutation(gql, "createProcess", {"key": "HUGE", "name": "Huge", "steps": steps(limit + 1)}, acme[Role.MANAGER])
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["steps"], "TOO_LONG")]
    assert str(limit) in payload["userErrors"][0]["message"]
