"""The PRINCE2 plugin's tables: the project board, stage reports and approvals, stage
plans with their tolerances, and the exceptions raised when a tolerance is exceeded."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mcgraph.plugins.db import Base, BigId, OrgScoped, utcnow

Money = Numeric(14, 2)


def _project() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"), index=True)


def _user(nullable: bool = True) -> Mapped[int | None]:
    return mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL" if nullable else "CASCADE"), nullable=nullable)


class Board(OrgScoped, Base):
    """A project's board as a whole: how many distinct approvals a boundary needs."""

    __tablename__ = "prince2_board"
    __table_args__ = (UniqueConstraint("project_id"),)

    project_id: Mapped[int] = _project()
    quorum: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BoardMember(OrgScoped, Base):
    """One person on a project's board, with their board role (executive, senior_user...)."""

    __tablename__ = "prince2_board_member"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    project_id: Mapped[int] = _project()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StageReport(OrgScoped, Base):
    """The end-stage report of one stage of a project (submitted again: replaced)."""

    __tablename__ = "prince2_stage_report"
    __table_args__ = (UniqueConstraint("project_id", "stage"),)

    project_id: Mapped[int] = _project()
    stage: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = _user()
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class Approval(OrgScoped, Base):
    """One board member's approval of one stage boundary (from-stage to to-stage)."""

    __tablename__ = "prince2_approval"
    __table_args__ = (UniqueConstraint("project_id", "from_stage", "to_stage", "user_id"),)

    project_id: Mapped[int] = _project()
    from_stage: Mapped[str] = mapped_column(String(100))
    to_stage: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)


class StagePlan(OrgScoped, Base):
    """A stage's budget and planned end with their tolerances, and its cost baseline.

    ``baseline_cost`` is the project's actual cost when the stage began (or when its
    tolerance was first set, for a stage already under way); ``baseline_event_id`` the
    stage change that set it, so that a redelivered event does not move it.
    """

    __tablename__ = "prince2_stage_plan"
    __table_args__ = (UniqueConstraint("project_id", "stage"),)

    project_id: Mapped[int] = _project()
    stage: Mapped[str] = mapped_column(String(100))
    budget: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    cost_tolerance: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    planned_end: Mapped[date | None] = mapped_column(nullable=True)
    time_tolerance_days: Mapped[int] = mapped_column(Integer, default=0)
    baseline_cost: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    baseline_at: Mapped[datetime | None] = mapped_column(nullable=True)
    baseline_event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StageException(OrgScoped, Base):
    """A tolerance (``cost`` or ``time``) a stage exceeded, and the exception report on it."""

    __tablename__ = "prince2_exception"
    __table_args__ = (UniqueConstraint("project_id", "stage", "kind"),)

    project_id: Mapped[int] = _project()
    stage: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    report: Mapped[str | None] = mapped_column(Text, nullable=True)
    reported_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reported_by_id: Mapped[int | None] = _user()
