"""Reading the agile tables, and the few task columns the sprints need.

Tasks are mcgraph's; they are read through a plain table description of the columns
used here, joined to this plugin's organisation-scoped rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.plugins.db import core

from mcgraph_agile.health_rules import SprintFigures
from mcgraph_agile.models import OPEN_STATES, SprintRow, SprintState, SprintTaskRow
from mcgraph_agile.sprint_math import Member, scope_added

TASK = core.task  # read only
TASK_LINE = (TASK.c.id, TASK.c.title, TASK.c.points, TASK.c.state, TASK.c.state_category)
DONE = "done"


@dataclass(frozen=True, slots=True)
class TaskLine:
    """A task as the agile views show it."""

    id: int
    title: str
    points: float | None
    state: str
    done: bool


@dataclass(frozen=True, slots=True)
class ProjectTask:
    """Where a task sits: its project (None for a process run's own task), and whether it is done."""

    id: int
    project_id: int | None
    done: bool


@dataclass(frozen=True, slots=True)
class SprintLine:
    """A task's stay in a sprint with the task's title and state."""

    member: Member
    task: TaskLine
    added_after_start: bool


def _task(row: sa.Row) -> TaskLine:
    return TaskLine(row.id, row.title, row.points, row.state, row.state_category == DONE)


async def task_of(session: AsyncSession, organization_id: int, task_id: int) -> ProjectTask | None:
    row = (
        await session.execute(
            sa.select(TASK.c.id, TASK.c.project_id, TASK.c.state_category).where(
                TASK.c.id == task_id, TASK.c.organization_id == organization_id
            )
        )
    ).first()
    return ProjectTask(row.id, row.project_id, row.state_category == DONE) if row else None


async def sprints_of(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[SprintRow]]:
    """Each project's sprints, by number."""
    rows = await session.scalars(
        sa.select(SprintRow).where(SprintRow.project_id.in_(project_ids)).order_by(SprintRow.project_id, SprintRow.number)
    )
    found: dict[int, list[SprintRow]] = defaultdict(list)
    for row in rows:
        found[row.project_id].append(row)
    return {pid: found.get(pid, []) for pid in project_ids}


async def active_sprint(session: AsyncSession, project_id: int) -> SprintRow | None:
    return await session.scalar(
        sa.select(SprintRow).where(SprintRow.project_id == project_id, SprintRow.state == SprintState.ACTIVE)
    )


async def lines_of(session: AsyncSession, sprint_ids: Sequence[int]) -> dict[int, list[SprintLine]]:
    """Every stay of a task in each of these sprints, removed ones included, oldest first."""
    query = (
        sa.select(SprintTaskRow, SprintRow.started_at, *TASK_LINE, TASK.c.completed_at)
        .join(SprintRow, SprintRow.id == SprintTaskRow.sprint_id)
        .join(TASK, TASK.c.id == SprintTaskRow.task_id)
        .where(SprintTaskRow.sprint_id.in_(list(sprint_ids)))
        .order_by(SprintTaskRow.added_at, SprintTaskRow.id)
    )
    found: dict[int, list[SprintLine]] = {sid: [] for sid in sprint_ids}
    for row in await session.execute(query):
        stay: SprintTaskRow = row[0]
        done = row.state_category == DONE
        member = Member(stay.task_id, stay.points, stay.added_at, stay.removed_at, row.completed_at if done else None)
        after_start = row.started_at is not None and stay.added_at > row.started_at
        found[stay.sprint_id].append(SprintLine(member, _task(row), after_start))
    return found


async def open_stays(session: AsyncSession, project_id: int, task_ids: Sequence[int]) -> dict[int, tuple[SprintTaskRow, SprintRow]]:
    """The current stays of these tasks in the project's open sprints, by task id."""
    rows = await session.execute(
        sa.select(SprintTaskRow, SprintRow)
        .join(SprintRow, SprintRow.id == SprintTaskRow.sprint_id)
        .where(
            SprintRow.project_id == project_id,
            SprintRow.state.in_(OPEN_STATES),
            SprintTaskRow.removed_at.is_(None),
            SprintTaskRow.task_id.in_(list(task_ids)),
        )
    )
    return {stay.task_id: (stay, sprint) for stay, sprint in rows}


async def backlogs(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[TaskLine]]:
    """Each project's tasks that are not done and not in an open sprint, in rank order."""
    in_open_sprint = (
        sa.select(SprintTaskRow.task_id)
        .join(SprintRow, SprintRow.id == SprintTaskRow.sprint_id)
        .where(SprintRow.state.in_(OPEN_STATES), SprintTaskRow.removed_at.is_(None))
    )
    rows = await session.execute(
        sa.select(TASK.c.project_id, *TASK_LINE)
        .where(TASK.c.project_id.in_(project_ids), TASK.c.state_category != DONE, TASK.c.id.not_in(in_open_sprint))
        .order_by(TASK.c.project_id, TASK.c.rank, TASK.c.id)
    )
    found: dict[int, list[TaskLine]] = {pid: [] for pid in project_ids}
    for row in rows:
        found[row.project_id].append(_task(row))
    return found


async def next_number(session: AsyncSession, project_id: int) -> int:
    top = await session.scalar(sa.select(sa.func.max(SprintRow.number)).where(SprintRow.project_id == project_id))
    return (top or 0) + 1



async def figures(session: AsyncSession, project_id: int) -> SprintFigures:
    """What the health rules read about a project's sprints."""
    sprints = (await sprints_of(session, [project_id]))[project_id]
    done = sorted((s for s in sprints if s.state is SprintState.COMPLETED), key=lambda s: (s.completed_at, s.number))
    completed = [(s.committed_points or 0.0, s.completed_points or 0.0) for s in done]
    active = next((s for s in sprints if s.state is SprintState.ACTIVE), None)
    if active is None:
        return SprintFigures(None, 0.0, completed)
    lines = (await lines_of(session, [active.id]))[active.id]
    return SprintFigures(active.committed_points, scope_added([line.member for line in lines], active.started_at), completed)
