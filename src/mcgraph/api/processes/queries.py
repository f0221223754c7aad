"""Root query fields of processes and runs."""

from __future__ import annotations

import strawberry
from sqlalchemy import and_, or_, select

from mcgraph.api.fields import query
from mcgraph.api.processes.types import Process, ProcessRun, ProcessRunFilter, ProcessRunOrder
from mcgraph.api.ids import Connection, pk_of, window
from mcgraph.db import models as m
from mcgraph.db.models import ProcessStatus, RunState
from mcgraph.db.pagination import SortKey, paginate
from mcgraph.domain.errors import BadInput
from mcgraph.domain.identifiers import lookup_key
from mcgraph.domain.permissions import Action
from mcgraph.domain.queries import contains


@strawberry.input(description="Which processes to list.")
class ProcessFilter:
    statuses: list[ProcessStatus] | None = None
    owner_ids: list[strawberry.ID] | None = None
    trigger_events: list[str] | None = None
    scheduled: bool | None = strawberry.field(default=None, description="Has a schedule (true) or has none (false).")
    search: str | None = strawberry.field(default=None, description="Part of the key or the name.")


@strawberry.type
class ProcessesQuery:
    @query(Action.PROJECT_READ, description="The organisation's processes, by key.")
    async def processes(
        self,
        info: strawberry.Info,
        where: ProcessFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Process]:
        where = where or ProcessFilter()
        stmt = select(m.Process).where(m.Process.organization_id == info.context.actor.organization_id)
        if where.statuses:
            stmt = stmt.where(m.Process.status.in_(where.statuses))
        if where.owner_ids:
            stmt = stmt.where(m.Process.owner_id.in_([pk_of(i, "User") for i in where.owner_ids]))
        if where.trigger_events:
            stmt = stmt.where(m.Process.trigger_event.in_(where.trigger_events))
        if where.scheduled is not None:
            stmt = stmt.where(m.Process.schedule_cron.is_not(None) if where.scheduled else m.Process.schedule_cron.is_(None))
        if where.search and where.search.strip():
            pattern = contains(where.search.strip())
            stmt = stmt.where(or_(m.Process.key.ilike(pattern, escape="\\"), m.Process.name.ilike(pattern, escape="\\")))
        async with info.context.read() as session:
            page = await paginate(session, stmt, [SortKey(m.Process.key)], window(info, first, after, last, before))
        return Connection.of(page, info.context.scope)

    @query(Action.PROJECT_READ, description="One process, by global id or by key.")
    async def process(self, info: strawberry.Info, id: strawberry.ID | None = None, key: str | None = None) -> Process | None:
        if (id is None) == (key is None):
            raise BadInput("Give exactly one of `id` and `key`.")
        if id is not None:
            return await info.context.loaders.by_id(m.Process).load(pk_of(id, "Process"))
        async with info.context.read() as session:
            return await session.scalar(
                select(m.Process).where(m.Process.organization_id == info.context.actor.organization_id, m.Process.key == lookup_key(key))
            )

    @query(Action.PROJECT_READ, description="Runs of the organisation's processes, newest first by default.")
    async def process_runs(
        self,
        info: strawberry.Info,
        where: ProcessRunFilter | None = None,
        order_by: ProcessRunOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ProcessRun]:
        where = where or ProcessRunFilter()
        run = m.ProcessRun
        stmt = select(run).where(run.organization_id == info.context.actor.organization_id)
        if where.process_ids:
            stmt = stmt.where(run.process_id.in_([pk_of(i, "Process") for i in where.process_ids]))
        if where.project_ids:
            stmt = stmt.where(run.project_id.in_([pk_of(i, "Project") for i in where.project_ids]))
        if where.states:
            stmt = stmt.where(run.state.in_(where.states))
        if where.started_after:
            stmt = stmt.where(run.started_at >= where.started_after)
        if where.started_before:
            stmt = stmt.where(run.started_at < where.started_before)
        if where.trigger_events:
            stmt = stmt.where(run.trigger_event_name.in_(where.trigger_events))
        if where.overdue is not None:
            now = info.context.now
            late = or_(
                and_(run.state == RunState.RUNNING, run.due_at < now),
                and_(run.completed_at.is_not(None), run.completed_at > run.due_at),
            )
            stmt = stmt.where(late if where.overdue else ~late)
        descending = (order_by or ProcessRunOrder()).direction.descending
        async with info.context.read() as session:
            page = await paginate(session, stmt, [SortKey(run.started_at, descending)], window(info, first, after, last, before))
        return Connection.of(page, info.context.scope)
