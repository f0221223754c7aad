"""create_task: mcgraph's createTask (the task, its event row, the project's health refreshed)
against PostGraphile's generated createTask and pgbench running the INSERTs themselves.

Each target creates tasks in the projects of an organisation of its own, in turn (mcgraph
refreshes a project's health on every change, which costs more as the project grows: the
baselines' thousands of rows must not land in mcgraph's projects). The organisation the
read scenarios measure stays as generated, and what this scenario adds is deleted at its end.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import asyncpg

from benchmarks import load
from benchmarks.context import Context, keep_as_generated
from benchmarks.dataset import asyncpg_url, database_name, token
from benchmarks.load import COUNTER
from benchmarks.measure import Outcome, interleave, ratio
from benchmarks.servers import post
from mcgraph.api.ids import encode_id

ORGANIZATIONS = {"mcgraph": 2, "postgraphile": 3, "pgbench": 4}
# mcgraph takes most of a second per create under load: 4 connections (for every target
# alike) and rounds of at least 3 s see several answers
CONNECTIONS = 4
TITLE = f"Benchmark task {COUNTER}"

MUTATION = """mutation($input: CreateTaskInput!) {
  createTask(input: $input) { task { key title } userErrors { field message code } }
}"""

POSTGRAPHILE_MUTATION = """mutation($task: TaskInput!) { createTask(input: {task: $task}) { task { keyNumber title } } }"""

# What mcgraph's createTask writes at the least: the task and its event, in one transaction.
# Negative numbers never meet the ones mcgraph gives (the greatest plus one).
PGBENCH = """\\set project random({first}, {last})
BEGIN;
INSERT INTO task (organization_id, project_id, key_number, title, description, state, state_category,
                  priority, rank, version, created_at, updated_at)
VALUES ({organization}, :project, -nextval('bench_key_number'), 'Benchmark task', '', 'todo', 'todo',
        'medium', 'zzzzzzzzzz', 1, now(), now());
INSERT INTO event (organization_id, type, subject_type, subject_id, project_id, data, occurred_at)
VALUES ({organization}, 'task.created', 'task', currval('task_id_seq'), :project, '{{}}', now());
END;
"""


async def _projects(url: str) -> dict[str, list[int]]:
    """Each target's projects."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE SEQUENCE IF NOT EXISTS bench_key_number START 100000000000000")
        projects = {}
        for name, organization in ORGANIZATIONS.items():
            rows = await connection.fetch("SELECT id FROM project WHERE organization_id = $1 ORDER BY id", organization)
            projects[name] = [row["id"] for row in rows]
        return projects
    finally:
        await connection.close()


def bodies(projects: list[int]) -> list[str]:
    """mcgraph's createTask, one body per project, in turn."""
    return [
        json.dumps({"query": MUTATION, "variables": {"input": {"projectId": encode_id("Project", p), "title": TITLE}}})
        for p in projects
    ]


def mcgraph_projects(url: str) -> list[int]:
    """The projects mcgraph's creates land in."""
    return asyncio.run(_projects(url))["mcgraph"]


def _postgraphile_body(organization: int, project: int) -> str:
    now = datetime.now(UTC).isoformat()
    task = {
        "organizationId": str(organization), "projectId": str(project), "keyNumber": COUNTER, "title": TITLE,
        "description": "", "state": "todo", "stateCategory": "todo", "priority": "medium", "rank": "zzzzzzzzzz",
        "version": 1, "createdAt": now, "updatedAt": now,
    }
    return json.dumps({"query": POSTGRAPHILE_MUTATION, "variables": {"task": task}})


def run(context: Context) -> Outcome:
    url = asyncpg_url(context.scale)
    projects = asyncio.run(_projects(url))
    secret = token(ORGANIZATIONS["mcgraph"])
    mcgraph, postgraphile = context.server("mcgraph").url, context.server("postgraphile").url
    mcgraph_bodies = bodies(projects["mcgraph"])
    postgraphile_bodies = [_postgraphile_body(ORGANIZATIONS["postgraphile"], p) for p in projects["postgraphile"]]
    ours = projects["pgbench"]
    script = PGBENCH.format(first=ours[0], last=ours[-1], organization=ORGANIZATIONS["pgbench"])
    keep_as_generated(context)
    firsts = {"mcgraph": (mcgraph, mcgraph_bodies[0], secret), "postgraphile": (postgraphile, postgraphile_bodies[0], None)}
    for name, (target, body, key) in firsts.items():
        answer = post(target, body.replace(COUNTER, str(load.unique_number())), key)
        if "errors" in answer or answer["data"]["createTask"].get("userErrors"):
            raise RuntimeError(f"{name}'s createTask failed: {json.dumps(answer)[:1000]}")
    figures = interleave(
        {
            "mcgraph": lambda s: load.wrk(mcgraph, mcgraph_bodies, s, token=secret, check_errors=True, connections=CONNECTIONS),
            "postgraphile": lambda s: load.wrk(postgraphile, postgraphile_bodies, s, check_errors=True, connections=CONNECTIONS),
            "pgbench": lambda s: load.pgbench(database_name(context.scale), script, s, connections=CONNECTIONS),
        },
        context.plan.at_least(1, 3),
        context.log,
    )
    outcome = Outcome(figures=figures)
    outcome.ratios["ratio_vs_postgraphile"] = ratio(figures["mcgraph"]["rps"], figures["postgraphile"]["rps"])
    outcome.targets["ratio_vs_postgraphile"] = ">= 1.0"
    outcome.ratios["ratio_vs_pgbench"] = ratio(figures["mcgraph"]["rps"], figures["pgbench"]["rps"])
    outcome.targets["ratio_vs_pgbench"] = ">= 0.3"
    outcome.notes.append(
        "PostGraphile's createTask writes the task row only; pgbench writes the task and its event row, "
        "as mcgraph does; mcgraph also locks the project, numbers the task and refreshes the project's health."
    )
    return outcome
