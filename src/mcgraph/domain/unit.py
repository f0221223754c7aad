"""A unit of work: what one domain operation runs with, and the events it writes.

Services take a :class:`Unit` instead of a long list of arguments: the session (one
transaction), who acts, the time, the plugins and the settings. ``record`` adds an
event row to the same session, so the change and its event commit together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.engine import track_event
from mcgraph.db.models import Event
from mcgraph.domain.permissions import Actor
from mcgraph.plugins.manager import Plugins
from mcgraph.settings import Settings


@dataclass
class Unit:
    session: AsyncSession
    actor: Actor
    now: datetime
    plugins: Plugins
    settings: Settings
    events: list[Event] = field(default_factory=list)
    # set when an automation acts: recorded on every event, to trace chains and stop loops
    cause: dict[str, int] | None = None

    @property
    def today(self) -> date:
        return self.now.date()

    def record(
        self,
        event_type: str,
        subject: Any,
        /,
        *,
        project_id: int | None = None,
        changes: dict[str, tuple[Any, Any]] | None = None,
        **data: Any,
    ) -> Event:
        """Write the event ``event_type`` about ``subject`` (a row) in this unit's transaction."""
        payload = {key: _plain(value) for key, value in data.items()}
        if changes:
            payload["changes"] = {name: [_plain(old), _plain(new)] for name, (old, new) in changes.items()}
        if self.cause:
            payload["automation"] = dict(self.cause)
        event = Event(
            organization_id=self.actor.organization_id,
            type=event_type,
            subject_type=event_type.split(".", 1)[0],
            subject_id=subject.id,
            project_id=project_id,
            actor_id=self.actor.person_id,
            data=payload,
            occurred_at=self.now,
        )
        self.session.add(event)
        track_event(self.session, event)
        self.events.append(event)
        return event


def changed(row: Any, **values: Any) -> dict[str, tuple[Any, Any]]:
    """Set each attribute of ``row`` that differs; return ``{name: (before, after)}``."""
    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in values.items():
        before = getattr(row, name)
        if before != value:
            setattr(row, name, value)
            changes[name] = (before, value)
    return changes


def _plain(value: Any) -> Any:
    """A JSON-ready form of a value kept in an event."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
