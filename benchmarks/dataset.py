"""The benchmark dataset at three scales, written straight into mcgraph's tables.

The database is created empty, migrated by ``mcgraph migrate`` (so the tables are the
migrations' own), then filled with ``COPY`` through asyncpg: M and L take seconds to
minutes, not the hours that going through the API would. Ids are given here and the
sequences moved past them afterwards.

Organisation 1 (``bench``) is the one every scenario reads: it holds
``min(200, projects // 2)`` projects; the others share the rest evenly. Every project
has ``tasks // projects`` tasks, one in three depending on the one before it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg

from mcgraph.domain import ranking
from mcgraph.domain.tokens import digest

ADMIN_URL = os.environ.get("MCGRAPH_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = os.environ.get("MCGRAPH_BENCH_DATABASE", "mcgraph_bench")
USERS_PER_ORG = 25
STATES = (("todo", "todo"), ("in_progress", "in_progress"), ("done", "done"), ("todo", "todo"), ("blocked", "blocked"))
PRIORITIES = ("low", "medium", "high", "urgent")
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Scale:
    name: str
    organizations: int
    projects: int
    tasks: int

    @property
    def processes(self) -> int:
        return max(self.organizations, self.projects // 5)

    @property
    def runs(self) -> int:
        return self.tasks // 50

    @property
    def bench_projects(self) -> int:
        return min(200, self.projects // 2)


SCALES = {
    "S": Scale("S", 10, 100, 10_000),
    "M": Scale("M", 100, 2_000, 200_000),
    "L": Scale("L", 100, 10_000, 1_000_000),
}


def database_name(scale: Scale) -> str:
    return f"{DATABASE}_{scale.name.lower()}"


def asyncpg_url(scale: Scale) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + database_name(scale)


def sqlalchemy_url(scale: Scale) -> str:
    return asyncpg_url(scale).replace("postgresql://", "postgresql+asyncpg://", 1)


def token(org: int) -> str:
    """The bearer token of organisation ``org``'s owner (a benchmark secret, not a real one)."""
    return f"mcg_bench_owner_{org}"


def member_token(org: int) -> str:
    """The token of the member whose ``myTasks`` the scale scenario reads."""
    return f"mcg_bench_member_{org}"


async def exists(scale: Scale) -> bool:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database_name(scale)))
    finally:
        await admin.close()


def migrate(scale: Scale) -> None:
    """``mcgraph migrate`` on the scale's database (a dataset made by an older mcgraph is brought up to date)."""
    env = {**os.environ, "MCGRAPH_DATABASE_URL": sqlalchemy_url(scale)}
    subprocess.run([str(Path(sys.executable).parent / "mcgraph"), "migrate"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


async def generate(scale: Scale, *, log=print) -> None:
    """Drop and recreate the scale's database, migrate it and fill it."""
    name = database_name(scale)
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    migrate(scale)
    started = datetime.now(UTC)
    connection = await asyncpg.connect(asyncpg_url(scale))
    try:
        async with connection.transaction():
            for table, columns, rows in _tables(scale, started):
                await connection.copy_records_to_table(table, records=rows, columns=columns)
                log(f"  {table}: {len(rows)} rows")
        for table in _ID_TABLES:
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    log(f"scale {scale.name} in {name}: {(datetime.now(UTC) - started).total_seconds():.1f} s")


_ID_TABLES = (
    "organization", "user_account", "membership", "api_token", "project", "task", "dependency",
    "process", "process_version", "process_step", "process_run", "run_step", "event",
)


def _projects_per_org(scale: Scale) -> list[int]:
    rest, others = scale.projects - scale.bench_projects, scale.organizations - 1
    return [scale.bench_projects] + [rest // others + (1 if i < rest % others else 0) for i in range(others)]


def _tables(scale: Scale, now: datetime) -> list[tuple[str, list[str], list[tuple]]]:
    today = now.date()
    orgs = [(o, f"org{o}" if o > 1 else "bench", f"Organisation {o}", now) for o in range(1, scale.organizations + 1)]
    users, memberships, tokens = [], [], []
    for o in range(1, scale.organizations + 1):
        for u in range(USERS_PER_ORG):
            uid = (o - 1) * USERS_PER_ORG + u + 1
            users.append((uid, f"u{u}@org{o}.bench", f"User {u} of {o}", now))
            memberships.append((uid, o, uid, "owner" if u == 0 else "member", now))
        owner, member = (o - 1) * USERS_PER_ORG + 1, (o - 1) * USERS_PER_ORG + 2
        for tid, uid, secret in ((2 * o - 1, owner, token(o)), (2 * o, member, member_token(o))):
            tokens.append((tid, o, uid, "bench", digest(secret), secret[:10], now, now))

    projects, tasks, dependencies, events = [], [], [], []
    per_project = scale.tasks // scale.projects
    pid = tid = did = 0
    for o, count in enumerate(_projects_per_org(scale), start=1):
        first_user = (o - 1) * USERS_PER_ORG + 1
        for p in range(count):
            pid += 1
            start = today - timedelta(days=20 + pid % 60)
            end = start + timedelta(days=60 + pid % 120)
            created = now - timedelta(days=120)
            projects.append((
                pid, o, f"P{p + 1}", f"Project {p + 1} of {o}", "", "", "simple", "execute", "active",
                start, end, first_user + pid % USERS_PER_ORG, None, "on_track", "[]", 0.0,
                1, created, created,
            ))
            events.append((o, "project.created", "project", pid, pid, first_user, "{}", created, created))
            rank = None
            for k in range(1, per_project + 1):
                tid += 1
                rank = ranking.key_between(rank, None)
                state, category = STATES[(tid * 7) % len(STATES)]
                at = created + timedelta(minutes=k)
                due = start + timedelta(days=k % 90)
                tasks.append((
                    tid, o, pid, k, f"Task {k} of project {pid}", "", state, category,
                    first_user + (tid * 3) % USERS_PER_ORG, PRIORITIES[tid % 4], float(1 + tid % 16),
                    start, due, at if category == "done" else None, rank, 1, at, at,
                ))
                events.append((o, "task.created", "task", tid, pid, first_user, "{}", at, at))
                if k % 3 == 0:
                    did += 1
                    dependencies.append((did, o, tid - 1, tid, "fs", 0.0, at))

    processes, versions, steps, runs, run_steps = [], [], [], [], []
    orgs_cycle = [1 + i % scale.organizations for i in range(scale.processes)]
    for i, o in enumerate(orgs_cycle, start=1):
        owner = (o - 1) * USERS_PER_ORG + 1
        processes.append((i, o, f"PR{i}", f"Process {i}", "", owner, "published", "", "run_once", "on_track", "[]", 1, now, now))
        versions.append((i, o, i, 1, now, owner, "", now))
        for s in range(3):
            steps.append((3 * (i - 1) + s + 1, o, i, f"s{s}", s, f"Step {s}", "", "owner", 0.0, 8.0, False, "end", True))
    for r in range(1, scale.runs + 1):
        process = 1 + r % scale.processes
        o = orgs_cycle[process - 1]
        started = now - timedelta(days=1 + r % 80)
        done = r % 4 != 0
        runs.append((
            r, o, process, process, r, f"Run {r}", "completed" if done else "running", "{}", "manual",
            started, started + timedelta(hours=20) if done else None, 1, started, started,
        ))
        events.append((o, "process_run.started", "process_run", r, None, None, "{}", started, started))
        for s in range(3):
            run_steps.append((
                3 * (r - 1) + s + 1, o, r, 3 * (process - 1) + s + 1, f"s{s}", started,
                started + timedelta(hours=6 * s + 6) if done else None, 1, 0,
            ))

    events.sort(key=lambda e: e[7])
    return [
        ("organization", ["id", "slug", "name", "created_at"], orgs),
        ("user_account", ["id", "email", "name", "created_at"], users),
        ("membership", ["id", "organization_id", "user_id", "role", "created_at"], memberships),
        ("api_token", ["id", "organization_id", "user_id", "name", "digest", "prefix", "created_at", "last_used_at"], tokens),
        ("project", [
            "id", "organization_id", "key", "name", "objective", "scope", "methodology", "stage", "status",
            "start_date", "target_end_date", "manager_id", "planned_budget", "health", "health_reasons", "progress",
            "version", "created_at", "updated_at",
        ], projects),
        ("task", [
            "id", "organization_id", "project_id", "key_number", "title", "description", "state", "state_category",
            "assignee_id", "priority", "estimate_hours", "start_date", "due_date", "completed_at", "rank",
            "version", "created_at", "updated_at",
        ], tasks),
        ("dependency", ["id", "organization_id", "predecessor_id", "successor_id", "type", "lag_days", "created_at"], dependencies),
        ("process", [
            "id", "organization_id", "key", "name", "purpose", "owner_id", "status", "run_name_template",
            "missed_slots", "health", "health_reasons", "version", "created_at", "updated_at",
        ], processes),
        ("process_version", ["id", "organization_id", "process_id", "number", "published_at", "published_by_id", "note", "created_at"], versions),
        ("process_step", [
            "id", "organization_id", "version_id", "key", "position", "name", "instructions", "assignment",
            "offset_hours", "duration_hours", "approval", "on_reject", "required",
        ], steps),
        ("process_run", [
            "id", "organization_id", "process_id", "version_id", "number", "name", "state", "input", "trigger",
            "started_at", "completed_at", "version", "created_at", "updated_at",
        ], runs),
        ("run_step", ["id", "organization_id", "run_id", "step_id", "step_key", "started_at", "finished_at", "rounds", "rejections"], run_steps),
        ("event", [
            "organization_id", "type", "subject_type", "subject_id", "project_id", "actor_id", "data",
            "occurred_at", "published_at",
        ], events),
    ]


def main(scale_name: str) -> None:
    asyncio.run(generate(SCALES[scale_name]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "S")
