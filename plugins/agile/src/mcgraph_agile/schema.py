"""GraphQL types of the agile plugin and the fields it adds to ``Project``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.plugins.graphql import Action, Node, field, global_id, node_type, request

from mcgraph_agile import store
from mcgraph_agile.methodology import KEY
from mcgraph_agile.models import SprintRow, SprintState
from mcgraph_agile.sprint_math import burndown, committed_points, scope_added, velocity

strawberry.enum(SprintState, name="SprintState", description="Where a sprint is in its life.")


@strawberry.type(description="A task in a sprint, sized as the sprint counts it.")
class SprintItem:
    task_id: strawberry.ID = strawberry.field(description="The task's global id.")
    title: str
    points: float = strawberry.field(description="Its points when it joined the sprint (or when the sprint started).")
    state: str = strawberry.field(description="The task's state key now.")
    done: bool
    added_at: datetime
    added_after_start: bool = strawberry.field(description="Added after the sprint started: scope creep.")


@strawberry.type(description="A task of the product backlog: not done, in no planned or active sprint.")
class BacklogItem:
    task_id: strawberry.ID = strawberry.field(description="The task's global id.")
    title: str
    points: float | None
    state: str


@strawberry.type(description="One day of a sprint's burndown.")
class BurndownDay:
    date: date
    remaining_points: float | None = strawberry.field(
        description="Points of the sprint's tasks not done by the end of the day; null for days to come."
    )
    ideal_points: float = strawberry.field(description="The straight line from the committed points to 0.")


async def _load_lines(session: AsyncSession, sprint_ids: Sequence[int]) -> dict[int, list[store.SprintLine]]:
    return await store.lines_of(session, sprint_ids)


async def _lines(info: strawberry.Info, sprint_id: int) -> list[store.SprintLine]:
    return await request(info).batch("agile.sprint_lines", _load_lines).load(sprint_id)


@node_type(SprintRow, description="A time-box of an agile project: the tasks it commits to and how they burn down.")
class Sprint(Node):
    number: int
    name: str
    goal: str
    start_date: date
    end_date: date
    state: SprintState
    committed_points: float | None = strawberry.field(description="The points of its tasks when it started.")
    completed_points: float | None = strawberry.field(description="The points of its done tasks when it completed.")
    started_at: datetime | None
    completed_at: datetime | None

    @field(Action.PROJECT_READ, description="Points of the tasks added after the start that are still in it.")
    async def scope_added_points(self, info: strawberry.Info) -> float:
        row: Any = self
        return scope_added([line.member for line in await _lines(info, row.id)], row.started_at)

    @field(Action.PROJECT_READ, description="The tasks in the sprint now, in the order they joined it.")
    async def tasks(self, info: strawberry.Info) -> list[SprintItem]:
        row: Any = self
        return [
            SprintItem(
                task_id=global_id("Task", line.task.id),
                title=line.task.title,
                points=line.member.points,
                state=line.task.state,
                done=line.task.done,
                added_at=line.member.added_at,
                added_after_start=line.added_after_start,
            )
            for line in await _lines(info, row.id)
            if line.member.current
        ]

    @field(Action.PROJECT_READ, description="Each day from the start date to the end date: points left and the ideal line.")
    async def burndown(self, info: strawberry.Info) -> list[BurndownDay]:
        row: Any = self
        members = [line.member for line in await _lines(info, row.id)]
        committed = row.committed_points if row.committed_points is not None else committed_points(members)
        as_of = row.completed_at.date() if row.completed_at else request(info).today
        return [
            BurndownDay(date=p.day, remaining_points=p.remaining, ideal_points=round(p.ideal, 4))
            for p in burndown(members, row.start_date, row.end_date, committed, as_of)
        ]


@strawberry.type(description="How many points a team completes per sprint.")
class Velocity:
    average: float | None = strawberry.field(description="The average completed points; null before any sprint completed.")
    completed_points: list[float] = strawberry.field(description="The completed points of the sprints averaged, oldest first.")
    sprints: list[Sprint] = strawberry.field(description="The sprints averaged, oldest first.")


async def _load_sprints(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[SprintRow]]:
    return await store.sprints_of(session, project_ids)


async def _load_backlogs(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[store.TaskLine]]:
    return await store.backlogs(session, project_ids)


async def _sprints(info: strawberry.Info, project_id: int) -> list[SprintRow]:
    return await request(info).batch("agile.sprints", _load_sprints).load(project_id)


@strawberry.type
class AgileProjectFields:
    """Fields of ``Project``; ``self`` is the project's snapshot. Null for other methodologies."""

    @field(Action.PROJECT_READ, description="Agile projects: the sprints, by number.")
    async def sprints(self, info: strawberry.Info) -> list[Sprint] | None:
        project: Any = self
        return await _sprints(info, project.id) if project.methodology == KEY else None

    @field(Action.PROJECT_READ, description="Agile projects: the sprint under way, if any.")
    async def active_sprint(self, info: strawberry.Info) -> Sprint | None:
        project: Any = self
        if project.methodology != KEY:
            return None
        return next((s for s in await _sprints(info, project.id) if s.state is SprintState.ACTIVE), None)

    @field(Action.PROJECT_READ, description="Agile projects: the average completed points of the last `last` completed sprints.")
    async def velocity(self, info: strawberry.Info, last: int = 3) -> Velocity | None:
        project: Any = self
        if project.methodology != KEY:
            return None
        done = sorted(
            (s for s in await _sprints(info, project.id) if s.state is SprintState.COMPLETED),
            key=lambda s: (s.completed_at, s.number),
        )
        result = velocity([s.completed_points or 0.0 for s in done], max(last, 0))
        return Velocity(average=result.average, completed_points=result.completed, sprints=done[len(done) - len(result.completed) :])

    @field(Action.PROJECT_READ, description="Agile projects: tasks not done and in no planned or active sprint, by rank.")
    async def backlog(self, info: strawberry.Info) -> list[BacklogItem] | None:
        project: Any = self
        if project.methodology != KEY:
            return None
        lines = await request(info).batch("agile.backlog", _load_backlogs).load(project.id)
        return [BacklogItem(task_id=global_id("Task", t.id), title=t.title, points=t.points, state=t.state) for t in lines]
