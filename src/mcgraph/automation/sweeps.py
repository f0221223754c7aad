"""Periodic sweeps: work that the passing of time calls for, with nobody making a change.

Health depends on today's date, so a project can turn AT_RISK overnight, and a process
as its old runs leave the 90-day window; the health sweep refreshes the stored health of
every open project and published process and writes the change events.
"""

from __future__ import annotations

import contextlib
from functools import partial
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy import select

from mcgraph.db.models import Organization
from mcgraph.domain.health_refresh import refresh_organization
from mcgraph.domain.permissions import system_actor
from mcgraph.domain.process_health import refresh_organization_processes
from mcgraph.domain.process_schedules import start_due_runs
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
        async with runtime.database.transaction(organization_id) as session:
            unit = Unit(
                session=session,
                actor=system_actor(organization_id),
                now=runtime.clock.now(),
                plugins=runtime.plugins,
                settings=runtime.settings,
            )
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
    ]
    async with running(*(every(s, partial(job, runtime), name) for s, job, name in jobs if s > 0)):
        yield
