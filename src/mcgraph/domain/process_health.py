"""Process health kept on the process row, with an event whenever it changes.

:func:`mcgraph.domain.process_reports.health_for` computes it afresh from the runs (the
API shows that); :func:`refresh_process_health` stores the result and writes
``process.health_changed``. A change to a run refreshes its process in the same
transaction; the passing of time is caught by the periodic sweep
(:func:`refresh_organization_processes`). Only published processes are kept: a draft
has no runs and a retired one starts none.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from mcgraph.db.models import Process, ProcessStatus
from mcgraph.domain.health_refresh import reasons_json
from mcgraph.domain.process_metrics import ProcessHealthReport
from mcgraph.domain.process_reports import health_for
from mcgraph.domain.unit import Unit


async def refresh_process_health(unit: Unit, process_ids: Sequence[int]) -> dict[int, ProcessHealthReport]:
    """Store the current health of the published ones of ``process_ids``; record each health change.

    Like a project's, it is derived data: written without bumping the process's version.
    """
    ids = list(dict.fromkeys(process_ids))
    if not ids:
        return {}
    processes = list(
        await unit.session.scalars(
            select(Process).where(
                Process.id.in_(ids),
                Process.organization_id == unit.actor.organization_id,
                Process.status == ProcessStatus.PUBLISHED,
            )
        )
    )
    if not processes:
        return {}
    reports = await health_for(unit.session, [p.id for p in processes], unit.now)
    table = Process.__table__
    for process in processes:
        report = reports[process.id]
        new = report.health.value  # the column holds the value, as its default "on_track"
        reasons = reasons_json(report.reasons)
        old = process.health
        if new == old and reasons == process.health_reasons:
            continue
        written = await unit.session.execute(
            update(table).where(table.c.id == process.id, table.c.health == old).values(health=new, health_reasons=reasons)
        )
        set_committed_value(process, "health", new)
        set_committed_value(process, "health_reasons", reasons)
        # Another transaction that saw the same change first has recorded it already.
        if new != old and written.rowcount == 1:
            unit.record("process.health_changed", process, changes={"health": (old, new)}, reasons=reasons)
    return reports


async def refresh_organization_processes(unit: Unit) -> int:
    """Refresh every published process of the unit's organisation; returns how many changed health."""
    ids = list(
        await unit.session.scalars(
            select(Process.id).where(
                Process.organization_id == unit.actor.organization_id, Process.status == ProcessStatus.PUBLISHED
            )
        )
    )
    before = len(unit.events)
    await refresh_process_health(unit, ids)
    return len(unit.events) - before
