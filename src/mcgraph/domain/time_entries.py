"""Time spent on tasks: logged by the person who spent it, or for them by a manager.

Time counts in the project's actual cost at the member's hourly rate, so each change
refreshes the project's health.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.models import Membership, TimeEntry
from mcgraph.domain.errors import Problems, UserError, UserErrorCode
from mcgraph.domain.health_refresh import refresh_health
from mcgraph.domain.permissions import Action, can
from mcgraph.domain.tasks import get_task
from mcgraph.domain.unit import Unit, changed

MAX_MINUTES = 24 * 60
MAX_NOTE = 2_000
EDITABLE = {"minutes", "spent_on", "note"}


async def get_time_entry(unit: Unit, entry_id: int, field: str = "timeEntryId") -> TimeEntry:
    entry = await unit.session.get(TimeEntry, entry_id)
    if entry is None or entry.organization_id != unit.actor.organization_id:
        raise UserError.one(field, "No such time entry.", UserErrorCode.NOT_FOUND)
    return entry


async def log_time(
    unit: Unit, *, task_id: int, minutes: int, spent_on: date | None = None, note: str = "", user_id: int | None = None
) -> TimeEntry:
    """Log ``minutes`` spent on a task on ``spent_on`` (today when None), by the actor or,
    for managers, by ``user_id``."""
    task = await get_task(unit, task_id)
    problems = Problems()
    spent_on = spent_on or unit.today
    user_id = user_id or unit.actor.user_id
    if user_id != unit.actor.user_id:
        if not can(unit.actor, Action.PROJECT_MANAGE):
            problems.add("userId", "Only owners, admins and managers may log time for someone else.", UserErrorCode.FORBIDDEN)
        elif not await unit.session.scalar(
            select(Membership.id).where(Membership.organization_id == unit.actor.organization_id, Membership.user_id == user_id)
        ):
            problems.add("userId", "This user is not a member of the organisation.", UserErrorCode.NOT_A_MEMBER)
    _check(unit, problems, minutes=minutes, spent_on=spent_on, note=note)
    problems.raise_any()
    entry = TimeEntry(
        organization_id=task.organization_id,
        task_id=task.id,
        project_id=task.project_id,
        user_id=user_id,
        minutes=minutes,
        spent_on=spent_on,
        note=(note or "").strip(),
        created_at=unit.now,
    )
    unit.session.add(entry)
    await unit.session.flush()
    unit.record(
        "time.logged", entry, project_id=task.project_id, task_id=task.id, user_id=user_id, minutes=minutes, spent_on=spent_on
    )
    await _refresh(unit, entry)
    return entry


async def update_time_entry(unit: Unit, entry_id: int, fields: dict[str, Any]) -> TimeEntry:
    """Change the given fields (``minutes``, ``spent_on``, ``note``) of a time entry."""
    entry = await _own_entry(unit, entry_id, "change")
    values = {k: v for k, v in fields.items() if k in EDITABLE}
    if "note" in values:
        values["note"] = (values["note"] or "").strip()
    problems = Problems()
    merged = {name: values.get(name, getattr(entry, name)) for name in EDITABLE}
    _check(unit, problems, **merged)
    problems.raise_any()
    changes = changed(entry, **values)
    if changes:
        unit.record("time.updated", entry, project_id=entry.project_id, task_id=entry.task_id, user_id=entry.user_id, changes=changes)
        await _refresh(unit, entry)
    return entry


async def delete_time_entry(unit: Unit, entry_id: int) -> TimeEntry:
    entry = await _own_entry(unit, entry_id, "delete")
    unit.record(
        "time.deleted", entry, project_id=entry.project_id, task_id=entry.task_id, user_id=entry.user_id, minutes=entry.minutes
    )
    await unit.session.delete(entry)
    await _refresh(unit, entry)
    return entry


async def minutes_by_task(session: AsyncSession, task_ids: Sequence[int]) -> dict[int, int]:
    """The minutes logged on each task (tasks without time are left out)."""
    rows = await session.execute(
        select(TimeEntry.task_id, func.sum(TimeEntry.minutes)).where(TimeEntry.task_id.in_(list(task_ids))).group_by(TimeEntry.task_id)
    )
    return {task_id: int(total or 0) for task_id, total in rows}


async def _own_entry(unit: Unit, entry_id: int, verb: str) -> TimeEntry:
    """The entry, when the actor logged it for themselves or manages projects."""
    entry = await get_time_entry(unit, entry_id)
    if entry.user_id != unit.actor.user_id and not can(unit.actor, Action.PROJECT_MANAGE):
        raise UserError.one(
            "timeEntryId", f"Only the person it is for, or a project manager, may {verb} a time entry.", UserErrorCode.FORBIDDEN
        )
    return entry


def _check(unit: Unit, problems: Problems, *, minutes: int | None, spent_on: date | None, note: str | None) -> None:
    if minutes is None or not 0 < minutes <= MAX_MINUTES:
        problems.add("minutes", f"Log between 1 and {MAX_MINUTES} minutes (a day) per entry.", UserErrorCode.INVALID)
    if spent_on is None:
        problems.add("spentOn", "Say on which day the time was spent.", UserErrorCode.REQUIRED)
    elif spent_on > unit.today:
        problems.add("spentOn", f"{spent_on} is in the future; log time once it is spent (today is {unit.today}).", UserErrorCode.INVALID)
    if note is not None and len(note.strip()) > MAX_NOTE:
        problems.add("note", f"A note has at most {MAX_NOTE:,} characters.", UserErrorCode.TOO_LONG)


async def _refresh(unit: Unit, entry: TimeEntry) -> None:
    await unit.session.flush()
    if entry.project_id is not None:
        await refresh_health(unit, [entry.project_id])
