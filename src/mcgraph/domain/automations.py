"""Automation rules: when something happens and a condition holds, act.

A rule has a trigger, an optional condition and an ordered list of actions. Every
trigger comes down to an event type the rule listens to:

==================  ==========================================================
trigger             listens to
==================  ==========================================================
``EVENT``           the event type named (or a family: ``task.*``)
``RUN_COMPLETED``   ``process_run.completed`` (of one process, or of any)
``TASK_OVERDUE``    ``task.overdue``, written by the scheduler once per task
``SCHEDULE``        ``automation.scheduled``, written by the scheduler at each slot
==================  ==========================================================

The trigger's *filter* (structured conditions) is checked when the event is handed to
the automations, on the event itself; the *condition* (an expression, see
:mod:`mcgraph.domain.expressions`) is checked when the rule runs, on fresh state. Both
see the same names: ``event`` (``type``, ``subject_type``, ``subject_id``,
``project_id``, ``actor_id``, ``occurred_at``, ``data``, ``changes.<field>.before`` and
``.after``), ``payload`` (a raised event's payload), ``project`` and ``task`` (as they
are now, when the event is about one), ``run`` (a process run) and ``rule``.

Rules are validated when saved: every problem is a userError naming its field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select

from mcgraph.db.models import AutomationRule, AutomationRun, AutomationRunState, Event, Process, ProcessRun, Project, Task, TriggerKind
from mcgraph.domain import expressions, secrets
from mcgraph.domain.cron import CronError, parse_schedule
from mcgraph.domain.errors import NotFound, Problems, UserError, UserErrorCode
from mcgraph.domain.projects import check_version
from mcgraph.domain.unit import Unit, changed
from mcgraph.plugins.manager import Plugins
from mcgraph.settings import Settings

SCHEDULED_EVENT = "automation.scheduled"
OVERDUE_EVENT = "task.overdue"
RUN_COMPLETED_EVENT = "process_run.completed"
MAX_ACTIONS = 20

# The event types mcgraph records: what EVENT rules can listen to, besides plugins' triggers.
CORE_EVENT_TYPES = (
    "project.created", "project.updated", "project.status_changed", "project.stage_changed", "project.health_changed",
    "project.health_overridden", "project.archived", "project.unarchived", "project.member_added", "project.member_changed",
    "project.member_removed", "project.became_process", "task.created", "task.updated", "task.state_changed", "task.moved",
    "task.deleted", "task.overdue", "dependency.added", "dependency.removed", "milestone.created", "milestone.updated",
    "milestone.deleted", "milestone.signed_off", "milestone.sign_off_revoked", "comment.added", "comment.deleted",
    "time.logged", "time.updated", "time.deleted", "cost.added", "process.created", "process.updated", "process.steps_edited",
    "process.published", "process.retired", "process.health_changed", "process.became_project", "process_run.started",
    "process_run.decided", "process_run.completed", "event.raised", "automation.scheduled",
)
NAME_LENGTH = 200


@dataclass
class RuleSpec:
    """What a rule is made of, as a client sends it (ids already decoded)."""

    name: str
    trigger_kind: TriggerKind
    event_type: str | None = None
    trigger_filter: list[dict[str, Any]] = field(default_factory=list)
    process_id: int | None = None  # RUN_COMPLETED: only this process's runs
    schedule_cron: str | None = None
    schedule_timezone: str | None = None
    condition: str = ""
    actions: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    enabled: bool = True


# --- validation ------------------------------------------------------------------


def listened_type(spec: RuleSpec) -> str | None:
    """The event type a rule of ``spec`` listens to."""
    return {
        TriggerKind.EVENT: spec.event_type,
        TriggerKind.RUN_COMPLETED: RUN_COMPLETED_EVENT,
        TriggerKind.TASK_OVERDUE: OVERDUE_EVENT,
        TriggerKind.SCHEDULE: SCHEDULED_EVENT,
    }[spec.trigger_kind]


def trigger_filter(spec: RuleSpec) -> list[dict[str, Any]]:
    conditions = list(spec.trigger_filter)
    if spec.trigger_kind == TriggerKind.RUN_COMPLETED and spec.process_id is not None:
        conditions.append({"path": "run.process_id", "op": "eq", "value": spec.process_id})
    return conditions


def check_spec(spec: RuleSpec, problems: Problems, plugins: Plugins, max_steps: int = expressions.MAX_STEPS) -> None:
    """Add a problem for everything wrong with ``spec``, including a worst case over ``max_steps``."""
    from mcgraph.domain.automation_actions import check_actions

    worst: dict[str, int] = {}  # the most steps each part can take, by field

    if not spec.name.strip() or len(spec.name) > NAME_LENGTH:
        problems.add("name", f"A rule's name is 1 to {NAME_LENGTH} characters.", UserErrorCode.INVALID)
    if spec.trigger_kind == TriggerKind.EVENT:
        event_type = (spec.event_type or "").strip()
        if not event_type or len(event_type) > 100 or " " in event_type:
            problems.add(["trigger", "eventType"], "Name the event type to listen to, e.g. task.state_changed or task.*.", UserErrorCode.REQUIRED)
    if spec.trigger_kind == TriggerKind.SCHEDULE:
        try:
            parse_schedule(spec.schedule_cron or "", spec.schedule_timezone or "UTC")
        except CronError as error:
            problems.add(["trigger", "cron"], str(error), UserErrorCode.INVALID)
    try:
        worst["trigger.filter"] = expressions.structured(trigger_filter(spec)).worst_steps()
    except expressions.ExpressionError as error:
        problems.add(["trigger", "filter"], error.message, UserErrorCode.BAD_EXPRESSION)
    if spec.condition.strip():
        try:
            worst["condition"] = expressions.parse(spec.condition, functions_of(plugins)).worst_steps()
        except expressions.ExpressionError as error:
            problems.add("condition", f"{error.message} (at {error.position})", UserErrorCode.BAD_EXPRESSION)
    if not spec.actions:
        problems.add("actions", "A rule needs at least one action.", UserErrorCode.REQUIRED)
    elif len(spec.actions) > MAX_ACTIONS:
        problems.add("actions", f"A rule has at most {MAX_ACTIONS} actions.", UserErrorCode.INVALID)
    else:
        check_actions(spec.actions, problems, plugins)
        for index, action in enumerate(spec.actions):
            worst[f"actions.{index}.params"] = _template_steps(action)
    _check_cost(worst, problems, max_steps)


def _template_steps(action: Mapping[str, Any]) -> int:
    """The most steps an action's templates can take: every string param (and string value of an
    object param) read as a template, as the actions render them; one that does not parse counts
    nothing here (it is refused as a BAD_EXPRESSION when it is a template)."""
    params = action.get("params")
    if not isinstance(params, Mapping):
        return 0
    texts = [value for value in params.values() if isinstance(value, str)]
    texts += [item for value in params.values() if isinstance(value, Mapping) for item in value.values() if isinstance(item, str)]
    steps = 0
    for text in texts:
        try:
            steps += expressions.parse_template(text).worst_steps()
        except expressions.ExpressionError:
            pass
    return steps


def _check_cost(worst: Mapping[str, int], problems: Problems, max_steps: int) -> None:
    """Refuse a rule whose condition and templates together can take more than ``max_steps``."""
    total = sum(worst.values())
    if total <= max_steps:
        return
    costliest = max(worst, key=lambda name: worst[name])
    problems.add(
        costliest.split("."),
        f"One evaluation of this rule (its filter, condition and templates together) could take {total:,} steps, "
        f"over the limit of {max_steps:,} (MCGRAPH_EXPRESSION_MAX_STEPS); {costliest} alone could take {worst[costliest]:,}. "
        "Call matches() fewer times or with simpler patterns (each unbounded repetition multiplies its cost), or use fewer placeholders.",
        UserErrorCode.EXPRESSION_TOO_COSTLY,
    )


async def create_rule(unit: Unit, spec: RuleSpec) -> AutomationRule:
    problems = Problems()
    check_spec(spec, problems, unit.plugins, unit.settings.expression_max_steps)
    await _check_unique(unit, problems, spec.name)
    await _check_process(unit, problems, spec.process_id)
    values = _columns(spec, unit.now)
    values["actions"] = _stored_actions(unit, values["actions"], [], problems)
    problems.raise_any()
    rule = AutomationRule(
        organization_id=unit.actor.organization_id,
        created_by_id=unit.actor.person_id,
        created_at=unit.now,
        updated_at=unit.now,
        **values,
    )
    unit.session.add(rule)
    await unit.session.flush()
    unit.record("automation_rule.created", rule, name=rule.name, event_type=rule.event_type)
    return rule


async def update_rule(unit: Unit, rule_id: int, expected_version: int | None, spec: RuleSpec) -> AutomationRule:
    rule = await get_rule(unit, rule_id)
    check_version(rule, expected_version)
    problems = Problems()
    check_spec(spec, problems, unit.plugins, unit.settings.expression_max_steps)
    if spec.name.strip() != rule.name:
        await _check_unique(unit, problems, spec.name)
    await _check_process(unit, problems, spec.process_id)
    values = _columns(spec, unit.now)
    values["actions"] = _stored_actions(unit, values["actions"], list(rule.actions or ()), problems)
    problems.raise_any()
    if values["schedule_cron"] == rule.schedule_cron and values["schedule_timezone"] == rule.schedule_timezone:
        values.pop("last_slot_at")
    changes = changed(rule, **values)
    if changes:
        rule.updated_at = unit.now
        data: dict[str, Any] = {}
        if "actions" in changes:
            from mcgraph.domain.automation_actions import masked

            before, after = changes["actions"]
            changes["actions"] = (masked(before, unit.plugins), masked(after, unit.plugins))
            if replaced := _secrets_replaced(unit, before, after):
                data["secrets_changed"] = replaced
        unit.record("automation_rule.updated", rule, changes={k: v for k, v in changes.items() if k != "last_slot_at"}, **data)
        await unit.session.flush()
    return rule


async def delete_rule(unit: Unit, rule_id: int) -> AutomationRule:
    rule = await get_rule(unit, rule_id)
    unit.record("automation_rule.deleted", rule, name=rule.name)
    await unit.session.delete(rule)
    await unit.session.flush()
    return rule


async def set_enabled(unit: Unit, rule_id: int, enabled: bool) -> AutomationRule:
    rule = await get_rule(unit, rule_id)
    changes = changed(rule, enabled=enabled)
    if changes:
        rule.updated_at = unit.now
        unit.record("automation_rule.updated", rule, changes=changes)
        await unit.session.flush()
    return rule


async def retry_run(unit: Unit, run_id: int) -> AutomationRun:
    """Queue a FAILED or DEAD run again, with a fresh allowance of attempts; the caller sends it."""
    run = await unit.session.get(AutomationRun, run_id)
    if run is None or run.organization_id != unit.actor.organization_id:
        raise NotFound("No automation run with that id (runId).")
    if run.state not in (AutomationRunState.FAILED, AutomationRunState.DEAD):
        raise UserError.one("runId", f"Only a failed or dead run can be retried; this one is {run.state.value}.", UserErrorCode.INVALID)
    if run.depth > unit.settings.automation_max_depth:
        raise UserError.one("runId", "This run was stopped as part of a chain of automations too deep; it cannot be retried.", UserErrorCode.INVALID)
    run.state = AutomationRunState.QUEUED
    run.max_attempts = run.attempts + unit.settings.automation_max_attempts
    run.queued_at, run.next_attempt_at, run.finished_at = unit.now, None, None
    # the event as the organisation numbers it, never the id that counts every organisation's events
    number = await unit.session.scalar(select(Event.org_seq).where(Event.id == run.event_id))
    unit.record("automation_run.retried", run, rule_id=run.rule_id, event_id=number)
    await unit.session.flush()
    return run


async def redeliver(unit: Unit, run_id: int, index: int) -> AutomationRun:
    """Queue a run's webhook action to be sent again (same delivery id); the caller sends the run."""
    run = await unit.session.get(AutomationRun, run_id)
    if run is None or run.organization_id != unit.actor.organization_id:
        raise NotFound("No automation run with that id (runId).")
    rule = await unit.session.get(AutomationRule, run.rule_id)
    if not (0 <= index < len(rule.actions)) or rule.actions[index].get("type") != "send_webhook":
        raise UserError.one("actionIndex", f"Action {index} of this run's rule is not a webhook.", UserErrorCode.INVALID)
    if run.state in (AutomationRunState.QUEUED, AutomationRunState.RUNNING):
        raise UserError.one("runId", "The run is under way; redeliver once it has finished.", UserErrorCode.INVALID)
    run.results = [r for r in run.results if r.get("index") != index]
    run.state = AutomationRunState.QUEUED
    run.max_attempts = run.attempts + unit.settings.automation_max_attempts
    run.queued_at, run.next_attempt_at, run.finished_at = unit.now, None, None
    unit.record("automation_run.redelivery_requested", run, rule_id=run.rule_id, action_index=index)
    await unit.session.flush()
    return run


async def get_rule(unit: Unit, rule_id: int, field: str = "ruleId") -> AutomationRule:
    rule = await unit.session.get(AutomationRule, rule_id)
    if rule is None or rule.organization_id != unit.actor.organization_id:
        raise NotFound(f"No automation rule with that id ({field}).")
    return rule


def _columns(spec: RuleSpec, now: datetime) -> dict[str, Any]:
    scheduled = spec.trigger_kind == TriggerKind.SCHEDULE
    return {
        "name": spec.name.strip(),
        "description": spec.description.strip(),
        "enabled": spec.enabled,
        "trigger_kind": spec.trigger_kind,
        "event_type": (listened_type(spec) or "").strip(),
        "trigger_filter": trigger_filter(spec),
        "schedule_cron": spec.schedule_cron.strip() if scheduled and spec.schedule_cron else None,
        "schedule_timezone": (spec.schedule_timezone or "UTC") if scheduled else None,
        "last_slot_at": now if scheduled else None,  # the schedule counts from when it was set
        "condition": spec.condition.strip(),
        "actions": [dict(action) for action in spec.actions],
    }


def _stored_actions(
    unit: Unit, actions: list[dict[str, Any]], stored: list[dict[str, Any]], problems: Problems
) -> list[dict[str, Any]]:
    """``actions`` as they are to be stored: secrets encrypted.

    ``********`` (what answers show for a saved secret) keeps the secret saved for the same
    action (same place, same type); a secret equal to the saved one keeps its stored form,
    so that saving a rule unchanged changes nothing.
    """
    from mcgraph.domain.automation_actions import secret_params

    keyring = secrets.Keyring.of(unit.settings)
    result = []
    for index, action in enumerate(actions):
        params = action.get("params")
        if not isinstance(params, Mapping):
            result.append(action)
            continue
        params = dict(params)
        old = stored[index] if index < len(stored) and stored[index].get("type") == action.get("type") else {}
        old_params = old.get("params") or {}
        for name in secret_params(unit.plugins, str(action.get("type"))):
            value, saved = params.get(name), old_params.get(name)
            if value == secrets.MASK:
                if saved in (None, ""):
                    problems.add(
                        ["actions", str(index), "params", name],
                        f"{secrets.MASK} stands for a saved secret, and this action has none: send the secret itself.",
                        UserErrorCode.INVALID,
                    )
                params[name] = saved
            elif isinstance(value, str) and value and isinstance(saved, str) and _same_secret(keyring, saved, value):
                params[name] = saved
        result.append({**action, "params": secrets.seal_params(params, secret_params(unit.plugins, str(action.get("type"))), keyring)})
    return result


def _same_secret(keyring: secrets.Keyring, saved: str, value: str) -> bool:
    try:
        return keyring.decrypt(saved) == value
    except secrets.SecretUnreadable:
        return False


def _secrets_replaced(unit: Unit, before: Any, after: Any) -> list[str]:
    """Where a secret was set, changed or removed, as ``actions.<index>.params.<name>`` (never the value)."""
    from mcgraph.domain.automation_actions import secret_params

    before = before if isinstance(before, list) else []
    paths = []
    for index, action in enumerate(after or ()):
        old = before[index] if index < len(before) and before[index].get("type") == action.get("type") else {}
        for name in secret_params(unit.plugins, str(action.get("type"))):
            if (action.get("params") or {}).get(name) != (old.get("params") or {}).get(name):
                paths.append(f"actions.{index}.params.{name}")
    return paths


async def _check_unique(unit: Unit, problems: Problems, name: str) -> None:
    taken = await unit.session.scalar(
        select(AutomationRule.id).where(
            AutomationRule.organization_id == unit.actor.organization_id, AutomationRule.name == name.strip()
        )
    )
    if taken is not None:
        problems.add("name", f"A rule named {name.strip()!r} exists already.", UserErrorCode.TAKEN)


async def _check_process(unit: Unit, problems: Problems, process_id: int | None) -> None:
    if process_id is None:
        return
    process = await unit.session.get(Process, process_id)
    if process is None or process.organization_id != unit.actor.organization_id:
        problems.add(["trigger", "processId"], "No process with that id.", UserErrorCode.NOT_FOUND)


# --- what a rule sees ------------------------------------------------------------


def listens_to(rule: AutomationRule, event: Event) -> bool:
    """Whether ``rule`` listens to ``event``: its type (or family); a scheduled rule to its own slots only."""
    if rule.trigger_kind == TriggerKind.SCHEDULE:
        return event.type == SCHEDULED_EVENT and event.subject_id == rule.id
    listened = rule.event_type
    return listened == event.type or (listened.endswith(".*") and event.type.startswith(listened[:-1]))


def event_names(event: Event) -> dict[str, Any]:
    """The ``event`` (and ``payload``) a filter and a condition see."""
    data = dict(event.data or {})
    changes = {name: {"before": pair[0], "after": pair[1]} for name, pair in (data.pop("changes", None) or {}).items()}
    return {
        "event": {
            "id": event.org_seq,  # its number in the organisation's log, as its cursor and global id hold it
            "type": event.type,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "project_id": event.project_id,
            "actor_id": event.actor_id,
            "occurred_at": _plain(event.occurred_at),
            "data": data,
            "changes": changes,
        },
        "payload": data.get("payload") or {},
    }


async def names_for(session: Any, event: Event, rule: AutomationRule | None = None) -> dict[str, Any]:
    """Everything a condition or a template may name, read afresh."""
    names = event_names(event)
    task = await session.get(Task, event.subject_id) if event.subject_type == "task" else None
    run_id = event.subject_id if event.subject_type == "process_run" else (task.process_run_id if task else None)
    run = await session.get(ProcessRun, run_id) if run_id else None
    project_id = event.project_id or (event.subject_id if event.subject_type == "project" else None)
    project = await session.get(Project, project_id) if project_id else None
    names["task"] = _row(task, ("id", "title", "state", "state_category", "priority", "assignee_id", "due_date", "project_id", "process_run_id", "estimate_hours", "points"))
    names["project"] = _row(project, ("id", "key", "name", "status", "stage", "health", "methodology", "manager_id", "target_end_date"))
    names["run"] = _row(run, ("id", "name", "state", "process_id", "project_id", "number"))
    if rule is not None:
        names["rule"] = {"id": rule.id, "name": rule.name}
    return names


def functions_of(plugins: Plugins) -> Mapping[str, Any] | None:
    """The functions conditions may call: the expression language's and the enabled plugins'
    (None: the language's only). The language's own, which the built-in plugin declares,
    keep their arity and cost bounds."""
    added = {
        name: c for name, c in plugins.conditions.items()
        if name not in expressions.FUNCTIONS or expressions.FUNCTIONS[name].call is not c.function
    }
    if not added:
        return None
    return expressions.with_functions({name: c.function for name, c in added.items()}, {name: f"{name}(...): {c.description}" for name, c in added.items()})


def holds(conditions: Sequence[Mapping[str, Any]], condition: str, names: Mapping[str, Any], plugins: Plugins | None = None) -> bool:
    """Whether a rule's filter and condition hold for ``names``."""
    if conditions and not expressions.structured(conditions).test(names):
        return False
    return not condition or expressions.parse(condition, functions_of(plugins) if plugins else None).test(names)


def _row(row: Any, columns: Sequence[str]) -> dict[str, Any] | None:
    if row is None:
        return None
    return {name: _plain(getattr(row, name, None)) for name in columns}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass
class DryRun:
    matches: bool
    reasons: list[str]
    actions: list[str]


async def dry_run(session: Any, rule: AutomationRule, event: Event, plugins: Plugins, settings: Settings | None = None) -> DryRun:
    """What the rule would do for the event, now, without doing it.

    The filter, condition and templates are evaluated off the event loop, on one budget:
    ``MCGRAPH_EXPRESSION_MAX_STEPS`` steps, and no longer than ``MCGRAPH_MAX_EXECUTION_SECONDS``
    (the request's own limit); past it, :class:`~mcgraph.domain.expressions.TooCostly`.
    """
    reasons: list[str] = []
    if not listens_to(rule, event):
        reasons.append(f"The rule listens to {rule.event_type!r}, not {event.type!r}.")
    if not rule.enabled:
        reasons.append("The rule is disabled.")
    names = await names_for(session, event, rule)
    budget = expressions.Budget(settings.expression_max_steps, seconds=settings.max_execution_seconds or None) if settings else expressions.Budget()
    rule_parts = (list(rule.trigger_filter or ()), rule.condition, [dict(action) for action in rule.actions])
    more, actions = await asyncio.to_thread(_dry_evaluation, *rule_parts, names, plugins, budget)
    return DryRun(not reasons and not more, reasons + more, actions)


def _dry_evaluation(
    conditions: list[dict[str, Any]], condition: str, actions: list[dict[str, Any]], names: Mapping[str, Any], plugins: Plugins, budget: expressions.Budget
) -> tuple[list[str], list[str]]:
    """A dry run's reasons not to act and its actions described, all charged to ``budget``."""
    from mcgraph.domain.automation_actions import describe

    reasons: list[str] = []
    described: list[str] = []
    with expressions.metered(budget):
        if conditions and not holds(conditions, "", names):
            reasons.append("The trigger's filter does not hold for this event.")
        if condition and not holds((), condition, names, plugins):
            reasons.append(f"The condition does not hold: {condition}")
        for action in actions:
            try:
                described.append(describe(action, names, plugins))
            except expressions.TooCostly:
                raise
            except Exception as error:  # noqa: BLE001 - a dry run reports, it does not fail
                described.append(f"{action.get('type')}: cannot be prepared ({error})")
    return reasons, described
