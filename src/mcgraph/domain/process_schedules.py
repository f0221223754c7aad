"""Scheduled processes: start a run for each due slot of each published schedule.

Each slot starts at most one run: the slot is stored on the run under a unique
constraint, so two schedulers acting at once cannot both start it. Slots missed while
nothing was running are run once or skipped, per the process's ``missed_slots``.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from mcgraph.db.models import Process, ProcessRun, ProcessStatus, RunTrigger
from mcgraph.domain.cron import MissedSlots, due_slots, parse_schedule
from mcgraph.domain.errors import UserError
from mcgraph.domain.runs import start_run
from mcgraph.domain.unit import Unit
from mcgraph.logs import get_logger

log = get_logger("mcgraph.schedules")


async def start_due_runs(unit: Unit) -> list[ProcessRun]:
    """Start the runs due now in the unit's organisation; returns the runs started."""
    scheduled = list(
        await unit.session.scalars(
            select(Process).where(
                Process.organization_id == unit.actor.organization_id,
                Process.status == ProcessStatus.PUBLISHED,
                Process.schedule_cron.is_not(None),
            )
        )
    )
    started: list[ProcessRun] = []
    for process in scheduled:
        schedule = parse_schedule(process.schedule_cron or "", process.schedule_timezone or "UTC")
        for slot in due_slots(schedule, process.last_slot_at, process.created_at, unit.now, MissedSlots(process.missed_slots)):
            try:
                async with unit.session.begin_nested():
                    started.append(await start_run(unit, process, trigger=RunTrigger.SCHEDULE, slot=slot))
            except IntegrityError:
                pass  # another scheduler started this slot first
            except UserError as error:
                log.warning("scheduled run refused", process=process.key, slot=slot.isoformat(), reason=str(error))
            # The slot is done either way; recorded without bumping the row's version.
            await unit.session.execute(update(Process.__table__).where(Process.__table__.c.id == process.id).values(last_slot_at=slot))
            set_committed_value(process, "last_slot_at", slot)
    return started
