"""GraphQL subscriptions: live status for dashboards.

Each subscription listens to its organisation's new events through the process's hub
(``mcgraph.events.hub``), keeps those it is about (``mcgraph.events.topics``) and
yields a small change object: the event, and the thing it changed read afresh.

``events(after:)`` first replays the log after the cursor, then goes on live: the
listener is registered before the replay starts and the live part skips every event
number the replay already sent, so nothing is missed or sent twice at the seam.

Between two results a subscription holds no database session (``OperationScope.reset``).
Results are shared: the WebSocket layer (``mcgraph.api.ws``) runs one subscription per
distinct document, variables, organisation and role, however many sockets asked for it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection

import strawberry

from mcgraph.api.events import read_cursor
from mcgraph.api.fields import subscription
from mcgraph.api.processes.types import Process, ProcessRun
from mcgraph.api.projects.collab_types import Event
from mcgraph.api.projects.types import Project, Task
from mcgraph.api.ids import pk_of
from mcgraph.db import models as m
from mcgraph.domain.errors import NotFound, SlowSubscriber
from mcgraph.domain.history import event_log
from mcgraph.domain.permissions import Action
from mcgraph.events import topics
from mcgraph.events.hub import Overflow

REPLAY_PAGE = 500


@strawberry.type(description="A change to a project, or to anything in it (tasks, milestones, comments, time, costs).")
class ProjectUpdate:
    event: Event
    project_id: strawberry.Private[int]

    @strawberry.field(description="The project as it is now.")
    async def project(self, info: strawberry.Info) -> Project | None:
        return await info.context.loaders.by_id(m.Project).load(self.project_id)


@strawberry.type(description="A change to a task.")
class TaskChange:
    event: Event
    task_id: strawberry.Private[int]

    @strawberry.field(description="The task as it is now; null once it is deleted.")
    async def task(self, info: strawberry.Info) -> Task | None:
        return await info.context.loaders.by_id(m.Task).load(self.task_id)


@strawberry.type(description="A change to a process run or to one of its tasks.")
class ProcessRunUpdate:
    event: Event
    run_id: strawberry.Private[int]

    @strawberry.field(description="The run as it is now.")
    async def run(self, info: strawberry.Info) -> ProcessRun | None:
        return await info.context.loaders.by_id(m.ProcessRun).load(self.run_id)


@strawberry.type(description="A change of health or status of a project or a process: what a portfolio dashboard shows.")
class PortfolioChange:
    event: Event

    @strawberry.field(description="The project it changed, as it is now; null when it is about a process.")
    async def project(self, info: strawberry.Info) -> Project | None:
        if self.event.subject_type != "project":
            return None
        return await info.context.loaders.by_id(m.Project).load(self.event.subject_id)

    @strawberry.field(description="The process it changed, as it is now; null when it is about a project.")
    async def process(self, info: strawberry.Info) -> Process | None:
        if self.event.subject_type != "process":
            return None
        return await info.context.loaders.by_id(m.Process).load(self.event.subject_id)


async def live(
    info: strawberry.Info,
    *,
    after: int | None = None,
    types: Collection[str] = (),
) -> AsyncGenerator[m.Event, None]:
    """The organisation's events from now on (or after its event number ``after``), in order.

    Sets ``context.live_cursor`` to each event's cursor (its number in the organisation's
    log) as it is yielded, and ends with SLOW_SUBSCRIBER (saying where to resume) when the
    subscriber falls too far behind.
    """
    context = info.context
    runtime = context.runtime
    organization_id = context.actor.organization_id
    async with runtime.hub.listen(organization_id, runtime.settings.subscription_buffer) as listener:
        last = listener.start_after if after is None else after
        if after is not None:
            # The replay reads in a transaction begun after the listener took its starting
            # point: on SQLite a read transaction opened before (checking the cursor, say)
            # keeps an older snapshot, and an event committed in between would be neither
            # replayed nor heard.
            await context.scope.reset()
            while True:
                async with context.read() as session:
                    page = list(await session.scalars(event_log(organization_id, after=last, types=()).limit(REPLAY_PAGE)))
                await context.scope.reset()
                for event in page:
                    last = event.org_seq
                    if topics.of_types(event, types):
                        context.live_cursor = event.org_seq
                        yield event
                        await context.scope.reset()
                if len(page) < REPLAY_PAGE:
                    break
        while True:
            await context.scope.reset()
            try:
                batch = await listener.next()
            except Overflow:
                raise SlowSubscriber(context.live_cursor) from None
            for event in batch:
                if event.org_seq <= last:
                    continue
                last = event.org_seq
                if topics.of_types(event, types):
                    context.live_cursor = event.org_seq
                    yield event
                    await context.scope.reset()


async def _load(info: strawberry.Info, model: type, pk: int) -> object | None:
    return await info.context.loaders.by_id(model).load(pk)


async def _existing(info: strawberry.Info, model: type, global_id: strawberry.ID, type_name: str, field: str) -> int:
    pk = pk_of(global_id, type_name, field=field)
    if await _load(info, model, pk) is None:
        raise NotFound(f"No {type_name} with id {global_id}.")
    return pk


@strawberry.type
class Subscription:
    @subscription(Action.PROJECT_READ, description="Every change to the project and to anything in it, as it happens.")
    async def project_updated(self, info: strawberry.Info, id: strawberry.ID) -> AsyncGenerator[ProjectUpdate, None]:
        project_id = await _existing(info, m.Project, id, "Project", "id")
        async for event in live(info):
            if topics.about_project(event, project_id):
                yield ProjectUpdate(event=event, project_id=project_id)

    @subscription(
        Action.PROJECT_READ,
        description=(
            "Changes to tasks: of a project, of a process run, of an assignee (also when a task "
            "is given to or taken from them), or, with no argument, of the whole organisation."
        ),
    )
    async def task_changed(
        self,
        info: strawberry.Info,
        project_id: strawberry.ID | None = None,
        process_run_id: strawberry.ID | None = None,
        assignee_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[TaskChange, None]:
        project = await _existing(info, m.Project, project_id, "Project", "projectId") if project_id else None
        run = await _existing(info, m.ProcessRun, process_run_id, "ProcessRun", "processRunId") if process_run_id else None
        assignee = pk_of(assignee_id, "User", field="assigneeId") if assignee_id else None
        async for event in live(info, types=("task.*",)):
            if project is not None and event.project_id != project:
                continue
            if run is not None or assignee is not None:
                task = await _load(info, m.Task, event.subject_id)
                if run is not None and not topics.about_run(event, run, getattr(task, "process_run_id", None)):
                    continue
                if assignee is not None and not topics.about_assignee(event, assignee, getattr(task, "assignee_id", None)):
                    continue
            yield TaskChange(event=event, task_id=event.subject_id)

    @subscription(Action.PROJECT_READ, description="Every change to a process run and to its tasks, as it happens.")
    async def process_run_updated(self, info: strawberry.Info, id: strawberry.ID) -> AsyncGenerator[ProcessRunUpdate, None]:
        run_id = await _existing(info, m.ProcessRun, id, "ProcessRun", "id")
        async for event in live(info):
            if event.subject_type not in ("process_run", "task"):
                continue
            task = await _load(info, m.Task, event.subject_id) if event.subject_type == "task" else None
            if topics.about_run(event, run_id, getattr(task, "process_run_id", None)):
                yield ProcessRunUpdate(event=event, run_id=run_id)

    @subscription(Action.PROJECT_READ, description="Health and status changes of the organisation's projects and processes.")
    async def portfolio_changed(self, info: strawberry.Info) -> AsyncGenerator[PortfolioChange, None]:
        async for event in live(info, types=topics.PORTFOLIO_TYPES):
            yield PortfolioChange(event=event)

    @subscription(
        Action.PROJECT_READ,
        description=(
            "The organisation's events as they happen. With `after` (an event's `cursor`), first every "
            "event after it from the log, then live ones: none missed, none twice. `types` keeps "
            "those types only (`task.*` names a family)."
        ),
    )
    async def events(
        self, info: strawberry.Info, after: str | None = None, types: list[str] | None = None
    ) -> AsyncGenerator[Event, None]:
        async for event in live(info, after=await read_cursor(info, after), types=types or ()):
            yield event
