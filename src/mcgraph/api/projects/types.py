"""Object types of projects and tasks. Every relation goes through a dataloader."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import select

from mcgraph.api.common import OrderDirection
from mcgraph.api.projects import collab_types
from mcgraph.api.projects.collab_types import Comment, CostEntry, Event, TimeEntry
from mcgraph.api.projects.methodology import Methodology, Stage, TaskState
from mcgraph.api.fields import query
from mcgraph.api.limits import charge_computed, costs
from mcgraph.api.ids import Connection, Node, node_type, pk_of, window
from mcgraph.domain.permissions import Action
from mcgraph.api.tenancy.types import User
from mcgraph.db import models as m
from mcgraph.db.models import DependencyType, Health, Priority, ProjectStatus, StateCategory
from mcgraph.domain import queries
from mcgraph.domain.health_refresh import assess_projects
from mcgraph.domain.measure import actual_costs, days_after, project_plans
from mcgraph.domain.schedule import OFF_LOOP_TASKS

if TYPE_CHECKING:
    from mcgraph.api.processes.types import Process, ProcessRun

strawberry.enum(ProjectStatus, name="ProjectStatus", description="A project's lifecycle status.")
strawberry.enum(Health, name="Health", description="How a project or process is doing.")
strawberry.enum(Priority, name="Priority")
strawberry.enum(DependencyType, name="DependencyType", description="FS finish-to-start, SS start-to-start, FF finish-to-finish, SF start-to-finish.")
ProjectOrderField = strawberry.enum(queries.ProjectOrder, name="ProjectOrderField")
TaskOrderField = strawberry.enum(queries.TaskOrder, name="TaskOrderField")


def _methodology(info: strawberry.Info, key: str) -> Any:
    return info.context.runtime.plugins.methodology(key)


@strawberry.type(description="One reason for a health verdict, in words and numbers.")
class HealthReason:
    code: str
    health: Health
    message: str
    value: float
    threshold: float


@strawberry.type(description="A manager's override of the computed health, with their note.")
class HealthOverride:
    health: Health
    note: str
    at: datetime
    _by_id: strawberry.Private[int | None]

    @strawberry.field
    async def by(self, info: strawberry.Info) -> User | None:
        return await info.context.loaders.by_id(m.User).load(self._by_id) if self._by_id else None


SCHEDULE_COST = 100  # a critical-path computation, as much as a default page of tasks (see mcgraph.api.limits)


@strawberry.type(description="A project's health: the verdict shown, the computed one and why.")
class ProjectHealth:
    health: Health = strawberry.field(description="The override when there is one, else the computed health.")
    computed: Health
    reasons: list[HealthReason]
    override: HealthOverride | None


@strawberry.type(description="A task's place in the plan: earliest and latest dates, slack, criticality.")
class ScheduledTask:
    earliest_start: date
    earliest_finish: date
    latest_start: date
    latest_finish: date
    earliest_start_day: float = strawberry.field(description="Days from the schedule's start.")
    earliest_finish_day: float
    latest_start_day: float
    latest_finish_day: float
    slack_days: float
    critical: bool
    _task_id: strawberry.Private[int]

    @strawberry.field
    async def task(self, info: strawberry.Info) -> Task:
        return await info.context.loaders.by_id(m.Task).load(self._task_id)


@strawberry.type(description="The project's plan by the critical path method, for a Gantt view.")
class ProjectSchedule:
    start: date
    finish: date
    duration_days: float
    tasks: list[ScheduledTask]
    _critical: strawberry.Private[list[int]]

    @strawberry.field(description="The chain of critical tasks from start to finish.")
    async def critical_path(self, info: strawberry.Info) -> list[Task]:
        charge_computed(info, len(self._critical), "The critical path")
        return await info.context.loaders.by_id(m.Task).load_many(self._critical)


@node_type(m.ProjectMember, description="A person on a project, with their project role and hourly rate.")
class ProjectMember(Node):
    role: str
    hourly_rate: Decimal | None

    @strawberry.field
    async def user(self, root: strawberry.Parent[m.ProjectMember], info: strawberry.Info) -> User:
        return await info.context.loaders.by_id(m.User).load(root.user_id)


@node_type(m.Milestone, description="A checkpoint of a project, with a due date and a sign-off.")
class Milestone(Node):
    name: str
    due_date: date | None
    done: bool
    signed_off_at: datetime | None
    version: int

    @strawberry.field
    async def signed_off_by(self, root: strawberry.Parent[m.Milestone], info: strawberry.Info) -> User | None:
        return await info.context.loaders.by_id(m.User).load(root.signed_off_by_id) if root.signed_off_by_id else None


@node_type(m.Dependency, description="The successor task depends on the predecessor task.")
class Dependency(Node):
    type: DependencyType
    lag_days: float

    @strawberry.field
    async def predecessor(self, root: strawberry.Parent[m.Dependency], info: strawberry.Info) -> Task:
        return await info.context.loaders.by_id(m.Task).load(root.predecessor_id)

    @strawberry.field
    async def successor(self, root: strawberry.Parent[m.Dependency], info: strawberry.Info) -> Task:
        return await info.context.loaders.by_id(m.Task).load(root.successor_id)


@strawberry.input(description="Which tasks to list. Conditions combine with AND.")
class TaskFilter:
    project_ids: list[strawberry.ID] | None = None
    assignee_ids: list[strawberry.ID] | None = None
    unassigned: bool = False
    categories: list[StateCategory] | None = None
    states: list[str] | None = None
    overdue: bool | None = strawberry.field(default=None, description="Open and past the due date.")
    due_after: date | None = None
    due_before: date | None = None
    labels: list[str] | None = strawberry.field(default=None, description="Any of these labels.")
    milestone_ids: list[strawberry.ID] | None = None
    top_level_only: bool = strawberry.field(default=False, description="Leave out subtasks.")
    search: str | None = strawberry.field(default=None, description="Part of the title.")

    def to_query(self, **extra: Any) -> queries.TaskQuery:
        return queries.TaskQuery(
            project_ids=[pk_of(i, "Project") for i in self.project_ids or ()],
            assignee_ids=[pk_of(i, "User") for i in self.assignee_ids or ()],
            unassigned=self.unassigned,
            categories=self.categories or (),
            states=self.states or (),
            overdue=self.overdue,
            due_after=self.due_after,
            due_before=self.due_before,
            labels=self.labels or (),
            milestone_ids=[pk_of(i, "Milestone") for i in self.milestone_ids or ()],
            top_level_only=self.top_level_only,
            search=self.search,
            **extra,
        )


@strawberry.input
class TaskOrder:
    field: queries.TaskOrder = queries.TaskOrder.RANK
    direction: OrderDirection = OrderDirection.ASC


def _task_args_key(where: TaskFilter | None, order: TaskOrder | None) -> tuple[Any, ...]:
    return (repr(where), repr(order))


@node_type(m.Task, description="A unit of work in a project (or a process run).")
class Task(Node):
    title: str
    description: str
    priority: Priority
    estimate_hours: float | None
    points: float | None
    start_date: date | None
    due_date: date | None
    completed_at: datetime | None
    rank: str = strawberry.field(description="Sorts the task in its list; compare as strings.")
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Project key and number, e.g. WEB-12.")
    async def key(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> str:
        if root.project_id is None:
            return f"#{root.key_number}"
        project = await info.context.loaders.by_id(m.Project).load(root.project_id)
        return f"{project.key}-{root.key_number}"

    @strawberry.field(description="The task's state in its methodology.")
    async def state(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> TaskState:
        declared = None
        if root.project_id is not None:
            project = await info.context.loaders.by_id(m.Project).load(root.project_id)
            methodology = _methodology(info, project.methodology)
            declared = methodology.state(root.state) if methodology else None
        name = declared.name if declared else root.state.replace("_", " ").capitalize()
        return TaskState(key=root.state, name=name, category=root.state_category)

    @strawberry.field
    def category(self, root: strawberry.Parent[m.Task]) -> StateCategory:
        return root.state_category

    @strawberry.field(description="Open and past its due date.")
    def is_overdue(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> bool:
        return bool(root.due_date and root.state_category != StateCategory.DONE and root.due_date < info.context.today)

    @strawberry.field
    async def assignee(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> User | None:
        return await info.context.loaders.by_id(m.User).load(root.assignee_id) if root.assignee_id else None

    @strawberry.field
    async def project(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> Project | None:
        return await info.context.loaders.by_id(m.Project).load(root.project_id) if root.project_id else None

    @strawberry.field
    async def parent(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> Task | None:
        return await info.context.loaders.by_id(m.Task).load(root.parent_id) if root.parent_id else None

    @strawberry.field
    async def milestone(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> Milestone | None:
        return await info.context.loaders.by_id(m.Milestone).load(root.milestone_id) if root.milestone_id else None

    @strawberry.field
    async def labels(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> list[str]:
        return sorted(label.name for label in await info.context.loaders.children(m.TaskLabel.task_id).load(root.id))

    @strawberry.field(description="The process run this task is a step of, if any.")
    async def process_run(
        self, root: strawberry.Parent[m.Task], info: strawberry.Info
    ) -> Annotated[ProcessRun, strawberry.lazy("mcgraph.api.processes.types")] | None:
        return await info.context.loaders.by_id(m.ProcessRun).load(root.process_run_id) if root.process_run_id else None

    @strawberry.field
    async def subtasks(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> list[Task]:
        return sorted(await info.context.loaders.children(m.Task.parent_id).load(root.id), key=lambda t: t.rank)

    @strawberry.field(description="What this task waits for.")
    async def predecessors(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> list[Dependency]:
        return await info.context.loaders.children(m.Dependency.successor_id).load(root.id)

    @strawberry.field(description="What waits for this task.")
    async def successors(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> list[Dependency]:
        return await info.context.loaders.children(m.Dependency.predecessor_id).load(root.id)

    @query(Action.PROJECT_READ, description="Comments on the task, oldest first.")
    async def comments(
        self, root: strawberry.Parent[m.Task], info: strawberry.Info,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Comment]:
        return await collab_types.comments(info, "task", root.organization_id, root.id, (first, after, last, before))

    @query(Action.PROJECT_READ, description="Time logged on the task, latest day first.")
    async def time_entries(
        self, root: strawberry.Parent[m.Task], info: strawberry.Info,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[TimeEntry]:
        return await collab_types.time_entries(info, "task", root.organization_id, root.id, (first, after, last, before))

    @strawberry.field(description="Minutes logged on the task, by everyone.")
    async def time_spent_minutes(self, root: strawberry.Parent[m.Task], info: strawberry.Info) -> int:
        return await collab_types.time_spent(info, root.id)

    @query(Action.PROJECT_READ, description="What happened to the task, newest first; `types` keeps only those event types.")
    async def history(
        self, root: strawberry.Parent[m.Task], info: strawberry.Info, types: list[str] | None = None,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Event]:
        return await collab_types.events(info, "task", root.organization_id, root.id, types, (first, after, last, before))


async def _assessments(info: strawberry.Info, session: Any, ids: Any) -> dict[int, Any]:
    projects = list(await session.scalars(select(m.Project).where(m.Project.id.in_(list(ids)))))
    runtime = info.context.runtime
    return await assess_projects(session, runtime.plugins, runtime.settings, projects, info.context.today)


def assessment_loader(info: strawberry.Info) -> Any:
    """Each project's health assessment, computed for all projects of the operation at once."""
    return info.context.loaders.batch("assessment", lambda session, ids: _assessments(info, session, ids))


async def _schedules(info: strawberry.Info, session: Any, ids: Any) -> dict[int, ProjectSchedule]:
    projects = list(await session.scalars(select(m.Project).where(m.Project.id.in_(list(ids)))))
    plans = await project_plans(session, projects, info.context.today, info.context.runtime.settings.hours_per_day)
    return {pid: await _schedule_type_off_loop(origin, plan) for pid, (origin, plan) in plans.items()}


async def _schedule_type_off_loop(origin: date, plan: Any) -> ProjectSchedule:
    """A large plan's answer is built in a worker thread, as its schedule was computed."""
    if len(plan.times) < OFF_LOOP_TASKS:
        return _schedule_type(origin, plan)
    return await asyncio.to_thread(_schedule_type, origin, plan)


def _schedule_type(origin: date, plan: Any) -> ProjectSchedule:
    def day(offset: float) -> date:
        return days_after(origin, offset + 1e-9)

    return ProjectSchedule(
        start=origin,
        finish=day(plan.finish),
        duration_days=plan.finish,
        tasks=[
            ScheduledTask(
                earliest_start=day(t.earliest_start),
                earliest_finish=day(t.earliest_finish),
                latest_start=day(t.latest_start),
                latest_finish=day(t.latest_finish),
                earliest_start_day=t.earliest_start,
                earliest_finish_day=t.earliest_finish,
                latest_start_day=t.latest_start,
                latest_finish_day=t.latest_finish,
                slack_days=t.slack,
                critical=t.critical,
                _task_id=t.id,
            )
            for t in sorted(plan.times.values(), key=lambda t: (t.earliest_start, t.id))
        ],
        _critical=plan.critical_path,
    )


@node_type(m.Project, description="A temporary endeavour: a goal, dates, a plan, a budget and a team.")
class Project(Node):
    key: str
    name: str
    objective: str
    scope: str
    status: ProjectStatus
    start_date: date | None
    target_end_date: date | None
    actual_end_date: date | None
    planned_budget: Decimal | None
    archived_at: datetime | None
    version: int = strawberry.field(description="Pass as expectedVersion to update without losing a concurrent change.")
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def methodology(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> Methodology | None:
        found = _methodology(info, root.methodology)
        return Methodology.of(found) if found else None

    @strawberry.field
    def stage(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> Stage:
        found = _methodology(info, root.methodology)
        stage = found.stage(root.stage) if found else None
        return Stage(key=root.stage, name=stage.name if stage else root.stage, gated=bool(stage and stage.gated), description=stage.description if stage else "")

    @strawberry.field(description="The process this project was planned from, if any.")
    async def source_process(
        self, root: strawberry.Parent[m.Project], info: strawberry.Info
    ) -> Annotated[Process, strawberry.lazy("mcgraph.api.processes.types")] | None:
        return await info.context.loaders.by_id(m.Process).load(root.source_process_id) if root.source_process_id else None

    @strawberry.field(description="Processes made from this project.")
    async def derived_processes(
        self, root: strawberry.Parent[m.Project], info: strawberry.Info
    ) -> list[Annotated[Process, strawberry.lazy("mcgraph.api.processes.types")]]:
        return await info.context.loaders.children(m.Process.source_project_id).load(root.id)

    @strawberry.field
    async def manager(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> User | None:
        return await info.context.loaders.by_id(m.User).load(root.manager_id) if root.manager_id else None

    @strawberry.field
    async def members(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> list[ProjectMember]:
        return await info.context.loaders.children(m.ProjectMember.project_id).load(root.id)

    @strawberry.field
    async def labels(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> list[str]:
        return sorted(label.name for label in await info.context.loaders.children(m.ProjectLabel.project_id).load(root.id))

    @strawberry.field
    async def milestones(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> list[Milestone]:
        rows = await info.context.loaders.children(m.Milestone.project_id).load(root.id)
        return sorted(rows, key=lambda r: (r.due_date is None, r.due_date or date.min, r.id))

    @strawberry.field(description="Done estimate over total estimate (done tasks over all tasks without estimates), 0 to 1.")
    async def progress(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> float:
        return (await assessment_loader(info).load(root.id)).progress

    @strawberry.field(description="Computed afresh from tasks, dates and costs, with the reasons.")
    async def health(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> ProjectHealth:
        report = (await assessment_loader(info).load(root.id)).report
        override = None
        if root.health_override is not None:
            override = HealthOverride(
                health=root.health_override, note=root.health_override_note or "", at=root.health_override_at, _by_id=root.health_override_by_id
            )
        return ProjectHealth(
            health=root.health_override or report.health,
            computed=report.health,
            reasons=[HealthReason(code=r.code, health=r.health, message=r.message, value=r.value, threshold=r.threshold) for r in report.reasons],
            override=override,
        )

    @strawberry.field(description="Time entries at the members' rates plus cost entries.")
    async def actual_cost(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> Decimal:
        costs = info.context.loaders.batch("actual_cost", lambda s, ids: actual_costs(s, list(ids)))
        return (await costs.load(root.id)) or Decimal("0")

    @strawberry.field(description="Cost entries besides the members' time, by the day they were incurred.")
    async def cost_entries(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> list[CostEntry]:
        return await collab_types.cost_entries(info, root.id)

    @query(Action.PROJECT_READ, description="Comments on the project itself (task comments are on each task), oldest first.")
    async def comments(
        self, root: strawberry.Parent[m.Project], info: strawberry.Info,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Comment]:
        return await collab_types.comments(info, "project", root.organization_id, root.id, (first, after, last, before))

    @query(Action.PROJECT_READ, description="Time logged on the project's tasks, latest day first.")
    async def time_entries(
        self, root: strawberry.Parent[m.Project], info: strawberry.Info,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[TimeEntry]:
        return await collab_types.time_entries(info, "project", root.organization_id, root.id, (first, after, last, before))

    @query(Action.PROJECT_READ, description="What happened in the project and its tasks, newest first; `types` keeps only those event types.")
    async def history(
        self, root: strawberry.Parent[m.Project], info: strawberry.Info, types: list[str] | None = None,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Event]:
        return await collab_types.events(info, "project", root.organization_id, root.id, types, (first, after, last, before))

    @strawberry.field(
        description="The plan by the critical path method over dependencies and estimates. Costs 100, and its task count again when it runs.",
        metadata=costs(SCHEDULE_COST),
    )
    async def schedule(self, root: strawberry.Parent[m.Project], info: strawberry.Info) -> ProjectSchedule:
        # computed once per operation (the loader keeps it), charged each time it is asked for
        schedule = await info.context.loaders.batch("schedule", lambda s, ids: _schedules(info, s, ids)).load(root.id)
        charge_computed(info, len(schedule.tasks), "The schedule")
        return schedule

    @query(Action.PROJECT_READ, description="The project's tasks: filter, order and page them.")
    async def tasks(
        self,
        root: strawberry.Parent[m.Project],
        info: strawberry.Info,
        where: TaskFilter | None = None,
        order_by: TaskOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Task]:
        order = order_by or TaskOrder()
        query = (where or TaskFilter()).to_query()
        stmt = queries.task_select(root.organization_id, query, info.context.today)
        keys = queries.task_order(order.field, order.direction.descending)
        win = window(info, first, after, last, before)
        loader = info.context.loaders.pages(("project.tasks", _task_args_key(where, order), win), stmt, m.Task.project_id, keys, win)
        return Connection.of(await loader.load(root.id), info.context.scope)
