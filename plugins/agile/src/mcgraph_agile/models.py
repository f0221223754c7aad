"""The agile plugin's tables: sprints, and which tasks were in them when."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from mcgraph.plugins.db import Base, BigId, OrgScoped, enum_column, utcnow


class SprintState(enum.StrEnum):
    """Where a sprint is in its life: planned, then active, then completed."""

    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"


OPEN_STATES = (SprintState.PLANNED, SprintState.ACTIVE)


class SprintRow(OrgScoped, Base):
    """A time-box of a project. ``committed_points`` is set when it starts,
    ``completed_points`` when it completes; a project has at most one active sprint."""

    __tablename__ = "agile_sprint"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        Index(
            "uq_agile_sprint_one_active",
            "project_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )

    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date]
    end_date: Mapped[date]
    state: Mapped[SprintState] = mapped_column(enum_column(SprintState, "agile_sprint_state"), default=SprintState.PLANNED)
    committed_points: Mapped[float | None]
    completed_points: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class SprintTaskRow(OrgScoped, Base):
    """A task's stay in a sprint: from ``added_at`` until ``removed_at`` (None while it stays).

    ``points`` are the task's points when it joined the sprint, or when the sprint
    started for tasks planned into it: the size the sprint counts it at.
    """

    __tablename__ = "agile_sprint_task"
    __table_args__ = (Index("ix_agile_sprint_task_sprint", "sprint_id", "removed_at"),)

    sprint_id: Mapped[int] = mapped_column(BigId, ForeignKey("agile_sprint.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("task.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]
    points: Mapped[float] = mapped_column(default=0.0)
