"""Periodic sweeps: work that the passing of time calls for, with nobody making a change.

Health depends on today's date, so a project can turn AT_RISK overnight, and a process
as its old runs leave the 90-day window; the health sweep refreshes the stored health of
every open project and published process and writes the change events. Scheduled
process runs start at their slots, scheduled rules fire, and tasks that passed their
due date are noted (``mcgraph.domain.timed_triggers``).

The embedded default runs these inside ``mcgraph serve``; a deployment runs them in one
``mcgraph scheduler`` (see ``mcgraph.automation.scheduler``) and turns them off in the
API processes (``MCGRAPH_HEALTH_SWEEP_SECONDS=0``, ``MCGRAPH_SCHEDULE_SECONDS=0``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

from sqlalchemy import select

from mcgraph.db.models import Organization
from mcgraph.domain.health_refresh import refresh_organization
from mcgraph.domain.process_health import refresh_organization_processes
from mcgraph.domain.process_schedules import start_due_runs
from mcgraph.domain.timed_triggers import fire_scheduled_rules, note_overdue_tasks
from mcgraph.domain.unit import Unit
from mcgraph.logs import get_logger
from mcgraph.periodic import every, running
from mcgraph.runtime import Runtime

log = get_logger("mcgraph.sweeps")


async def for_each_organization(runtime: Runtime, work: Callable[[Unit], Awaitable[int]]) -> int:
    """Run ``work`` as mcgraph itself in every organisation, one transaction each; sum the counts."""
    async with runtime.database.session() as session:
        organization_ids = list(await session.scalars(select(Organization.id).order_by(Organization.id)))
    total = 0
    for organization_id in organization_ids:
        async with runtime.system_unit(organization_id) as unit:
            total += await work(unit)
    return total


async def refresh_organization_health(unit: Unit) -> int:
    """Refresh the organisation's open projects and published processes; how many changed health."""
    return await refresh_organization(unit) + await refresh_organization_processes(unit)


async def refresh_all_health(runtime: Runtime) -> int:
    """Refresh the health of every organisation's open projects and published processes; how many changed."""
    return await for_each_organization(runtime, refresh_organization_health)


async def start_scheduled_runs(runtime: Runtime) -> int:
    """Start every due run of every scheduled process; how many started."""

    async def start(unit: Unit) -> int:
        return len(await start_due_runs(unit))

    return await for_each_organization(runtime, start)


async def fire_timed_triggers(runtime: Runtime) -> int:
    """Write the events of due scheduled rules and of tasks that became overdue; how many."""

    async def fire(unit: Unit) -> int:
        return await fire_scheduled_rules(unit) + await note_overdue_tasks(unit)

    return await for_each_organization(runtime, fire)


@contextlib.asynccontextmanager
async def background_jobs(runtime: Runtime) -> AsyncIterator[None]:
    """The in-process sweeps of the embedded default, for the life of the block.

    ``MCGRAPH_HEALTH_SWEEP_SECONDS`` and ``MCGRAPH_SCHEDULE_SECONDS`` set how often; 0
    turns one off (as a deployment with a separate scheduler does).
    """
    settings = runtime.settings
    jobs = [
        (settings.health_sweep_seconds, refresh_all_health, "health sweep"),
        (settings.schedule_seconds, start_scheduled_runs, "scheduled runs"),
        (settings.schedule_seconds, fire_timed_triggers, "timed triggers"),
    ]
    async with running(*(every(s, partial(job, runtime), name) for s, job, name in jobs if s > 0)):
        yield
