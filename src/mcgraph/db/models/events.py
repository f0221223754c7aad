"""The event log: one row per change, written in the change's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mcgraph.db.base import Base, BigId, OrgScoped, utcnow


class Event(OrgScoped, Base):
    """Something that happened: ``task.state_changed`` on Task 42, by whom, what changed.

    ``org_seq`` numbers the organisation's events 1, 2, 3... in commit order (see
    :mod:`mcgraph.db.event_numbers`): it is the event's cursor and the number in its
    global id, so that what a tenant sees counts its own events only. ``id`` increases
    across every organisation and stays internal (the relay, automations, plugins).
    ``data`` holds ``changes`` (``{field: [before, after]}``) and anything else the
    event type documents. ``published_at`` is set once the relay has handed the event on.
    """

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("organization_id", "org_seq"),
        Index("ix_event_subject", "organization_id", "subject_type", "subject_id", "org_seq"),
        Index("ix_event_project", "organization_id", "project_id", "org_seq"),
        Index("ix_event_unpublished", "published_at", "id"),
    )

    org_seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int] = mapped_column(BigId)
    project_id: Mapped[int | None] = mapped_column(BigId)
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
