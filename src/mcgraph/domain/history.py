"""The history of a project or a task, read from the event log.

A project's history is every event recorded with its ``project_id`` (its tasks,
milestones, comments, time and costs included); a task's history is the events whose
subject is the task. An organisation's events are numbered in commit order
(``Event.org_seq``), so the number orders them; it is also what a cursor holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select

from mcgraph.db.models import Event
from mcgraph.db.pagination import SortKey


def project_history(organization_id: int, types: Sequence[str] = ()) -> Select[Any]:
    """Events of any project; partition by ``Event.project_id``."""
    return _events(organization_id, types)


def task_history(organization_id: int, types: Sequence[str] = ()) -> Select[Any]:
    """Events whose subject is a task; partition by ``Event.subject_id``."""
    return _events(organization_id, types).where(Event.subject_type == "task")


def history_order(*, newest_first: bool = True) -> list[SortKey]:
    # the organisation's own numbers: unique, so no id (of every organisation's events) in a cursor
    return [SortKey(Event.org_seq, descending=newest_first, unique=True)]


def _events(organization_id: int, types: Sequence[str]) -> Select[Any]:
    """``types``: event types, or families such as ``task.*`` (as ``mcgraph.events.topics.of_types``)."""
    stmt = select(Event).where(Event.organization_id == organization_id)
    if types:
        exact = [t for t in types if not t.endswith(".*")]
        families = [t[:-1] for t in types if t.endswith(".*")]
        conditions = [Event.type.in_(exact)] if exact else []
        conditions += [Event.type.startswith(family, autoescape=True) for family in families]
        stmt = stmt.where(or_(*conditions))
    return stmt


def event_log(organization_id: int, *, after: int | None, types: Sequence[str] = (), subject: tuple[str, int] | None = None) -> Select[Any]:
    """The organisation's events after its event number ``after`` (all with None), oldest first."""
    stmt = _events(organization_id, types)
    if after is not None:
        stmt = stmt.where(Event.org_seq > after)
    if subject is not None:
        stmt = stmt.where(Event.subject_type == subject[0], Event.subject_id == subject[1])
    return stmt.order_by(Event.org_seq)


def newest_event_number(organization_id: int) -> Select[Any]:
    """The number of the organisation's newest event (NULL before the first)."""
    return select(func.max(Event.org_seq)).where(Event.organization_id == organization_id)
