"""GraphQL of the kanban plugin: ``Project.kanban`` (the board and its flow metrics) and ``setWipLimit``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.plugins.graphql import Action, BadInput, Payload, field, mutation, request

from mcgraph_kanban import flow, store, wip
from mcgraph_kanban.automation import WIP_LIMIT_CHANGED
from mcgraph_kanban.limits import limits_in_force
from mcgraph_kanban.methodology import KANBAN, KEY, STATE_KEYS, KanbanSettings

MAX_DAYS = 366


@strawberry.type(description="A state of a kanban board: its WIP limit (null: none) and the tasks in it.")
class KanbanWipLimit:
    state: str
    limit: int | None
    count: int


@strawberry.type(description="Durations of finished work, in hours.")
class KanbanFlowTime:
    average: float | None = strawberry.field(description="The mean, in hours; null when no task counts.")
    p85: float | None = strawberry.field(description="The 85th percentile (nearest rank), in hours.")
    count: int = strawberry.field(description="How many tasks count.")


@strawberry.type(description="How many tasks entered done on a day (UTC).")
class KanbanThroughputDay:
    date: date
    done: int


@strawberry.type(description="How many tasks a state held.")
class KanbanStateCount:
    state: str
    count: int


@strawberry.type(description="The tasks per state at the end of a day (UTC).")
class KanbanFlowDay:
    date: date
    counts: list[KanbanStateCount]


def _summary(summary: flow.Summary) -> KanbanFlowTime:
    rounded = (lambda v: None if v is None else round(v, 2))
    return KanbanFlowTime(average=rounded(summary.average), p85=rounded(summary.p85), count=summary.count)


def _window(days: int) -> None:
    """Refuse, as the client's error (BAD_USER_INPUT), a window that is empty or too long."""
    if not 1 <= days <= MAX_DAYS:
        raise BadInput(f"A window of {days} days is not from 1 to {MAX_DAYS} days.")


async def _moves(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[flow.Move]]:
    return await store.moves_of(session, list(project_ids))


@strawberry.type(description="The kanban board of a project: WIP limits and flow metrics, from its task history.")
class KanbanBoard:
    project_id: strawberry.Private[int]

    async def _history(self, info: strawberry.Info) -> list[flow.Move]:
        return await request(info).batch("kanban.moves", _moves).load(self.project_id)

    @field(Action.PROJECT_READ, description="Every state, in board order, with its WIP limit and current task count.")
    async def wip_limits(self, info: strawberry.Info) -> list[KanbanWipLimit]:
        req = request(info)
        settings = req.settings(KanbanSettings)

        async def load(session: AsyncSession, keys: Sequence[int]) -> dict[int, Any]:
            return await limits_in_force(session, list(keys), settings)

        limits = await req.batch("kanban.limits", load).load(self.project_id)
        statuses = wip.board(limits, wip.count_states(t.state for t in await req.tasks(self.project_id)))
        return [KanbanWipLimit(state=s.state, limit=s.limit, count=s.count) for s in statuses]

    @field(Action.PROJECT_READ, description="Hours from creation to done, of the tasks done.")
    async def lead_time(self, info: strawberry.Info) -> KanbanFlowTime:
        return _summary(flow.summarize(flow.lead_times(await self._history(info))))

    @field(Action.PROJECT_READ, description="Hours from the first start of work to done, of the tasks done.")
    async def cycle_time(self, info: strawberry.Info) -> KanbanFlowTime:
        return _summary(flow.summarize(flow.cycle_times(await self._history(info))))

    @field(Action.PROJECT_READ, description="Total hours tasks spent blocked, until now for tasks still blocked.")
    async def blocked_hours(self, info: strawberry.Info) -> float:
        return round(flow.blocked_hours(await self._history(info), request(info).now), 2)

    @field(Action.PROJECT_READ, description="Tasks done per day over the last `days` days, today included.")
    async def throughput(self, info: strawberry.Info, days: int = 14) -> list[KanbanThroughputDay]:
        _window(days)
        today = request(info).today
        rows = flow.throughput(await self._history(info), today - timedelta(days=days - 1), today)
        return [KanbanThroughputDay(date=day, done=done) for day, done in rows]

    @field(Action.PROJECT_READ, description="Tasks per state at the end of each day; by default the last 14 days.")
    async def cumulative_flow(
        self,
        info: strawberry.Info,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> list[KanbanFlowDay]:
        end = to or request(info).today
        start = from_ or end - timedelta(days=13)
        _window((end - start).days + 1)
        rows = flow.cumulative_flow(await self._history(info), start, end, STATE_KEYS)
        return [
            KanbanFlowDay(date=day, counts=[KanbanStateCount(state=s, count=n) for s, n in counts.items()])
            for day, counts in rows
        ]


@strawberry.type
class KanbanProjectFields:
    """Fields the kanban plugin adds to ``Project``; ``self`` is the project's ProjectInfo."""

    @field(Action.PROJECT_READ, description=f"The board of a {KANBAN.name} project; null for other methodologies.")
    def kanban(self) -> KanbanBoard | None:
        if getattr(self, "methodology", None) != KEY:
            return None
        return KanbanBoard(project_id=self.id)  # type: ignore[attr-defined]


@strawberry.input(description="A WIP limit of a state of a kanban project; limit null removes it (a default one too).")
class SetWipLimitInput:
    project_id: strawberry.ID
    state: str
    limit: int | None = None


@strawberry.type
class SetWipLimitPayload(Payload):
    wip_limit: KanbanWipLimit | None = None


@strawberry.type
class KanbanMutation:
    @mutation(Action.PROJECT_MANAGE, description="Set, change or remove the WIP limit of a state of a kanban project.")
    async def set_wip_limit(self, info: strawberry.Info, input: SetWipLimitInput) -> SetWipLimitPayload:
        req = request(info)
        project_id = req.pk(input.project_id, "Project", field="projectId")
        async with req.unit() as unit:
            project = await unit.project(project_id)
            if project.methodology != KEY:
                raise unit.refuse("projectId", f"Project {project.key} is not a kanban project.")
            problem = wip.check_limit(input.state, input.limit)
            if problem:
                raise unit.refuse(*problem)
            settings = unit.settings(KanbanSettings)
            before = (await limits_in_force(unit.session, [project.id], settings))[project.id].get(input.state)
            await store.set_limit(
                unit.session, organization_id=unit.organization_id, project_id=project.id,
                state=input.state, limit=input.limit, now=unit.now,
            )
            unit.record(WIP_LIMIT_CHANGED, project.id, project_id=project.id, state=input.state, limit=input.limit, before=before)
            await unit.refresh_health(project.id)
            count = sum(1 for t in await unit.tasks(project.id) if t.state == input.state)
        return SetWipLimitPayload(wip_limit=KanbanWipLimit(state=input.state, limit=input.limit, count=count))
