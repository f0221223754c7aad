"""Measuring projects: progress, overdue tasks, cost and the forecast end, for many
projects in a fixed number of statements (never one query per project).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Select, and_, bindparam, case, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from mcgraph.db.models import CostEntry, Dependency, Project, ProjectMember, StateCategory, Task, TimeEntry
from mcgraph.domain.health import ProjectFacts
from mcgraph.domain.schedule import Schedule, ScheduleLink, ScheduleTask, compute_schedule_off_loop, schedule_finish

DONE = StateCategory.DONE


@dataclass(frozen=True, slots=True)
class TaskCounts:
    total: int = 0
    done: int = 0
    open: int = 0
    overdue: int = 0
    estimate_total: float = 0.0
    estimate_done: float = 0.0

    @property
    def progress(self) -> float:
        """Done estimate over total estimate; done tasks over all tasks without estimates."""
        if self.estimate_total > 0:
            return self.estimate_done / self.estimate_total
        return self.done / self.total if self.total else 0.0


def _task_counts_statement() -> Select[Any]:
    child = aliased(Task, name="child")
    is_leaf = ~exists(select(child.id).where(child.parent_id == Task.id))
    is_done = Task.state_category == DONE
    estimate = func.coalesce(Task.estimate_hours, 0.0)
    return (
        select(
            Task.project_id,
            func.count(),
            func.sum(case((is_done, 1), else_=0)),
            func.sum(case((and_(~is_done, Task.due_date < bindparam("today")), 1), else_=0)),
            func.sum(estimate),
            func.sum(case((is_done, estimate), else_=0.0)),
        )
        .where(Task.project_id.in_(bindparam("project_ids", expanding=True)), is_leaf)
        .group_by(Task.project_id)
    )


def _costs_statement() -> Select[Any]:
    """Per project: its labour (time entries times the member's hourly rate) and its cost
    entries, as two sums in one statement (each NULL when there is nothing to sum)."""
    labour = (
        select(func.sum(cast(TimeEntry.minutes, Float) * cast(func.coalesce(ProjectMember.hourly_rate, 0), Float) / 60.0))
        .join(
            ProjectMember,
            and_(ProjectMember.project_id == TimeEntry.project_id, ProjectMember.user_id == TimeEntry.user_id),
        )
        .where(TimeEntry.project_id == Project.id)
        .scalar_subquery()
    )
    other = select(func.sum(CostEntry.amount)).where(CostEntry.project_id == Project.id).scalar_subquery()
    return select(Project.id, labour, other).where(Project.id.in_(bindparam("project_ids", expanding=True)))


# Built once, their values bound per call: building them took milliseconds, on every
# refresh of a project's health (each change to one of its tasks).
TASK_COUNTS = _task_counts_statement()
COSTS = _costs_statement()

# The forecast's tasks with the links that lead to each (a link between two tasks of the
# project, as the schedule keeps: found by its successor as well as by its predecessor),
# and what the task counts need, so that a project with a target end is measured in one
# statement instead of two.
FORECAST_ROWS = (
    select(
        Task.id, Task.project_id, Task.estimate_hours, Task.state_category, Task.parent_id, Task.due_date,
        Dependency.predecessor_id, Dependency.type, Dependency.lag_days,
    )
    .outerjoin(Dependency, Dependency.successor_id == Task.id)
    .where(Task.project_id.in_(bindparam("project_ids", expanding=True)))
)


async def task_counts(session: AsyncSession, project_ids: Sequence[int], today: date) -> dict[int, TaskCounts]:
    """Counts over each project's leaf tasks (a parent's estimate is its subtasks')."""
    counts: dict[int, TaskCounts] = {}
    rows = await session.execute(TASK_COUNTS, {"project_ids": list(project_ids), "today": today})
    for project_id, total, done, overdue, est_total, est_done in rows:
        counts[project_id] = TaskCounts(
            total=total, done=done or 0, open=total - (done or 0), overdue=overdue or 0,
            estimate_total=float(est_total or 0), estimate_done=float(est_done or 0),
        )
    return counts


async def actual_costs(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, Decimal]:
    """Time entries times the member's hourly rate, plus cost entries, per project (those with either)."""
    costs: dict[int, Decimal] = {}
    for project_id, labour, other in await session.execute(COSTS, {"project_ids": list(project_ids)}):
        if labour is None and other is None:
            continue
        total = Decimal(0)
        if labour is not None:
            total += Decimal(str(round(labour, 2)))
        if other is not None:
            total += Decimal(other)
        costs[project_id] = total
    return costs


async def schedule_links(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[ScheduleLink]]:
    """Each project's dependencies, as the critical path method takes them."""
    links: dict[int, list[ScheduleLink]] = defaultdict(list)
    rows = await session.execute(
        select(Task.project_id, Dependency.predecessor_id, Dependency.successor_id, Dependency.type, Dependency.lag_days)
        .join(Task, Task.id == Dependency.predecessor_id)
        .where(Task.project_id.in_(list(project_ids)))
    )
    for project_id, p, s, kind, lag in rows:
        links[project_id].append(ScheduleLink(p, s, kind, lag))
    return links


async def project_plans(
    session: AsyncSession, projects: Sequence[Project], today: date, hours_per_day: float
) -> dict[int, tuple[date, Schedule]]:
    """Each project's plan: its start (today when it has none) and the critical-path schedule
    of all its tasks by estimate, a task with a start date not starting before it."""
    ids = [p.id for p in projects]
    origins = {p.id: p.start_date or today for p in projects}
    tasks: dict[int, list[ScheduleTask]] = defaultdict(list)
    rows = await session.execute(
        select(Task.id, Task.project_id, Task.estimate_hours, Task.start_date).where(Task.project_id.in_(ids))
    )
    for task_id, project_id, hours, start in rows:
        not_before = max(0.0, float((start - origins[project_id]).days)) if start else 0.0
        tasks[project_id].append(ScheduleTask(task_id, (hours or 0.0) / hours_per_day, not_before))
    links = await schedule_links(session, ids)
    return {pid: (origins[pid], await compute_schedule_off_loop(tasks[pid], links[pid])) for pid in ids}


def days_after(origin: date, days: float) -> date:
    """``origin`` plus whole ``days``; a plan too long for the calendar ends on its last day (9999-12-31)."""
    try:
        return origin + timedelta(days=int(days))
    except OverflowError:
        return date.max if days > 0 else date.min


async def forecast_ends(
    session: AsyncSession, projects: Sequence[Project], today: date, hours_per_day: float
) -> tuple[dict[int, date], dict[int, TaskCounts]]:
    """When each project's remaining work ends, by the critical path of its open tasks;
    and, from the same rows, each project's task counts (as :func:`task_counts` makes them)."""
    ids = [p.id for p in projects]
    if not ids:
        return {}, {}
    tasks: dict[int, list[ScheduleTask]] = defaultdict(list)
    links: dict[int, list[ScheduleLink]] = defaultdict(list)
    facts: dict[int, list[tuple[int, float, bool, bool]]] = defaultdict(list)  # (task, estimate, done, overdue)
    parents: set[int] = set()
    open_projects: set[int] = set()
    seen: set[int] = set()
    # a task's row once per link that leads to it (or once, without one): one statement
    rows = await session.execute(FORECAST_ROWS, {"project_ids": ids})
    for task_id, project_id, hours, category, parent_id, due, predecessor, kind, lag in rows:
        if predecessor is not None:
            links[project_id].append(ScheduleLink(predecessor, task_id, kind, lag))
        if task_id in seen:
            continue
        seen.add(task_id)
        done = category == DONE
        if parent_id is not None:
            parents.add(parent_id)
        facts[project_id].append((task_id, float(hours or 0.0), done, not done and due is not None and due < today))
        if not done:
            open_projects.add(project_id)
        tasks[project_id].append(ScheduleTask(task_id, 0.0 if done else (hours or 0.0) / hours_per_day))
    ends: dict[int, date] = {}
    for project in projects:
        if project.id not in open_projects:
            continue
        finish = schedule_finish(tasks[project.id], links[project.id])
        origin = max(today, project.start_date) if project.start_date else today
        ends[project.id] = days_after(origin, math.ceil(finish - 1e-9))
    return ends, {project_id: _counts(measured, parents) for project_id, measured in facts.items()}


def _counts(tasks: list[tuple[int, float, bool, bool]], parents: set[int]) -> TaskCounts:
    """Counts over the leaf tasks (those no task names as its parent)."""
    leaves = [t for t in tasks if t[0] not in parents]
    done = sum(1 for t in leaves if t[2])
    return TaskCounts(
        total=len(leaves),
        done=done,
        open=len(leaves) - done,
        overdue=sum(1 for t in leaves if t[3]),
        estimate_total=sum(t[1] for t in leaves),
        estimate_done=sum(t[1] for t in leaves if t[2]),
    )


async def project_facts(
    session: AsyncSession, projects: Sequence[Project], today: date, hours_per_day: float
) -> dict[int, tuple[ProjectFacts, TaskCounts]]:
    ids = [p.id for p in projects]
    dated = [p for p in projects if p.target_end_date]
    forecasts, counts = await forecast_ends(session, dated, today, hours_per_day)
    undated = [p.id for p in projects if not p.target_end_date]
    if undated:
        counts.update(await task_counts(session, undated, today))
    costs = await actual_costs(session, ids)
    facts = {}
    for project in projects:
        c = counts.get(project.id, TaskCounts())
        facts[project.id] = (
            ProjectFacts(
                today=today,
                start_date=project.start_date,
                target_end_date=project.target_end_date,
                progress=c.progress,
                overdue_tasks=c.overdue,
                open_tasks=c.open,
                forecast_end_date=forecasts.get(project.id),
                planned_budget=project.planned_budget,
                actual_cost=costs.get(project.id, Decimal(0)),
            ),
            c,
        )
    return facts
