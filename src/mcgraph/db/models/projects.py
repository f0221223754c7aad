"""Projects and their parts: members, labels, milestones, tasks, dependencies, comments,
time and cost entries.

Every updatable row carries ``version``: SQLAlchemy adds ``WHERE version = :seen`` to each
UPDATE and raises when a concurrent write got there first, so no update is lost.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from mcgraph.db.base import Base, BigId, OrgScoped, enum_column, utcnow
from mcgraph.db.models.enums import DependencyType, Health, Priority, ProjectStatus, StateCategory

Money = Numeric(14, 2)


def _user_fk(nullable: bool = True) -> Any:
    return mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL" if nullable else "CASCADE"), nullable=nullable)


class Versioned:
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class Project(Versioned, OrgScoped, Base):
    __tablename__ = "project"
    __table_args__ = (
        UniqueConstraint("organization_id", "key"),
        Index("ix_project_org_status", "organization_id", "status"),
        Index("ix_project_org_health", "organization_id", "health"),
        Index("ix_project_org_target_end", "organization_id", "target_end_date"),
        Index("ix_project_org_manager", "organization_id", "manager_id"),
        Index("ix_project_org_name", "organization_id", "name"),
        Index("ix_project_org_progress", "organization_id", "progress"),
        Index("ix_project_org_methodology", "organization_id", "methodology"),
        Index("ix_project_org_start", "organization_id", "start_date"),
        CheckConstraint("target_end_date IS NULL OR start_date IS NULL OR target_end_date >= start_date", name="dates"),
    )

    key: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    objective: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    methodology: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(64))
    status: Mapped[ProjectStatus] = mapped_column(enum_column(ProjectStatus, "project_status"))
    start_date: Mapped[date | None]
    target_end_date: Mapped[date | None]
    actual_end_date: Mapped[date | None]
    manager_id: Mapped[int | None] = _user_fk()
    planned_budget: Mapped[Decimal | None] = mapped_column(Money)
    archived_at: Mapped[datetime | None]
    # The process this project was started from, when it was (see createProjectFromProcess).
    source_process_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process.id", ondelete="SET NULL", use_alter=True))
    # The computed health and progress as of the last refresh (for filters and order);
    # the API computes both afresh when asked.
    health: Mapped[Health] = mapped_column(enum_column(Health, "health"), default=Health.ON_TRACK)
    health_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    progress: Mapped[float] = mapped_column(default=0.0)
    health_override: Mapped[Health | None] = mapped_column(enum_column(Health, "health"))
    health_override_note: Mapped[str | None] = mapped_column(Text)
    health_override_by_id: Mapped[int | None] = _user_fk()
    health_override_at: Mapped[datetime | None]


class ProjectMember(OrgScoped, Base):
    __tablename__ = "project_member"
    __table_args__ = (UniqueConstraint("project_id", "user_id"), Index("ix_project_member_user", "organization_id", "user_id"))

    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(64), default="member")
    hourly_rate: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectLabel(OrgScoped, Base):
    __tablename__ = "project_label"
    __table_args__ = (UniqueConstraint("project_id", "name"), Index("ix_project_label_name", "organization_id", "name"))

    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))


class Milestone(Versioned, OrgScoped, Base):
    __tablename__ = "milestone"
    __table_args__ = (Index("ix_milestone_project", "project_id", "due_date"),)

    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date | None]
    done: Mapped[bool] = mapped_column(default=False)
    signed_off_by_id: Mapped[int | None] = _user_fk()
    signed_off_at: Mapped[datetime | None]


class Task(Versioned, OrgScoped, Base):
    """A unit of work in a project's list or in a process run's.

    A run's tasks have ``process_run_id``; when the run belongs to a project they also
    have its ``project_id``, so that they count in the project's tasks and health.
    """

    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint("project_id IS NOT NULL OR process_run_id IS NOT NULL", name="has_container"),
        Index("ix_task_project_rank", "project_id", "rank"),
        Index("ix_task_run_rank", "process_run_id", "rank"),
        Index("ix_task_org_assignee", "organization_id", "assignee_id", "state_category"),
        Index("ix_task_org_due", "organization_id", "due_date"),
        Index("ix_task_org_category", "organization_id", "state_category"),
        Index("ix_task_milestone", "milestone_id"),
        Index("ix_task_parent", "parent_id"),
        Index("ix_task_org_title", "organization_id", "title"),
        UniqueConstraint("project_id", "key_number"),
    )

    project_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    process_run_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_run.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("task.id", ondelete="CASCADE"))
    key_number: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(64))
    state_category: Mapped[StateCategory] = mapped_column(enum_column(StateCategory, "state_category"))
    assignee_id: Mapped[int | None] = _user_fk()
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, "priority"), default=Priority.MEDIUM)
    estimate_hours: Mapped[float | None]
    points: Mapped[float | None]
    start_date: Mapped[date | None]
    due_date: Mapped[date | None]
    completed_at: Mapped[datetime | None]
    # when the scheduler wrote task.overdue for the current due date (cleared when it moves)
    overdue_noted_at: Mapped[datetime | None]
    milestone_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("milestone.id", ondelete="SET NULL"))
    rank: Mapped[str] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = _user_fk()


class TaskLabel(OrgScoped, Base):
    __tablename__ = "task_label"
    __table_args__ = (UniqueConstraint("task_id", "name"), Index("ix_task_label_name", "organization_id", "name"))

    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("task.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))


class Dependency(OrgScoped, Base):
    __tablename__ = "dependency"
    __table_args__ = (
        UniqueConstraint("predecessor_id", "successor_id"),
        Index("ix_dependency_successor", "successor_id"),
        CheckConstraint("predecessor_id <> successor_id", name="not_self"),
    )

    predecessor_id: Mapped[int] = mapped_column(BigId, ForeignKey("task.id", ondelete="CASCADE"))
    successor_id: Mapped[int] = mapped_column(BigId, ForeignKey("task.id", ondelete="CASCADE"))
    type: Mapped[DependencyType] = mapped_column(enum_column(DependencyType, "dependency_type"))
    lag_days: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Comment(OrgScoped, Base):
    __tablename__ = "comment"
    __table_args__ = (
        CheckConstraint("(project_id IS NULL) <> (task_id IS NULL)", name="one_subject"),
        Index("ix_comment_project", "project_id", "created_at"),
        Index("ix_comment_task", "task_id", "created_at"),
    )

    project_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("task.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = _user_fk()
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]


class CommentMention(OrgScoped, Base):
    __tablename__ = "comment_mention"
    __table_args__ = (UniqueConstraint("comment_id", "user_id"), Index("ix_comment_mention_user", "organization_id", "user_id"))

    comment_id: Mapped[int] = mapped_column(BigId, ForeignKey("comment.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="CASCADE"))


class TimeEntry(OrgScoped, Base):
    __tablename__ = "time_entry"
    __table_args__ = (
        Index("ix_time_entry_task", "task_id"),
        Index("ix_time_entry_project", "project_id", "spent_on"),
        Index("ix_time_entry_user", "organization_id", "user_id", "spent_on"),
    )

    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("task.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="CASCADE"))
    minutes: Mapped[int]
    spent_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CostEntry(OrgScoped, Base):
    __tablename__ = "cost_entry"
    __table_args__ = (Index("ix_cost_entry_project", "project_id", "incurred_on"),)

    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str] = mapped_column(Text, default="")
    incurred_on: Mapped[date]
    created_by_id: Mapped[int | None] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
