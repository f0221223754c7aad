"""Processes: documented templates, their immutable published versions with ordered
steps, and their runs, each run step recording when it was ready, started and finished.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mcgraph.db.base import Base, BigId, OrgScoped, enum_column, utcnow
from mcgraph.db.models.enums import Assignment, ProcessStatus, RejectAction, RunState, RunTrigger, StepOutcome
from mcgraph.db.models.projects import Versioned
from mcgraph.db.models.tenancy import Role


class Process(Versioned, OrgScoped, Base):
    __tablename__ = "process"
    __table_args__ = (
        UniqueConstraint("organization_id", "key"),
        Index("ix_process_org_status", "organization_id", "status"),
        Index("ix_process_org_trigger", "organization_id", "trigger_event"),
        Index("ix_process_org_owner", "organization_id", "owner_id"),
        Index("ix_process_scheduled", "schedule_cron", "status"),
    )

    key: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("team.id", ondelete="SET NULL"))
    status: Mapped[ProcessStatus] = mapped_column(enum_column(ProcessStatus, "process_status"), default=ProcessStatus.DRAFT)
    run_name_template: Mapped[str] = mapped_column(String(500), default="")
    trigger_event: Mapped[str | None] = mapped_column(String(100))
    payload_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    schedule_cron: Mapped[str | None] = mapped_column(String(100))
    schedule_timezone: Mapped[str | None] = mapped_column(String(64))
    missed_slots: Mapped[str] = mapped_column(String(16), default="run_once")
    last_slot_at: Mapped[datetime | None]
    source_project_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("project.id", ondelete="SET NULL"))
    health: Mapped[str] = mapped_column(String(16), default="on_track")
    health_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class ProcessVersion(OrgScoped, Base):
    """A version of a process's steps: a draft until published, then frozen for good."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "number"),)

    process_id: Mapped[int] = mapped_column(BigId, ForeignKey("process.id", ondelete="CASCADE"))
    number: Mapped[int]
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessStep(OrgScoped, Base):
    """One documented step of a version. ``key`` names the step across versions."""

    __tablename__ = "process_step"
    __table_args__ = (UniqueConstraint("version_id", "key"), Index("ix_process_step_version", "version_id", "position"))

    version_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_version.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    assignment: Mapped[Assignment] = mapped_column(enum_column(Assignment, "assignment"), default=Assignment.OWNER)
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL"))
    assignee_role: Mapped[Role | None] = mapped_column(enum_column(Role, "role"))
    payload_path: Mapped[str | None] = mapped_column(String(200))
    offset_hours: Mapped[float] = mapped_column(default=0.0)
    duration_hours: Mapped[float] = mapped_column(default=8.0)
    approval: Mapped[bool] = mapped_column(default=False)
    on_reject: Mapped[RejectAction] = mapped_column(enum_column(RejectAction, "reject_action"), default=RejectAction.END)
    reject_to: Mapped[str | None] = mapped_column(String(64))
    required: Mapped[bool] = mapped_column(default=True)
    waits_for: Mapped[list[str] | None] = mapped_column(JSON)  # None: the previous step


class ProcessRun(Versioned, OrgScoped, Base):
    __tablename__ = "process_run"
    __table_args__ = (
        UniqueConstraint("process_id", "schedule_slot"),
        UniqueConstraint("process_id", "number"),
        Index("ix_process_run_org_state", "organization_id", "state", "started_at"),
        Index("ix_process_run_process", "process_id", "started_at"),
        Index("ix_process_run_project", "project_id"),
        Index("ix_process_run_event", "trigger_event_id"),
    )

    process_id: Mapped[int] = mapped_column(BigId, ForeignKey("process.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_version.id", ondelete="RESTRICT"))
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(500))
    state: Mapped[RunState] = mapped_column(enum_column(RunState, "run_state"), default=RunState.RUNNING)
    input: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    project_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("project.id", ondelete="SET NULL"))
    trigger: Mapped[RunTrigger] = mapped_column(enum_column(RunTrigger, "run_trigger"))
    trigger_event_id: Mapped[int | None] = mapped_column(BigId)
    trigger_event_name: Mapped[str | None] = mapped_column(String(100))
    schedule_slot: Mapped[datetime | None]
    started_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL"))
    started_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    outcome_note: Mapped[str | None] = mapped_column(Text)


class RunStep(OrgScoped, Base):
    """A step of one run: its task, and when it became ready, started and finished."""

    __tablename__ = "run_step"
    __table_args__ = (UniqueConstraint("run_id", "step_key"), Index("ix_run_step_task", "task_id"))

    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_run.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_step.id", ondelete="RESTRICT"))
    step_key: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("task.id", ondelete="SET NULL"))
    ready_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    outcome: Mapped[StepOutcome | None] = mapped_column(enum_column(StepOutcome, "step_outcome"))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL"))
    rounds: Mapped[int] = mapped_column(default=1)
    rejections: Mapped[int] = mapped_column(default=0)  # an approval step's rejections, every round


class RoundRobinCursor(OrgScoped, Base):
    """Whose turn it was last, per process step assigned in turn."""

    __tablename__ = "round_robin_cursor"
    __table_args__ = (UniqueConstraint("process_id", "step_key"),)

    process_id: Mapped[int] = mapped_column(BigId, ForeignKey("process.id", ondelete="CASCADE"))
    step_key: Mapped[str] = mapped_column(String(64))
    last_user_id: Mapped[int | None]
