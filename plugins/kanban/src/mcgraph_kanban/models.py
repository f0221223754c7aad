"""Tables of the kanban plugin: WIP limits per project and state, and the flow history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mcgraph.plugins.db import Base, BigId, OrgScoped


class WipLimit(OrgScoped, Base):
    """The work-in-progress limit of one state of one project.

    ``limit`` None means "no limit", and overrides a default limit from the settings.
    """

    __tablename__ = "kanban_wip_limit"
    __table_args__ = (UniqueConstraint("project_id", "state"),)

    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(64))
    limit: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class Transition(OrgScoped, Base):
    """A task entering a state: its creation (``from_state`` None) or a change of state.

    One row per event, written by the event observer; ``event_id`` makes it idempotent.
    """

    __tablename__ = "kanban_transition"
    __table_args__ = (Index("ix_kanban_transition_project_at", "project_id", "at"),)

    event_id: Mapped[int] = mapped_column(BigId, unique=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("task.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
