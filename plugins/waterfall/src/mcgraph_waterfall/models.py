"""The waterfall plugin's table: which milestone closes which phase of a project."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mcgraph.plugins.db import Base, BigId, OrgScoped, utcnow


class PhaseLink(OrgScoped, Base):
    """Phase ``phase`` of project ``project_id`` is closed by milestone ``milestone_id``.

    The phase's tasks are that milestone's tasks. A project links each phase at most
    once, and a milestone closes at most one phase.
    """

    __tablename__ = "waterfall_phase"
    __table_args__ = (
        UniqueConstraint("project_id", "phase"),
        UniqueConstraint("milestone_id"),
    )

    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(32))
    milestone_id: Mapped[int] = mapped_column(BigId, ForeignKey("milestone.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Effect(OrgScoped, Base):
    """An effect the plugin took once and must not take again when its cause is retried.

    Event observers run at least once and automation runs may be retried: each names its
    effect by a ``key`` (``phase_entered:<event id>``, an action call's key) and takes it
    only when the key is new.
    """

    __tablename__ = "waterfall_effect"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
