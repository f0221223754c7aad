"""Triggers the passing of time pulls: scheduled rules, and tasks that became overdue.

The scheduler calls these every so often, one organisation at a time. Each writes an
event, which the relay hands to the automations like any other:

* a rule with a SCHEDULE trigger gets ``automation.scheduled`` (subject: the rule; data:
  the slot) once per slot; missed slots make one catch-up event, as for processes;
* a task not done whose due date has passed gets ``task.overdue`` once for that due
  date (moving the due date lets it become overdue again).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from mcgraph.db.models import AutomationRule, Project, StateCategory, Task, TriggerKind
from mcgraph.domain.automations import OVERDUE_EVENT, SCHEDULED_EVENT
from mcgraph.domain.cron import MissedSlots, due_slots, parse_schedule
from mcgraph.domain.unit import Unit

OVERDUE_BATCH = 500


async def fire_scheduled_rules(unit: Unit) -> int:
    """Write ``automation.scheduled`` for each due slot of the organisation's scheduled rules."""
    rules = list(
        await unit.session.scalars(
            select(AutomationRule).where(
                AutomationRule.organization_id == unit.actor.organization_id,
                AutomationRule.trigger_kind == TriggerKind.SCHEDULE,
                AutomationRule.enabled.is_(True),
            )
        )
    )
    fired = 0
    table = AutomationRule.__table__
    for rule in rules:
        schedule = parse_schedule(rule.schedule_cron or "", rule.schedule_timezone or "UTC")
        for slot in due_slots(schedule, rule.last_slot_at, rule.updated_at, unit.now, MissedSlots.RUN_ONCE):
            guard = table.c.last_slot_at.is_(None) if rule.last_slot_at is None else table.c.last_slot_at == rule.last_slot_at
            written = await unit.session.execute(update(table).where(table.c.id == rule.id, guard).values(last_slot_at=slot))
            set_committed_value(rule, "last_slot_at", slot)
            if written.rowcount == 1:  # another scheduler that took this slot has written its event
                unit.record(SCHEDULED_EVENT, rule, rule_id=rule.id, slot=slot)
                fired += 1
    return fired


async def note_overdue_tasks(unit: Unit) -> int:
    """Write ``task.overdue`` for each task that passed its due date undone since the last look."""
    tasks = list(
        await unit.session.scalars(
            select(Task)
            .join(Project, Project.id == Task.project_id)
            .where(
                Task.organization_id == unit.actor.organization_id,
                Task.due_date < unit.today,
                Task.state_category != StateCategory.DONE,
                Task.overdue_noted_at.is_(None),
                Project.archived_at.is_(None),
            )
            .order_by(Task.id)
            .limit(OVERDUE_BATCH)
        )
    )
    table = Task.__table__
    for task in tasks:
        await unit.session.execute(update(table).where(table.c.id == task.id).values(overdue_noted_at=unit.now))
        set_committed_value(task, "overdue_noted_at", unit.now)
        unit.record(
            OVERDUE_EVENT,
            task,
            project_id=task.project_id,
            due_date=task.due_date,
            days_late=(unit.today - task.due_date).days,
            assignee_id=task.assignee_id,
        )
    return len(tasks)
