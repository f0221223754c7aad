"""Object types of processes, their versions, steps and runs."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON

from mcgraph.api.common import OrderDirection
from mcgraph.api.projects.types import Project, Task
from mcgraph.api.fields import query
from mcgraph.api.limits import costs
from mcgraph.api.ids import Connection, Node, node_type, window
from mcgraph.api.tenancy.types import Team, User
from mcgraph.domain.permissions import Action
from mcgraph.db import models as m
from mcgraph.db.models import Assignment, Health, ProcessStatus, RejectAction, RunState, RunTrigger, StepOutcome
from mcgraph.db.pagination import SortKey
from mcgraph.domain import process_reports
from mcgraph.domain import processes as process_rules
from mcgraph.domain.cron import describe, next_slots, parse_schedule
from mcgraph.domain.errors import BadInput
from mcgraph.domain.runs import waits_for_keys

strawberry.enum(ProcessStatus, name="ProcessStatus")
strawberry.enum(RunState, name="RunState")
strawberry.enum(RunTrigger, name="RunTrigger", description="What started a run.")
strawberry.enum(Assignment, name="Assignment", description="Who does a step.")
strawberry.enum(StepOutcome, name="StepOutcome")
strawberry.enum(RejectAction, name="RejectAction", description="What a rejected approval does to its run.")


async def _user(info: strawberry.Info, user_id: int | None) -> Any:
    return await info.context.loaders.by_id(m.User).load(user_id) if user_id else None


async def _steps_of(info: strawberry.Info, version_id: int) -> list[m.ProcessStep]:
    rows = await info.context.loaders.children(m.ProcessStep.version_id).load(version_id)
    return sorted(rows, key=lambda s: s.position)


@node_type(m.ProcessStep, description="A documented step of a process version: what to do, who does it, when.")
class ProcessStep(Node):
    key: str = strawberry.field(description="Names the step across versions.")
    position: int
    name: str
    instructions: str = strawberry.field(description="Markdown: the documentation that makes the step repeatable.")
    assignment: Assignment
    assignee_role: m.Role | None
    payload_path: str | None = strawberry.field(description="With PAYLOAD: the payload field holding the e-mail of who does it.")
    offset_hours: float = strawberry.field(description="When the step is due to start, in hours after the run starts.")
    duration_hours: float = strawberry.field(description="How long the step is expected to take.")
    approval: bool
    on_reject: RejectAction
    reject_to: str | None
    required: bool

    @strawberry.field
    async def assignee(self, root: strawberry.Parent[m.ProcessStep], info: strawberry.Info) -> User | None:
        return await _user(info, root.assignee_id)

    @strawberry.field(description="The keys of the steps this one waits for (by default the previous one).")
    async def waits_for(self, root: strawberry.Parent[m.ProcessStep], info: strawberry.Info) -> list[str]:
        steps = await _steps_of(info, root.version_id)
        return waits_for_keys(root, steps, root.position)


@strawberry.type(description="A step added, removed or changed between two versions.")
class StepChange:
    key: str
    name: str
    changed_fields: list[str]


@strawberry.type(description="What changed between two versions of a process.")
class VersionDiff:
    from_number: int | None
    to_number: int
    added: list[StepChange]
    removed: list[StepChange]
    changed: list[StepChange]


def _change(change: process_rules.StepChange) -> StepChange:
    camel = [name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:]) for name in change.changed_fields]
    return StepChange(key=change.key, name=change.name, changed_fields=camel)


@node_type(m.ProcessVersion, description="A version of a process's steps: a draft, or published and frozen.")
class ProcessVersion(Node):
    number: int
    published_at: datetime | None
    note: str
    created_at: datetime

    @strawberry.field
    def is_draft(self, root: strawberry.Parent[m.ProcessVersion]) -> bool:
        return root.published_at is None

    @strawberry.field
    async def published_by(self, root: strawberry.Parent[m.ProcessVersion], info: strawberry.Info) -> User | None:
        return await _user(info, root.published_by_id)

    @strawberry.field
    async def steps(self, root: strawberry.Parent[m.ProcessVersion], info: strawberry.Info) -> list[ProcessStep]:
        return await _steps_of(info, root.id)

    @query(Action.PROJECT_READ, description="What changed since version `since` (by default the version before this one).")
    async def diff(self, root: strawberry.Parent[m.ProcessVersion], info: strawberry.Info, since: int | None = None) -> VersionDiff:
        versions = await info.context.loaders.children(m.ProcessVersion.process_id).load(root.process_id)
        number = since if since is not None else root.number - 1
        older = next((v for v in versions if v.number == number), None)
        old_steps = await _steps_of(info, older.id) if older else []
        diff = process_rules.diff_steps(old_steps, await _steps_of(info, root.id))
        return VersionDiff(
            from_number=older.number if older else None,
            to_number=root.number,
            added=[_change(c) for c in diff.added],
            removed=[_change(c) for c in diff.removed],
            changed=[_change(c) for c in diff.changed],
        )


@node_type(m.RunStep, description="A step of one run: its task, and when it became ready, started and finished.")
class RunStep(Node):
    step_key: str
    ready_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    due_at: datetime | None
    outcome: StepOutcome | None
    comment: str | None
    rounds: int = strawberry.field(description="How many times the step was done: more than 1 after a rejection sent the run back.")

    @strawberry.field
    async def step(self, root: strawberry.Parent[m.RunStep], info: strawberry.Info) -> ProcessStep:
        return await info.context.loaders.by_id(m.ProcessStep).load(root.step_id)

    @strawberry.field
    async def task(self, root: strawberry.Parent[m.RunStep], info: strawberry.Info) -> Task | None:
        return await info.context.loaders.by_id(m.Task).load(root.task_id) if root.task_id else None

    @strawberry.field
    async def decided_by(self, root: strawberry.Parent[m.RunStep], info: strawberry.Info) -> User | None:
        return await _user(info, root.decided_by_id)


@node_type(m.ProcessRun, description="One execution of a published process version.")
class ProcessRun(Node):
    number: int
    name: str
    state: RunState
    input: JSON = strawberry.field(description="The payload the run was started with.")
    trigger: RunTrigger
    trigger_event_name: str | None
    schedule_slot: datetime | None
    started_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    outcome_note: str | None
    version: int

    @strawberry.field
    def is_overdue(self, root: strawberry.Parent[m.ProcessRun], info: strawberry.Info) -> bool:
        end = root.completed_at or info.context.now
        return bool(root.due_at and end > root.due_at)

    @strawberry.field
    async def process(self, root: strawberry.Parent[m.ProcessRun], info: strawberry.Info) -> Process:
        return await info.context.loaders.by_id(m.Process).load(root.process_id)

    @strawberry.field(name="processVersion")
    async def process_version(self, root: strawberry.Parent[m.ProcessRun], info: strawberry.Info) -> ProcessVersion:
        return await info.context.loaders.by_id(m.ProcessVersion).load(root.version_id)

    @strawberry.field
    async def project(self, root: strawberry.Parent[m.ProcessRun], info: strawberry.Info) -> Project | None:
        return await info.context.loaders.by_id(m.Project).load(root.project_id) if root.project_id else None

    @strawberry.field
    async def started_by(self, root: strawberry.Parent[m.ProcessRun], info: strawberry.Info) -> User | None:
        return await _user(info, root.started_by_id)

    @strawberry.field
    async def steps(self, root: strawberry.Parent[m.ProcessRun], info: strawberry.Info) -> list[RunStep]:
        rows = await info.context.loaders.children(m.RunStep.run_id).load(root.id)
        return sorted(rows, key=lambda s: s.id)

    @strawberry.field
    async def tasks(self, root: strawberry.Parent[m.ProcessRun], info: strawberry.Info) -> list[Task]:
        rows = await info.context.loaders.children(m.Task.process_run_id).load(root.id)
        return sorted(rows, key=lambda t: t.rank)


@strawberry.input(description="Which runs to list. Conditions combine with AND; lists mean any of.")
class ProcessRunFilter:
    process_ids: list[strawberry.ID] | None = None
    states: list[RunState] | None = None
    overdue: bool | None = strawberry.field(default=None, description="Running past its due time, or finished after it.")
    started_after: datetime | None = None
    started_before: datetime | None = None
    trigger_events: list[str] | None = strawberry.field(default=None, description="Started by one of these event names.")
    project_ids: list[strawberry.ID] | None = None


@strawberry.input
class ProcessRunOrder:
    direction: OrderDirection = OrderDirection.DESC


@strawberry.type(description="When a process runs by itself.")
class ProcessSchedule:
    cron: str
    timezone: str
    missed_slots: str = strawberry.field(description="run_once: slots missed while down start one run; skip: they are skipped.")
    description: str
    last_slot_at: datetime | None

    _cron: strawberry.Private[Any]

    @query(Action.PROJECT_READ, description="The next times it will start a run.")
    def next_runs(self, info: strawberry.Info, count: int = 5) -> list[datetime]:
        return next_slots(self._cron, info.context.now, max(1, min(count, 50)))


@strawberry.enum
class TrendBucket(enum.Enum):
    WEEK = "week"
    MONTH = "month"


@node_type(m.Process, description="An ongoing process: documented steps that run again and again.")
class Process(Node):
    key: str
    name: str
    purpose: str
    status: ProcessStatus
    run_name_template: str
    trigger_event: str | None = strawberry.field(description="The event name that starts a run, e.g. employee.hired.")
    payload_schema: JSON | None = strawberry.field(description="JSON Schema the trigger's payload must satisfy.")
    version: int = strawberry.field(description="The row's version, for expectedVersion (not a process version number).")
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    async def owner(self, root: strawberry.Parent[m.Process], info: strawberry.Info) -> User | None:
        return await _user(info, root.owner_id)

    @strawberry.field
    async def team(self, root: strawberry.Parent[m.Process], info: strawberry.Info) -> Team | None:
        return await info.context.loaders.by_id(m.Team).load(root.team_id) if root.team_id else None

    @strawberry.field
    def schedule(self, root: strawberry.Parent[m.Process]) -> ProcessSchedule | None:
        if not root.schedule_cron:
            return None
        cron = parse_schedule(root.schedule_cron, root.schedule_timezone or "UTC")
        return ProcessSchedule(
            cron=cron.expression, timezone=cron.timezone, missed_slots=root.missed_slots, description=describe(cron),
            last_slot_at=root.last_slot_at, _cron=cron,
        )

    @strawberry.field(description="Every version, newest first.")
    async def versions(self, root: strawberry.Parent[m.Process], info: strawberry.Info) -> list[ProcessVersion]:
        rows = await info.context.loaders.children(m.ProcessVersion.process_id).load(root.id)
        return sorted(rows, key=lambda v: -v.number)

    @strawberry.field(description="The newest published version: the one new runs use.")
    async def current_version(self, root: strawberry.Parent[m.Process], info: strawberry.Info) -> ProcessVersion | None:
        rows = await info.context.loaders.children(m.ProcessVersion.process_id).load(root.id)
        published = [v for v in rows if v.published_at is not None]
        return max(published, key=lambda v: v.number) if published else None

    @strawberry.field(description="The version being edited, if any.")
    async def draft(self, root: strawberry.Parent[m.Process], info: strawberry.Info) -> ProcessVersion | None:
        rows = await info.context.loaders.children(m.ProcessVersion.process_id).load(root.id)
        return next((v for v in rows if v.published_at is None), None)

    @strawberry.field
    async def source_project(self, root: strawberry.Parent[m.Process], info: strawberry.Info) -> Project | None:
        return await info.context.loaders.by_id(m.Project).load(root.source_project_id) if root.source_project_id else None

    @query(Action.PROJECT_READ, description="Where time goes: runs, cycle time, on-time rate, per step, the bottleneck, a trend.", metadata=costs(100))
    async def metrics(
        self,
        root: strawberry.Parent[m.Process],
        info: strawberry.Info,
        since: datetime | None = None,
        until: datetime | None = None,
        version: Annotated[int | None, strawberry.argument(description="Only runs of this version number.")] = None,
        bucket: TrendBucket = TrendBucket.WEEK,
    ) -> ProcessMetrics:
        return await _metrics(root, info, since, until, version, bucket)

    @strawberry.field
    async def health(self, root: strawberry.Parent[m.Process], info: strawberry.Info) -> ProcessHealth:
        return health_type(await process_health_loader(info).load(root.id))

    @strawberry.field(description="Projects started from this process.")
    async def derived_projects(self, root: strawberry.Parent[m.Process], info: strawberry.Info) -> list[Project]:
        return await info.context.loaders.children(m.Project.source_process_id).load(root.id)

    @query(Action.PROJECT_READ, description="The process's runs, newest first.")
    async def runs(
        self,
        root: strawberry.Parent[m.Process],
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ProcessRun]:
        stmt = select(m.ProcessRun).where(m.ProcessRun.organization_id == root.organization_id)
        win = window(info, first, after, last, before)
        loader = info.context.loaders.pages(("process.runs", win), stmt, m.ProcessRun.process_id, [SortKey(m.ProcessRun.started_at, True)], win)
        return Connection.of(await loader.load(root.id), info.context.scope)


@strawberry.type(description="One step's figures over the period.")
class StepMetrics:
    step_key: str
    step_name: str
    runs: int = strawberry.field(description="Runs in which the step finished.")
    median_duration_hours: float | None
    median_wait_hours: float | None = strawberry.field(description="From ready to started.")
    late_share: float | None = strawberry.field(description="Share finished after the step's due time.")
    rejection_rate: float | None = strawberry.field(description="Approval steps: rejected over decided.")


@strawberry.type(description="The step where the most time goes, with its numbers.")
class Bottleneck:
    step_key: str
    step_name: str
    median_duration_hours: float
    median_wait_hours: float | None
    share_of_cycle_time: float
    message: str


@strawberry.type
class TrendPoint:
    period_start: date
    runs_started: int
    runs_completed: int
    median_cycle_time_hours: float | None
    on_time_rate: float | None


@strawberry.type(description="Where time goes in a process, over a period (see docs for every definition).")
class ProcessMetrics:
    period_start: datetime
    period_end: datetime
    runs_started: int
    runs_completed: int
    runs_cancelled: int
    runs_failed: int
    runs_running: int
    median_cycle_time_hours: float | None
    p90_cycle_time_hours: float | None
    on_time_rate: float | None
    steps: list[StepMetrics]
    bottleneck: Bottleneck | None
    trend: list[TrendPoint]


@strawberry.type
class ProcessHealthReason:
    code: str
    health: Health
    message: str
    value: float
    threshold: float


@strawberry.type(description="How a process is doing, from its on-time rate and trend over the last 90 days.")
class ProcessHealth:
    health: Health
    reasons: list[ProcessHealthReason]


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 3600


def metrics_type(m: Any) -> ProcessMetrics:
    return ProcessMetrics(
        period_start=m.period_start,
        period_end=m.period_end,
        runs_started=m.runs_started,
        runs_completed=m.runs_completed,
        runs_cancelled=m.runs_cancelled,
        runs_failed=m.runs_failed,
        runs_running=m.runs_running,
        median_cycle_time_hours=_hours(m.median_cycle_time),
        p90_cycle_time_hours=_hours(m.p90_cycle_time),
        on_time_rate=m.on_time_rate,
        steps=[
            StepMetrics(
                step_key=s.step_key, step_name=s.step_name, runs=s.runs, median_duration_hours=_hours(s.median_duration),
                median_wait_hours=_hours(s.median_wait), late_share=s.late_share, rejection_rate=s.rejection_rate,
            )
            for s in m.steps
        ],
        bottleneck=Bottleneck(
            step_key=m.bottleneck.step_key, step_name=m.bottleneck.step_name,
            median_duration_hours=_hours(m.bottleneck.median_duration) or 0.0,
            median_wait_hours=_hours(m.bottleneck.median_wait), share_of_cycle_time=m.bottleneck.share_of_cycle_time,
            message=m.bottleneck.message,
        ) if m.bottleneck else None,
        trend=[
            TrendPoint(
                period_start=t.period_start, runs_started=t.runs_started, runs_completed=t.runs_completed,
                median_cycle_time_hours=_hours(t.median_cycle_time), on_time_rate=t.on_time_rate,
            )
            for t in m.trend
        ],
    )


def health_type(report: Any) -> ProcessHealth:
    return ProcessHealth(
        health=report.health,
        reasons=[ProcessHealthReason(code=r.code, health=r.health, message=r.message, value=r.value, threshold=r.threshold) for r in report.reasons],
    )


def process_health_loader(info: strawberry.Info) -> Any:
    now = info.context.now
    return info.context.loaders.batch("process.health", lambda session, ids: process_reports.health_for(session, list(ids), now))


async def _metrics(root: m.Process, info: strawberry.Info, since: datetime | None, until: datetime | None, version: int | None, bucket: TrendBucket) -> ProcessMetrics:
    until = until or info.context.now
    since = since or until - process_reports.HEALTH_WINDOW
    if since >= until:
        raise BadInput("`since` must be before `until`.")
    if until - since > timedelta(days=3 * 366):
        raise BadInput("A metrics period spans at most three years.")
    key = ("process.metrics", since, until, version, bucket)
    loader = info.context.loaders.batch(
        key, lambda session, ids: process_reports.metrics_for(session, list(ids), since=since, until=until, bucket=bucket.value, version=version)
    )
    return metrics_type(await loader.load(root.id))

