"""Process metrics and health from the recorded runs, for many processes at once.

Loads the run and step records of a period in two statements, then hands them to the
rules of :mod:`mcgraph.domain.process_metrics`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.models import ProcessRun, ProcessStep, ProcessVersion, RunStep
from mcgraph.domain.process_metrics import (
    ProcessHealthReport,
    ProcessMetrics,
    RunRecord,
    StepRecord,
    assess_process,
    compute_metrics,
)

HEALTH_WINDOW = timedelta(days=90)
INSTANT = timedelta(microseconds=1)
"""The smallest step of a stored time: a period ending ``INSTANT`` after a moment holds it."""


async def metrics_for(
    session: AsyncSession,
    process_ids: Sequence[int],
    *,
    since: datetime,
    until: datetime,
    bucket: Literal["week", "month"] = "week",
    version: int | None = None,
) -> dict[int, ProcessMetrics]:
    """Each process's metrics over [since, until)."""
    rows = await session.execute(
        select(ProcessRun, ProcessVersion.number)
        .join(ProcessVersion, ProcessVersion.id == ProcessRun.version_id)
        .where(
            ProcessRun.process_id.in_(list(process_ids)),
            ProcessRun.started_at < until,
            or_(ProcessRun.completed_at.is_(None), ProcessRun.completed_at >= since),
        )
    )
    runs: dict[int, list[RunRecord]] = defaultdict(list)
    process_of: dict[int, int] = {}
    for run, number in rows:
        process_of[run.id] = run.process_id
        runs[run.process_id].append(
            RunRecord(run.id, number, run.state.value, run.started_at, run.due_at, run.completed_at)
        )
    steps: dict[int, list[StepRecord]] = defaultdict(list)
    if process_of:
        step_rows = await session.execute(
            select(RunStep, ProcessStep.name, ProcessStep.position)
            .join(ProcessStep, ProcessStep.id == RunStep.step_id)
            .where(RunStep.run_id.in_(list(process_of)))
        )
        for step, name, position in step_rows:
            steps[process_of[step.run_id]].append(
                StepRecord(
                    step.run_id, step.step_key, name, position, step.ready_at, step.started_at, step.finished_at,
                    step.due_at, step.outcome.value if step.outcome else None, step.rejections,
                )
            )
    return {
        pid: compute_metrics(runs[pid], steps[pid], period_start=since, period_end=until, bucket=bucket, version=version)
        for pid in process_ids
    }


async def health_for(session: AsyncSession, process_ids: Sequence[int], now: datetime) -> dict[int, ProcessHealthReport]:
    """Each process's health from its runs of the last 90 days, ``now`` included.

    A run that ends at ``now`` counts: the change that ends it stores the health at that
    very instant (:mod:`mcgraph.domain.process_health`), and must see it.
    """
    metrics = await metrics_for(session, process_ids, since=now - HEALTH_WINDOW, until=now + INSTANT)
    return {pid: assess_process(m) for pid, m in metrics.items()}
