"""Dashboard answers: who is working on what (workload) and how the portfolio is doing.

Both are computed in a fixed number of statements whatever the size of the
organisation: aggregates grouped in SQL, never a query per person or per project.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.models import Health, Membership, Process, ProcessStatus, Project, ProjectStatus, StateCategory, Task, TeamMember
from mcgraph.domain.errors import BadInput
from mcgraph.domain.measure import days_after
from mcgraph.domain.health_refresh import CLOSED, ProjectAssessment, assess_projects
from mcgraph.domain.process_metrics import ProcessHealthReport
from mcgraph.domain.process_reports import health_for
from mcgraph.plugins.manager import Plugins
from mcgraph.settings import Settings

DONE = StateCategory.DONE


@dataclass(frozen=True, slots=True)
class Workload:
    """One person's open work, and what of it is due in the period asked about."""

    user_id: int
    open_tasks: int = 0
    in_progress_tasks: int = 0
    blocked_tasks: int = 0
    overdue_tasks: int = 0
    estimate_hours_left: float = 0.0
    due_in_period: int = 0
    estimate_hours_due_in_period: float = 0.0
    capacity_hours: float = 0.0
    current_task_ids: tuple[int, ...] = ()

    @property
    def load(self) -> float | None:
        """Hours due in the period over the hours available in it (1.0 is fully booked)."""
        return self.estimate_hours_due_in_period / self.capacity_hours if self.capacity_hours else None


def working_days(start: date, end: date) -> int:
    """Monday to Friday days from ``start`` to ``end``, both included."""
    if end < start:
        return 0
    weeks, rest = divmod((end - start).days + 1, 7)  # counted, not walked: no day past ``end`` is made
    return weeks * 5 + sum((start.weekday() + offset) % 7 < 5 for offset in range(rest))


async def workload(
    session: AsyncSession,
    organization_id: int,
    *,
    team_id: int | None,
    start: date,
    end: date,
    today: date,
    hours_per_day: float,
) -> list[Workload]:
    """Per member of the organisation (or of one team), ordered by most hours due first."""
    people = select(Membership.user_id).where(Membership.organization_id == organization_id)
    if team_id is not None:
        people = select(TeamMember.user_id).where(TeamMember.organization_id == organization_id, TeamMember.team_id == team_id)
    user_ids = list(await session.scalars(people))
    if not user_ids:
        return []
    is_open = Task.state_category != DONE
    estimate = func.coalesce(Task.estimate_hours, 0.0)
    in_period = and_(is_open, Task.due_date >= start, Task.due_date <= end)
    stmt = (
        select(
            Task.assignee_id,
            func.count(),
            func.sum(case((Task.state_category == StateCategory.IN_PROGRESS, 1), else_=0)),
            func.sum(case((Task.state_category == StateCategory.BLOCKED, 1), else_=0)),
            func.sum(case((Task.due_date < today, 1), else_=0)),
            func.sum(estimate),
            func.sum(case((in_period, 1), else_=0)),
            func.sum(case((in_period, estimate), else_=0.0)),
        )
        .where(Task.organization_id == organization_id, Task.assignee_id.in_(user_ids), is_open)
        .group_by(Task.assignee_id)
    )
    sums = {row[0]: row[1:] for row in await session.execute(stmt)}
    current: dict[int, list[int]] = defaultdict(list)
    doing = (
        select(Task.assignee_id, Task.id)
        .where(Task.organization_id == organization_id, Task.assignee_id.in_(user_ids), Task.state_category == StateCategory.IN_PROGRESS)
        .order_by(Task.assignee_id, Task.due_date, Task.id)
    )
    for user_id, task_id in await session.execute(doing):
        current[user_id].append(task_id)
    capacity = working_days(start, end) * hours_per_day
    loads = []
    for user_id in user_ids:
        count, doing_n, blocked, overdue, left, due_n, due_hours = sums.get(user_id, (0, 0, 0, 0, 0.0, 0, 0.0))
        loads.append(
            Workload(
                user_id=user_id,
                open_tasks=count,
                in_progress_tasks=doing_n or 0,
                blocked_tasks=blocked or 0,
                overdue_tasks=overdue or 0,
                estimate_hours_left=float(left or 0),
                due_in_period=due_n or 0,
                estimate_hours_due_in_period=float(due_hours or 0),
                capacity_hours=capacity,
                current_task_ids=tuple(current[user_id]),
            )
        )
    return sorted(loads, key=lambda w: (-w.estimate_hours_due_in_period, -w.open_tasks, w.user_id))


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The organisation's open projects at a glance, health as shown (overrides included)."""

    by_health: dict[Health, int]
    by_status: dict[ProjectStatus, int]
    at_risk: list[Project] = field(default_factory=list)
    off_track: list[Project] = field(default_factory=list)
    overdue_tasks: int = 0
    projects_past_target_end: int = 0
    assessments: dict[int, ProjectAssessment] = field(default_factory=dict)
    process_by_health: dict[Health, int] = field(default_factory=dict)
    processes_at_risk: list[Process] = field(default_factory=list)
    processes_off_track: list[Process] = field(default_factory=list)
    process_reports: dict[int, ProcessHealthReport] = field(default_factory=dict)


async def portfolio(
    session: AsyncSession, plugins: Plugins, settings: Settings, organization_id: int, now: datetime
) -> Portfolio:
    today = now.date()
    projects = list(
        await session.scalars(
            select(Project).where(Project.organization_id == organization_id, Project.archived_at.is_(None)).order_by(Project.key)
        )
    )
    by_status = Counter(p.status for p in projects)
    active = [p for p in projects if p.status not in CLOSED]
    assessed = await assess_projects(session, plugins, settings, active, today)
    shown = {p.id: p.health_override or assessed[p.id].report.health for p in active}
    by_health = Counter(shown.values())
    published = list(
        await session.scalars(
            select(Process).where(Process.organization_id == organization_id, Process.status == ProcessStatus.PUBLISHED).order_by(Process.key)
        )
    )
    reports = await health_for(session, [p.id for p in published], now)
    process_health = Counter(r.health for r in reports.values())
    return Portfolio(
        by_health={h: by_health.get(h, 0) for h in Health},
        by_status={s: by_status.get(s, 0) for s in ProjectStatus},
        at_risk=[p for p in active if shown[p.id] == Health.AT_RISK],
        off_track=[p for p in active if shown[p.id] == Health.OFF_TRACK],
        overdue_tasks=sum(a.counts.overdue for a in assessed.values()),
        projects_past_target_end=sum(1 for p in active if p.target_end_date and p.target_end_date < today),
        assessments=assessed,
        process_by_health={h: process_health.get(h, 0) for h in Health},
        processes_at_risk=[p for p in published if reports[p.id].health == Health.AT_RISK],
        processes_off_track=[p for p in published if reports[p.id].health == Health.OFF_TRACK],
        process_reports=reports,
    )


MAX_PERIOD_DAYS = 366


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The period a workload is asked for: by default 14 days from today; at most a year."""
    start = start or today
    end = end or days_after(start, 13)
    if end < start or (end - start).days >= MAX_PERIOD_DAYS:
        raise BadInput(f"The period must run forwards and span at most {MAX_PERIOD_DAYS} days.")
    return start, end

