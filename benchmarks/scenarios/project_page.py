"""project_page: one project with its first 50 tasks, their assignees and dependencies."""

from __future__ import annotations

from typing import Any

from benchmarks.context import BENCH_ORGANIZATION, Context
from benchmarks.measure import Outcome
from benchmarks.reads import Read, measure, read_outcome

PROJECT_KEY = "P1"

QUERY = """{ project(key: "%s") { key name tasks(first: 50) { nodes {
  key title state { key } assignee { name email } predecessors { type lagDays predecessor { key } }
} } } }""" % PROJECT_KEY

POSTGRAPHILE_QUERY = """{ projectByOrganizationIdAndKey(organizationId: "%d", key: "%s") { key name
  tasksByProjectId(first: 50, orderBy: [RANK_ASC, PRIMARY_KEY_ASC]) { nodes {
    keyNumber title state userAccountByAssigneeId { name email }
    dependenciesBySuccessorId { nodes { type lagDays taskByPredecessorId { keyNumber projectByProjectId { key } } } }
  } }
} }""" % (BENCH_ORGANIZATION, PROJECT_KEY)


def to_mcgraph(data: dict[str, Any]) -> dict[str, Any]:
    p = data["projectByOrganizationIdAndKey"]
    if p is None:
        return {"project": None}

    def predecessors(task: dict[str, Any]) -> list[dict[str, Any]]:
        links = sorted(task["dependenciesBySuccessorId"]["nodes"], key=lambda d: int(d["taskByPredecessorId"]["keyNumber"]))
        return [
            {
                "type": d["type"].upper(),
                "lagDays": d["lagDays"],
                "predecessor": {"key": f"{d['taskByPredecessorId']['projectByProjectId']['key']}-{d['taskByPredecessorId']['keyNumber']}"},
            }
            for d in links
        ]

    nodes = [
        {
            "key": f"{p['key']}-{t['keyNumber']}",
            "title": t["title"],
            "state": {"key": t["state"]},
            "assignee": t["userAccountByAssigneeId"],
            "predecessors": predecessors(t),
        }
        for t in p["tasksByProjectId"]["nodes"]
    ]
    return {"project": {"key": p["key"], "name": p["name"], "tasks": {"nodes": nodes}}}


READ = Read(QUERY, POSTGRAPHILE_QUERY, to_mcgraph, f"project_page?key={PROJECT_KEY}")


def run(context: Context) -> Outcome:
    return read_outcome(measure(context, READ), postgraphile_target=">= 1.0", sql_target=None)
