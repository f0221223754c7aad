"""Periodic sweeps: work that the passing of time calls for, with nobody making a change.

Health depends on today's date, so a project can turn AT_RISK overnight; the health
sweep refreshes every open project's stored health and writes the change events.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select

from mcgraph.db.models import Organization
from mcgraph.domain.health_refresh import refresh_organization
from mcgraph.domain.permissions import system_actor
from mcgraph.domain.unit import Unit
from mcgraph.logs import get_logger
from mcgraph.runtime import Runtime

log = get_logger("mcgraph.sweeps")


async def refresh_all_health(runtime: Runtime) -> int:
    """Refresh the health of every organisation's open projects, one transaction each."""
    async with runtime.database.session() as session:
        organization_ids = list(await session.scalars(select(Organization.id).order_by(Organization.id)))
    changed = 0
    for organization_id in organization_ids:
        async with runtime.database.transaction(organization_id) as session:
            unit = Unit(
                session=session,
                actor=system_actor(organization_id),
                now=runtime.clock.now(),
                plugins=runtime.plugins,
                settings=runtime.settings,
            )
            changed += await refresh_organization(unit)
    return changed


async def run_every(seconds: float, runtime: Runtime) -> None:
    """Sweep health every ``seconds`` until cancelled; a failed sweep is logged and retried."""
    while True:
        await asyncio.sleep(seconds)
        try:
            changed = await refresh_all_health(runtime)
            if changed:
                log.info("health sweep", projects_changed=changed)
        except Exception:
            log.exception("health sweep failed")


@contextlib.asynccontextmanager
async def health_sweeper(runtime: Runtime, seconds: float):  # type: ignore[no-untyped-def]
    """Run :func:`run_every` in the background for the life of the block (0 disables it)."""
    task = asyncio.create_task(run_every(seconds, runtime)) if seconds > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
