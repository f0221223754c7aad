"""Automation rules, and one run per (rule, event) with each action's result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mcgraph.db.base import Base, BigId, OrgScoped, enum_column, utcnow
from mcgraph.db.models.enums import AutomationRunState, TriggerKind
from mcgraph.db.models.projects import Versioned


class AutomationRule(Versioned, OrgScoped, Base):
    """When ``trigger`` happens and ``condition`` holds, run ``actions`` in order.

    Every trigger comes down to an event type: ``event_type`` is what the rule listens
    to (``task.state_changed``, ``process_run.completed``, ``task.overdue``, or
    ``automation.scheduled`` for a schedule), ``trigger_filter`` the structured filter on
    the event, ``condition`` an expression checked on fresh state when the rule runs.
    """

    __tablename__ = "automation_rule"
    __table_args__ = (
        UniqueConstraint("organization_id", "name"),
        Index("ix_automation_rule_trigger", "organization_id", "enabled", "event_type"),
        Index("ix_automation_rule_scheduled", "trigger_kind", "enabled"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    trigger_kind: Mapped[TriggerKind] = mapped_column(enum_column(TriggerKind, "trigger_kind"))
    event_type: Mapped[str] = mapped_column(String(100))
    trigger_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    schedule_cron: Mapped[str | None] = mapped_column(String(100))
    schedule_timezone: Mapped[str | None] = mapped_column(String(64))
    last_slot_at: Mapped[datetime | None]
    condition: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutomationRun(OrgScoped, Base):
    """One rule run for one event; ``results`` holds each action's outcome by index.

    An action whose result is recorded as done is never run again: a redelivered
    message, a retry or a second worker finds it done and goes on with the next.
    """

    __tablename__ = "automation_run"
    __table_args__ = (
        UniqueConstraint("rule_id", "event_id"),
        Index("ix_automation_run_org_state", "organization_id", "state", "id"),
        Index("ix_automation_run_due", "state", "next_attempt_at"),
    )

    rule_id: Mapped[int] = mapped_column(BigId, ForeignKey("automation_rule.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("event.id", ondelete="CASCADE"))
    state: Mapped[AutomationRunState] = mapped_column(
        enum_column(AutomationRunState, "automation_run_state"), default=AutomationRunState.QUEUED
    )
    depth: Mapped[int] = mapped_column(default=1)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]


class WebhookDelivery(OrgScoped, Base):
    """One attempt to deliver a webhook: the delivery id stays the same across attempts."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_run", "run_id", "id"),
        Index("ix_webhook_delivery_delivery", "organization_id", "delivery_id", "id"),
    )

    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("automation_run.id", ondelete="CASCADE"))
    action_index: Mapped[int]
    delivery_id: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int]
    ok: Mapped[bool]
    status: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float]
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
