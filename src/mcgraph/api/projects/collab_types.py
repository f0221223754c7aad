"""Object types of the work around tasks: comments, time and cost entries, and the
event history; plus the batched lists that project and task types expose of them.

Back references to ``Project`` and ``Task`` are lazy, since those types list these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.scalars import JSON

from mcgraph.api.ids import MODEL_OF_TYPE, Connection, Node, encode_id, node_type, window
from mcgraph.api.tenancy.types import User
from mcgraph.db import models as m
from mcgraph.db.pagination import SortKey
from mcgraph.domain import history
from mcgraph.domain.time_entries import minutes_by_task

_TYPES = "mcgraph.api.projects.types"
LazyProject = Annotated["Project", strawberry.lazy(_TYPES)]
LazyTask = Annotated["Task", strawberry.lazy(_TYPES)]

# Event subject types whose GraphQL type is not simply the capitalised name.
_SUBJECT_TYPE_NAMES = {"time": "TimeEntry", "cost": "CostEntry", "automation": "AutomationRule"}


@node_type(m.Comment, description="A remark on a project or a task, possibly mentioning members.")
class Comment(Node):
    body: str
    created_at: datetime
    edited_at: datetime | None = strawberry.field(description="When the author last changed the text; null if never.")

    @strawberry.field(description="Null when the author has left the organisation.")
    async def author(self, root: strawberry.Parent[m.Comment], info: strawberry.Info) -> User | None:
        return await info.context.loaders.by_id(m.User).load(root.author_id) if root.author_id else None

    @strawberry.field(description="The members the text mentions (@e-mail or @local-part), in order of appearance.")
    async def mentions(self, root: strawberry.Parent[m.Comment], info: strawberry.Info) -> list[User]:
        rows = await info.context.loaders.children(m.CommentMention.comment_id).load(root.id)
        users = await info.context.loaders.by_id(m.User).load_many([row.user_id for row in rows])
        return [user for user in users if user is not None]

    @strawberry.field(description="The project commented on; null for a comment on a task.")
    async def project(self, root: strawberry.Parent[m.Comment], info: strawberry.Info) -> LazyProject | None:
        return await info.context.loaders.by_id(m.Project).load(root.project_id) if root.project_id else None

    @strawberry.field(description="The task commented on; null for a comment on a project.")
    async def task(self, root: strawberry.Parent[m.Comment], info: strawberry.Info) -> LazyTask | None:
        return await info.context.loaders.by_id(m.Task).load(root.task_id) if root.task_id else None


@node_type(m.TimeEntry, description="Minutes a person spent on a task on one day.")
class TimeEntry(Node):
    minutes: int
    spent_on: date
    note: str
    created_at: datetime

    @strawberry.field(description="Who spent the time; null when they have left the organisation.")
    async def user(self, root: strawberry.Parent[m.TimeEntry], info: strawberry.Info) -> User | None:
        return await info.context.loaders.by_id(m.User).load(root.user_id)

    @strawberry.field
    async def task(self, root: strawberry.Parent[m.TimeEntry], info: strawberry.Info) -> LazyTask:
        return await info.context.loaders.by_id(m.Task).load(root.task_id)

    @strawberry.field(description="The task's project; null for a task of a process run.")
    async def project(self, root: strawberry.Parent[m.TimeEntry], info: strawberry.Info) -> LazyProject | None:
        return await info.context.loaders.by_id(m.Project).load(root.project_id) if root.project_id else None


@node_type(m.CostEntry, description="Money a project spent besides its members' time.")
class CostEntry(Node):
    amount: Decimal
    description: str
    incurred_on: date
    created_at: datetime

    @strawberry.field
    async def created_by(self, root: strawberry.Parent[m.CostEntry], info: strawberry.Info) -> User | None:
        return await info.context.loaders.by_id(m.User).load(root.created_by_id) if root.created_by_id else None

    @strawberry.field
    async def project(self, root: strawberry.Parent[m.CostEntry], info: strawberry.Info) -> LazyProject:
        return await info.context.loaders.by_id(m.Project).load(root.project_id)


@strawberry.type(description="One field an event changed, with its value before and after.")
class EventChange:
    field: str = strawberry.field(description="The field's name, in camelCase (e.g. `dueDate`).")
    before: JSON | None
    after: JSON | None


def event_global_id(event: m.Event) -> strawberry.ID:
    """An event's global id: its number in its organisation's log, never the id counting everyone's events."""
    return encode_id("Event", event.org_seq)


@node_type(m.Event, description="Something that happened, by whom and when: one entry of the audit trail.")
class Event(Node):
    type: str = strawberry.field(description="What happened, e.g. `task.state_changed`.")
    occurred_at: datetime
    subject_type: str = strawberry.field(description="The kind of thing it happened to, e.g. `task`.")

    @strawberry.field(description="The object's global id: opaque, stable, usable with `node`; it counts the organisation's own events only.")
    def id(self, root: strawberry.Parent[m.Event]) -> strawberry.ID:
        return event_global_id(root)

    @strawberry.field(
        description="The event's position in the organisation's log: its number there (1, 2, 3... as the organisation's events commit), as text."
    )
    def cursor(self, root: strawberry.Parent[m.Event]) -> str:
        return str(root.org_seq)

    @strawberry.field(description="The global id of the thing it happened to, when that is an object of the API.")
    def subject_id(self, root: strawberry.Parent[m.Event]) -> strawberry.ID | None:
        type_name = _SUBJECT_TYPE_NAMES.get(root.subject_type, root.subject_type.title().replace("_", ""))
        return encode_id(type_name, root.subject_id) if type_name in MODEL_OF_TYPE else None

    @strawberry.field(description="Who did it; null for the system or a former member.")
    async def actor(self, root: strawberry.Parent[m.Event], info: strawberry.Info) -> User | None:
        return await info.context.loaders.by_id(m.User).load(root.actor_id) if root.actor_id else None

    @strawberry.field(description="The fields it changed, with their values before and after.")
    def changes(self, root: strawberry.Parent[m.Event]) -> list[EventChange]:
        recorded = (root.data or {}).get("changes") or {}
        return [EventChange(field=_camel(name), before=pair[0], after=pair[1]) for name, pair in recorded.items()]

    @strawberry.field(description="Everything else the event recorded, as its type documents it (`changes` left out).")
    def data(self, root: strawberry.Parent[m.Event]) -> JSON:
        return {key: value for key, value in (root.data or {}).items() if key != "changes"}


Pagination = tuple[int | None, str | None, int | None, str | None]


async def page_of(
    info: strawberry.Info,
    name: Any,
    stmt: Select[Any],
    partition: InstrumentedAttribute[Any],
    keys: Sequence[SortKey],
    parent_id: int,
    pagination: Pagination,
) -> Connection[Any]:
    """One parent's page of ``stmt``, batched with the same field of the other parents."""
    win = window(info, *pagination)
    loader = info.context.loaders.pages((name, win), stmt, partition, keys, win)
    return Connection.of(await loader.load(parent_id), info.context.scope)


async def comments(info: strawberry.Info, of: str, organization_id: int, parent_id: int, pagination: Pagination) -> Connection[Comment]:
    """The comments on a project (``of="project"``) or a task (``of="task"``), oldest first."""
    partition = m.Comment.project_id if of == "project" else m.Comment.task_id
    stmt = select(m.Comment).where(m.Comment.organization_id == organization_id)
    keys = [SortKey(m.Comment.created_at)]
    return await page_of(info, (of, "comments"), stmt, partition, keys, parent_id, pagination)


async def time_entries(
    info: strawberry.Info, of: str, organization_id: int, parent_id: int, pagination: Pagination
) -> Connection[TimeEntry]:
    """The time logged on a project (``of="project"``) or a task (``of="task"``), latest day first."""
    partition = m.TimeEntry.project_id if of == "project" else m.TimeEntry.task_id
    stmt = select(m.TimeEntry).where(m.TimeEntry.organization_id == organization_id)
    keys = [SortKey(m.TimeEntry.spent_on, descending=True)]
    return await page_of(info, (of, "time_entries"), stmt, partition, keys, parent_id, pagination)


async def events(
    info: strawberry.Info, of: str, organization_id: int, parent_id: int, types: list[str] | None, pagination: Pagination
) -> Connection[Event]:
    """The history of a project (``of="project"``) or a task (``of="task"``), newest first."""
    kinds = sorted(set(types or ()))
    if of == "project":
        stmt, partition = history.project_history(organization_id, kinds), m.Event.project_id
    else:
        stmt, partition = history.task_history(organization_id, kinds), m.Event.subject_id
    return await page_of(info, (of, "history", tuple(kinds)), stmt, partition, history.history_order(), parent_id, pagination)


async def cost_entries(info: strawberry.Info, project_id: int) -> list[CostEntry]:
    rows = await info.context.loaders.children(m.CostEntry.project_id).load(project_id)
    return sorted(rows, key=lambda row: (row.incurred_on, row.id))


async def time_spent(info: strawberry.Info, task_id: int) -> int:
    return (await info.context.loaders.batch("task.time_spent", minutes_by_task).load(task_id)) or 0


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
