"""Reading the phases of projects: their links, milestones and task counts.

Milestones and tasks are read from mcgraph's tables (``mcgraph.plugins.db.core``), in
one statement for all the projects asked about.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select

from mcgraph.plugins.db import core

from mcgraph_waterfall.models import PhaseLink

_milestone = core.milestone
_task = core.task


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    """A linked phase of a project, with its milestone and how many of its tasks are done."""

    phase: str
    milestone_id: int
    milestone_name: str
    milestone_due: date | None
    signed_off_at: datetime | None
    tasks_done: int
    tasks_total: int


async def links_of(session: Any, project_id: int) -> dict[str, int]:
    """Phase key -> the id of the milestone that closes it, for one project."""
    rows = await session.execute(select(PhaseLink.phase, PhaseLink.milestone_id).where(PhaseLink.project_id == project_id))
    return {phase: milestone_id for phase, milestone_id in rows}


async def link_of(session: Any, project_id: int, phase: str) -> PhaseLink | None:
    return (
        await session.execute(select(PhaseLink).where(PhaseLink.project_id == project_id, PhaseLink.phase == phase))
    ).scalar_one_or_none()


async def phase_of_milestone(session: Any, milestone_id: int) -> PhaseLink | None:
    """The link of the phase milestone ``milestone_id`` closes, if any."""
    return (await session.execute(select(PhaseLink).where(PhaseLink.milestone_id == milestone_id))).scalar_one_or_none()


async def phase_records(session: Any, project_ids: Sequence[int]) -> dict[int, dict[str, PhaseRecord]]:
    """For each project, its linked phases by key: three statements for any number of projects."""
    links = (
        await session.execute(
            select(PhaseLink.project_id, PhaseLink.phase, PhaseLink.milestone_id).where(
                PhaseLink.project_id.in_(list(project_ids))
            )
        )
    ).all()
    milestone_ids = [milestone_id for _, _, milestone_id in links]
    found: dict[int, dict[str, PhaseRecord]] = defaultdict(dict)
    if not milestone_ids:
        return found
    milestones = {
        row.id: row
        for row in await session.execute(
            select(_milestone.c.id, _milestone.c.name, _milestone.c.due_date, _milestone.c.signed_off_at).where(
                _milestone.c.id.in_(milestone_ids)
            )
        )
    }
    done = func.sum(case((_task.c.state_category == "done", 1), else_=0))
    counts = {
        milestone_id: (int(done_count or 0), int(total))
        for milestone_id, done_count, total in await session.execute(
            select(_task.c.milestone_id, done, func.count())
            .where(_task.c.milestone_id.in_(milestone_ids))
            .group_by(_task.c.milestone_id)
        )
    }
    for project_id, phase, milestone_id in links:
        milestone = milestones.get(milestone_id)
        if milestone is None:
            continue
        tasks_done, tasks_total = counts.get(milestone_id, (0, 0))
        found[project_id][phase] = PhaseRecord(
            phase=phase,
            milestone_id=milestone_id,
            milestone_name=milestone.name,
            milestone_due=milestone.due_date,
            signed_off_at=milestone.signed_off_at,
            tasks_done=tasks_done,
            tasks_total=tasks_total,
        )
    return found
