"""portfolio: an organisation's projects (up to 200) with health, progress, manager and
each project's five latest tasks with their assignee."""

from __future__ import annotations

from typing import Any

from benchmarks.context import BENCH_ORGANIZATION, Context
from benchmarks.measure import Outcome
from benchmarks.reads import Read, measure, read_outcome

QUERY = """{ projects(first: 200, orderBy: {field: KEY}) { nodes {
  key name progress health { health } manager { name email }
  tasks(first: 5, orderBy: {field: CREATED_AT, direction: DESC}) { nodes { key title assignee { name email } } }
} } }"""

POSTGRAPHILE_QUERY = """{ allProjects(condition: {organizationId: "%d"}, orderBy: KEY_ASC, first: 200) { nodes {
  key name progress health healthOverride userAccountByManagerId { name email }
  tasksByProjectId(first: 5, orderBy: CREATED_AT_DESC) { nodes { keyNumber title userAccountByAssigneeId { name email } } }
} } }""" % BENCH_ORGANIZATION


def to_mcgraph(data: dict[str, Any]) -> dict[str, Any]:
    nodes = [
        {
            "key": p["key"],
            "name": p["name"],
            "progress": p["progress"],
            "health": {"health": (p["healthOverride"] or p["health"]).upper()},
            "manager": p["userAccountByManagerId"],
            "tasks": {"nodes": [
                {"key": f"{p['key']}-{t['keyNumber']}", "title": t["title"], "assignee": t["userAccountByAssigneeId"]}
                for t in p["tasksByProjectId"]["nodes"]
            ]},
        }
        for p in data["allProjects"]["nodes"]
    ]
    return {"projects": {"nodes": nodes}}


# executed (mcgraph_uncached), this answer takes mcgraph about a quarter of a second of
# CPU: on 4 connections (for every target alike) rounds of 3 s see about ten of them.
READ = Read(QUERY, POSTGRAPHILE_QUERY, to_mcgraph, "portfolio", warmup_seconds=2, round_seconds=3, connections=4)


def run(context: Context) -> Outcome:
    return read_outcome(measure(context, READ), postgraphile_target=">= 1.2", sql_target=">= 0.7")
