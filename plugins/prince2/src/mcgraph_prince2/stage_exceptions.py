"""Exceptions: a stage that exceeded a tolerance, raised once, then reported on.

Raising is idempotent: one ``prince2_exception`` row, and one ``prince2.exception_raised``
event, per project, stage and tolerance kind, however often the breach is observed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from mcgraph.plugins import PluginUnit

from mcgraph_prince2 import store
from mcgraph_prince2.models import StageException
from mcgraph_prince2.settings import Prince2Settings
from mcgraph_prince2.tolerances import report_due


def due(row: StageException, settings: Prince2Settings) -> datetime:
    """When the exception report on ``row`` is due."""
    return report_due(row.raised_at, settings.exception_report_days)


async def raise_exception(unit: PluginUnit, project_id: int, stage: str, kind: str, message: str) -> StageException | None:
    """Record that ``stage`` exceeded its ``kind`` tolerance; None when already recorded."""
    if await store.exception(unit.session, project_id, stage, kind) is not None:
        return None
    row = StageException(
        organization_id=unit.organization_id,
        project_id=project_id,
        stage=stage,
        kind=kind,
        message=message,
        raised_at=unit.now,
    )
    try:
        async with unit.session.begin_nested():
            unit.session.add(row)
            await unit.session.flush()
    except IntegrityError:
        return None  # another process raised it first
    settings = unit.settings(Prince2Settings)
    unit.record(
        "prince2.exception_raised",
        row,
        project_id=project_id,
        stage=stage,
        kind=kind,
        message=message,
        report_due=due(row, settings),
    )
    return row


async def report_exceptions(unit: PluginUnit, project_id: int, summary: str) -> list[StageException]:
    """Attach the exception report to every open exception of the project."""
    if not summary.strip():
        raise unit.refuse("summary", "Say what happened and what you propose: the summary is required.", "REQUIRED")
    rows = [row for row in await store.exceptions(unit.session, [project_id]) if row.reported_at is None]
    if not rows:
        raise unit.refuse("projectId", "No exception is waiting for a report on this project.", "INVALID")
    for row in rows:
        row.report = summary
        row.reported_at = unit.now
        row.reported_by_id = unit.actor_id
    await unit.session.flush()
    for row in rows:
        unit.record(
            "prince2.exception_reported", row, project_id=project_id, stage=row.stage, kind=row.kind, summary=summary
        )
    return rows


async def request_report(unit: PluginUnit, project_id: int) -> list[StageException]:
    """Mark the project's open exceptions as asked for a report (once each)."""
    rows = [
        row
        for row in await store.exceptions(unit.session, [project_id])
        if row.reported_at is None and row.requested_at is None
    ]
    for row in rows:
        row.requested_at = unit.now
    await unit.session.flush()
    for row in rows:
        unit.record("prince2.exception_report_requested", row, project_id=project_id, stage=row.stage, kind=row.kind)
    return rows
