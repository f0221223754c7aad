"""GraphQL helpers for plugins: the request's session and viewer, permissions, ids.

A plugin's resolvers import from here, never from ``mcgraph.api``::

    from mcgraph.plugins.graphql import Action, Payload, field, mutation, request

    @strawberry.type
    class AgileQuery:
        @field(Action.PROJECT_READ, description="The sprints of a project.")
        async def sprints(self, info: strawberry.Info, project_id: strawberry.ID) -> list[Sprint]:
            req = request(info)
            pk = req.pk(project_id, "Project")
            async with req.read() as session:
                ...

Every field declares the action it needs (``field``, ``mutation``, ``subscription``):
the check runs before the resolver. A mutation returns a payload type that extends
:class:`Payload`; raising ``unit.refuse(...)`` (or any user error) answers with the
payload's ``userErrors`` and writes nothing. A query refuses its arguments with
:class:`BadInput`.

A plugin's types may refer to mcgraph's own ``User``, ``Project``, ``Task`` and
``Milestone`` (exported here); a resolver returns what ``request(info).load("User",
id)`` gives for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.api.fields import Payload, mutation, subscription
from mcgraph.api.fields import query as field
from mcgraph.api.projects.types import Milestone, Project, Task, assessment_loader
from mcgraph.api.ids import MODEL_OF_TYPE, Connection, Node, encode_id, node_type, pk_of
from mcgraph.api.tenancy.types import User
from mcgraph.domain import snapshots
from mcgraph.domain.errors import BadInput
from mcgraph.domain.permissions import Action
from mcgraph.plugins.host import PluginUnit
from mcgraph.plugins.types import MilestoneInfo, ProjectFacts, TaskInfo

T = TypeVar("T")

__all__ = [
    "Action",
    "BadInput",
    "Connection",
    "Milestone",
    "Node",
    "Payload",
    "PluginRequest",
    "Project",
    "Task",
    "User",
    "field",
    "global_id",
    "mutation",
    "node_type",
    "request",
    "subscription",
]


def global_id(type_name: str, pk: int) -> strawberry.ID:
    """The global id of row ``pk`` of GraphQL type ``type_name`` (as ``node(id:)`` takes)."""
    return encode_id(type_name, pk)


class PluginRequest:
    """The GraphQL request a resolver runs in: who asks, and the database."""

    def __init__(self, info: strawberry.Info) -> None:
        self._info = info
        self._context = info.context

    @property
    def organization_id(self) -> int:
        return self._context.require_actor().organization_id

    @property
    def actor_id(self) -> int:
        return self._context.require_actor().user_id

    @property
    def role(self) -> str:
        return self._context.require_actor().role.value

    @property
    def now(self) -> datetime:
        """The time. A query that reads it is answered afresh every time (never from the
        response cache): prefer ``today`` when the day is all a field needs."""
        return self._context.now

    @property
    def today(self) -> date:
        """The day (UTC); answers served again from the response cache are of the same day."""
        return self._context.today

    def require(self, action: Action) -> None:
        """Raise FORBIDDEN (or UNAUTHENTICATED) unless the viewer may ``action``."""
        self._context.require(action)

    def may(self, action: Action) -> bool:
        """Whether the viewer may ``action``."""
        from mcgraph.domain.permissions import can

        return can(self._context.actor, action)

    def pk(self, global_id: str, type_name: str, *, field: str | None = None) -> int:
        """The primary key behind a global id of ``type_name``.

        A wrong id is a NOT_FOUND user error on ``field`` (mutation inputs) or, without
        ``field``, a BAD_USER_INPUT error.
        """
        return pk_of(global_id, type_name, field=field)

    def settings(self, cls: type[T]) -> T:
        return self._context.runtime.plugins.settings_of(cls)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """The operation's session, for reading; it sees only the viewer's organisation."""
        async with self._context.read() as session:
            yield session

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[PluginUnit]:
        """A unit of work as the viewer: committed when the block ends, rolled back on error."""
        async with self._context.unit() as unit:
            yield PluginUnit(unit)

    def batch(self, key: Hashable, compute: Callable[[AsyncSession, Sequence[Any]], Awaitable[dict[Any, Any]]]) -> Any:
        """A dataloader for this operation: ``compute(session, keys)`` returns ``{key: value}``.

        ``await request(info).batch("agile.sprints", load).load(project.id)`` in a field
        resolver loads every project's value in one call, however many projects the
        query lists. Name ``key`` after your plugin and field.
        """
        return self._context.loaders.batch(key, compute)


    async def load(self, type_name: str, pk: int) -> Any:
        """The object behind a core type's row (``"User"``, ``"Milestone"``...), for fields
        typed with mcgraph's own types; None when the viewer's organisation has no such row."""
        return await self._context.loaders.by_id(MODEL_OF_TYPE[type_name]).load(pk)

    async def tasks(self, project_id: int) -> list[TaskInfo]:
        """The project's tasks in their order; every project of the operation in one batch."""
        return await self.batch("mcgraph.tasks", snapshots.projects_tasks).load(project_id)

    async def milestones(self, project_id: int) -> list[MilestoneInfo]:
        return await self.batch("mcgraph.milestones", snapshots.projects_milestones).load(project_id)

    async def facts(self, project_id: int) -> ProjectFacts:
        """What mcgraph measured of the project today (progress, cost...), batched like its health."""
        return (await assessment_loader(self._info).load(project_id)).facts


def request(info: strawberry.Info) -> PluginRequest:
    """The request of a resolver's ``info``."""
    return PluginRequest(info)
