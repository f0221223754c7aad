"""Dashboard queries: ``workload`` (who is working on what) and ``portfolio``."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry

from mcgraph.api.fields import query
from mcgraph.api.limits import costs
from mcgraph.api.processes.types import process_health_loader
from mcgraph.api.projects.types import Project, Task, assessment_loader
from mcgraph.api.ids import pk_of
from mcgraph.api.tenancy.types import User
from mcgraph.db import models as m
from mcgraph.db.models import Health, ProjectStatus
from mcgraph.domain import portfolio
from mcgraph.domain.permissions import Action

if TYPE_CHECKING:
    from mcgraph.api.processes.types import Process



@strawberry.type(description="One person's open work, and how much of it falls due in the period.")
class WorkloadEntry:
    open_tasks: int
    in_progress_tasks: int
    blocked_tasks: int
    overdue_tasks: int
    estimate_hours_left: float
    due_in_period: int
    estimate_hours_due_in_period: float
    capacity_hours: float = strawberry.field(description="Working days (Mon-Fri) in the period times hours per day.")
    load: float | None = strawberry.field(description="Hours due in the period over capacity; 1.0 is fully booked.")
    _user_id: strawberry.Private[int]
    _current: strawberry.Private[tuple[int, ...]]

    @strawberry.field
    async def user(self, info: strawberry.Info) -> User:
        return await info.context.loaders.by_id(m.User).load(self._user_id)

    @strawberry.field(description="What they are working on right now: their tasks in progress.")
    async def current_tasks(self, info: strawberry.Info) -> list[Task]:
        return await info.context.loaders.by_id(m.Task).load_many(list(self._current))


@strawberry.type
class Workload:
    start: date
    end: date
    entries: list[WorkloadEntry]


@strawberry.type
class HealthCount:
    health: Health
    count: int


@strawberry.type
class StatusCount:
    status: ProjectStatus
    count: int


@strawberry.type(description="The organisation's projects at a glance; health as shown, overrides included.")
class Portfolio:
    by_health: list[HealthCount]
    by_status: list[StatusCount]
    at_risk: list[Project] = strawberry.field(description="Open projects shown AT_RISK; their `health` gives the reasons.")
    off_track: list[Project]
    overdue_tasks: int
    projects_past_target_end: int
    process_health: list[HealthCount] = strawberry.field(description="Published processes by health.")
    processes_at_risk: list[Annotated[Process, strawberry.lazy("mcgraph.api.processes.types")]]
    processes_off_track: list[Annotated[Process, strawberry.lazy("mcgraph.api.processes.types")]]


@strawberry.type
class DashboardQuery:
    @query(Action.PROJECT_READ, description="Open work per member of the organisation, or of one team, for a period.", metadata=costs(100))
    async def workload(
        self,
        info: strawberry.Info,
        team_id: strawberry.ID | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> Workload:
        today = info.context.today
        first, last = portfolio.period(start, end, today)
        team_pk = pk_of(team_id, "Team") if team_id else None
        async with info.context.read() as session:
            loads = await portfolio.workload(
                session,
                info.context.actor.organization_id,
                team_id=team_pk,
                start=first,
                end=last,
                today=today,
                hours_per_day=info.context.runtime.settings.hours_per_day,
            )
        return Workload(
            start=first,
            end=last,
            entries=[
                WorkloadEntry(
                    open_tasks=w.open_tasks,
                    in_progress_tasks=w.in_progress_tasks,
                    blocked_tasks=w.blocked_tasks,
                    overdue_tasks=w.overdue_tasks,
                    estimate_hours_left=w.estimate_hours_left,
                    due_in_period=w.due_in_period,
                    estimate_hours_due_in_period=w.estimate_hours_due_in_period,
                    capacity_hours=w.capacity_hours,
                    load=w.load,
                    _user_id=w.user_id,
                    _current=w.current_task_ids,
                )
                for w in loads
            ],
        )

    @query(Action.PROJECT_READ, description="Counts by health and status, the projects at risk and off track, overdue totals.", metadata=costs(100))
    async def portfolio(self, info: strawberry.Info) -> Portfolio:
        runtime = info.context.runtime
        async with info.context.read() as session:
            result = await portfolio.portfolio(
                session, runtime.plugins, runtime.settings, info.context.actor.organization_id, info.context.now
            )
        loader = assessment_loader(info)
        for project_id, assessment in result.assessments.items():
            loader.prime(project_id, assessment)
        health = process_health_loader(info)
        for process_id, report in result.process_reports.items():
            health.prime(process_id, report)
        return Portfolio(
            by_health=[HealthCount(health=h, count=n) for h, n in result.by_health.items()],
            by_status=[StatusCount(status=s, count=n) for s, n in result.by_status.items()],
            at_risk=result.at_risk,
            off_track=result.off_track,
            overdue_tasks=result.overdue_tasks,
            projects_past_target_end=result.projects_past_target_end,
            process_health=[HealthCount(health=h, count=n) for h, n in result.process_by_health.items()],
            processes_at_risk=result.processes_at_risk,
            processes_off_track=result.processes_off_track,
        )
