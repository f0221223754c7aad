"""Root query fields of projects and tasks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import strawberry

from mcgraph.api.common import OrderDirection
from mcgraph.api.fields import query
from mcgraph.api.projects.methodology import Methodology
from mcgraph.api.projects.types import Project, ProjectOrderField, Task, TaskFilter, TaskOrder
from mcgraph.api.ids import Connection, pk_of, window
from mcgraph.db import models as m
from mcgraph.db.models import Health, ProjectStatus
from mcgraph.db.pagination import paginate
from mcgraph.domain import queries
from mcgraph.domain.errors import BadInput
from mcgraph.domain.identifiers import lookup_key
from mcgraph.domain.permissions import Action


@strawberry.input(description="Which projects to list. Conditions combine with AND; lists mean any of.")
class ProjectFilter:
    statuses: list[ProjectStatus] | None = None
    healths: list[Health] | None = strawberry.field(
        default=None, description="The health shown: the override if any, else the computed health of the last refresh."
    )
    manager_ids: list[strawberry.ID] | None = None
    member_ids: list[strawberry.ID] | None = None
    labels: list[str] | None = None
    methodologies: list[str] | None = None
    starts_on_or_after: date | None = None
    ends_on_or_before: date | None = None
    ends_on_or_after: date | None = None
    search: str | None = strawberry.field(default=None, description="Part of the key or the name.")
    include_archived: bool = False

    def to_query(self) -> queries.ProjectQuery:
        return queries.ProjectQuery(
            statuses=self.statuses or (),
            healths=self.healths or (),
            manager_ids=[pk_of(i, "User") for i in self.manager_ids or ()],
            member_ids=[pk_of(i, "User") for i in self.member_ids or ()],
            labels=self.labels or (),
            methodologies=self.methodologies or (),
            starts_after=self.starts_on_or_after,
            ends_before=self.ends_on_or_before,
            ends_after=self.ends_on_or_after,
            search=self.search,
            include_archived=self.include_archived,
        )


@strawberry.input
class ProjectOrder:
    field: queries.ProjectOrder = queries.ProjectOrder.DUE_DATE
    direction: OrderDirection = OrderDirection.ASC


@strawberry.type
class ProjectsQuery:
    @query(Action.PROJECT_READ, description="The organisation's projects.")
    async def projects(
        self,
        info: strawberry.Info,
        where: ProjectFilter | None = None,
        order_by: ProjectOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Project]:
        order = order_by or ProjectOrder()
        stmt = queries.project_select(info.context.actor.organization_id, (where or ProjectFilter()).to_query())
        keys = queries.project_order(order.field, order.direction.descending)
        async with info.context.read() as session:
            page = await paginate(session, stmt, keys, window(info, first, after, last, before))
        return Connection.of(page, info.context.scope)

    @query(Action.PROJECT_READ, description="One project, by global id or by key (e.g. WEB).")
    async def project(self, info: strawberry.Info, id: strawberry.ID | None = None, key: str | None = None) -> Project | None:
        if (id is None) == (key is None):
            raise BadInput("Give exactly one of `id` and `key`.")
        if id is not None:
            return await info.context.loaders.by_id(m.Project).load(pk_of(id, "Project"))
        async with info.context.read() as session:
            return await session.scalar(
                queries.project_select(info.context.actor.organization_id, queries.ProjectQuery(include_archived=True)).where(
                    m.Project.key == lookup_key(key)
                )
            )

    @query(Action.PROJECT_READ, description="Tasks across the organisation's projects.")
    async def tasks(
        self,
        info: strawberry.Info,
        where: TaskFilter | None = None,
        order_by: TaskOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Task]:
        return await _task_page(info, (where or TaskFilter()).to_query(), order_by, first, after, last, before)

    @query(Action.PROJECT_READ, description="The viewer's own tasks; open ones unless `where` says otherwise.")
    async def my_tasks(
        self,
        info: strawberry.Info,
        where: TaskFilter | None = None,
        order_by: TaskOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Task]:
        base = where or TaskFilter(categories=[c for c in m.StateCategory if c is not m.StateCategory.DONE])
        mine = replace(base.to_query(), assignee_ids=[info.context.actor.user_id], unassigned=False)
        return await _task_page(info, mine, order_by or TaskOrder(field=queries.TaskOrder.DUE_DATE), first, after, last, before)

    @query(Action.PROJECT_READ, description="The installed methodologies, with their stages, gates and task states.")
    def methodologies(self, info: strawberry.Info) -> list[Methodology]:
        return [Methodology.of(m_) for m_ in info.context.runtime.plugins.methodologies.values()]


async def _task_page(
    info: strawberry.Info, task_query: queries.TaskQuery, order_by: TaskOrder | None,
    first: int | None, after: str | None, last: int | None, before: str | None,
) -> Connection[Task]:
    order = order_by or TaskOrder()
    stmt = queries.task_select(info.context.actor.organization_id, task_query, info.context.today)
    keys = queries.task_order(order.field, order.direction.descending)
    async with info.context.read() as session:
        page = await paginate(session, stmt, keys, window(info, first, after, last, before))
    return Connection.of(page, info.context.scope)
