"""Automation rules and their runs: types, queries and mutations.

Action params are JSON; ids in them (``taskId``, ``projectId``, ``assigneeId``) are
global ids, turned into database ids for the domain and back for the client. A
param an action declares secret (a webhook's ``secret``) is never shown again once
saved: answers carry ``********`` in its place, and sending ``********`` back keeps it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON

from mcgraph.api.fields import Payload, mutation, query
from mcgraph.api.processes.types import Process
from mcgraph.api.projects.collab_types import Event
from mcgraph.api.ids import Connection, Node, encode_id, node_type, pk_of, window
from mcgraph.api.tenancy.types import User
from mcgraph.db import models as m
from mcgraph.db.models import AutomationRunState, TriggerKind
from mcgraph.db.pagination import SortKey, paginate
from mcgraph.domain import automations
from mcgraph.domain.automation_actions import CORE_ACTION_TYPES, masked
from mcgraph.domain.cron import describe as describe_schedule, parse_schedule
from mcgraph.domain.errors import NotFound, UserError, UserErrorCode
from mcgraph.domain.permissions import Action
from mcgraph.plugins.manager import BUILTIN_PLUGINS

strawberry.enum(TriggerKind, name="TriggerKind", description="What starts an automation rule.")
strawberry.enum(AutomationRunState, name="AutomationRunState", description="Where one run of a rule for one event stands.")


# action params that hold ids, and the type of object they name
_ID_PARAMS = {"taskId": "Task", "projectId": "Project", "assigneeId": "User"}


def _type_in(name: str) -> str:
    """mcgraph's actions are spelled ADD_COMMENT in the API and add_comment inside; plugins' as declared."""
    return name.lower() if name.lower() in CORE_ACTION_TYPES else name


def _type_out(name: str) -> str:
    return name.upper() if name in CORE_ACTION_TYPES else name


def _params_in(params: Any, index: int) -> Any:
    """Params with their ids decoded; params that are not an object are left for the domain to refuse."""
    if not isinstance(params or {}, dict):
        return params
    values = dict(params or {})
    for name, type_name in _ID_PARAMS.items():
        if values.get(name):
            values[name] = pk_of(str(values[name]), type_name, field=f"actions.{index}.params.{name}")
    return values


def _params_out(params: dict[str, Any]) -> dict[str, Any]:
    values = dict(params)
    for name, type_name in _ID_PARAMS.items():
        if isinstance(values.get(name), int):
            values[name] = encode_id(type_name, values[name])
    return values


@strawberry.type(description="One structured condition: the value at `path` compared by `op` with `value`.")
class AutomationCondition:
    path: str
    op: str
    value: JSON | None


@strawberry.type
class AutomationTrigger:
    kind: TriggerKind
    event_type: str = strawberry.field(description="The event type (or family, `task.*`) the rule listens to.")
    filter: list[AutomationCondition]
    cron: str | None
    timezone: str | None

    @strawberry.field(description="The schedule in words, for SCHEDULE triggers.")
    def schedule(self) -> str | None:
        return describe_schedule(parse_schedule(self.cron, self.timezone or "UTC")) if self.cron else None


@strawberry.type
class AutomationAction:
    type: str = strawberry.field(description="The action type: `automationCatalog` lists them with their params.")
    params: JSON


@node_type(m.AutomationRule, description="When a trigger happens and a condition holds, run actions in order.")
class AutomationRule(Node):
    name: str
    description: str
    enabled: bool
    condition: str = strawberry.field(description="An expression checked on fresh state when the rule runs; empty: always.")
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def trigger(self, root: strawberry.Parent[m.AutomationRule]) -> AutomationTrigger:
        return AutomationTrigger(
            kind=root.trigger_kind,
            event_type=root.event_type,
            filter=[AutomationCondition(path=c["path"], op=c["op"], value=c.get("value")) for c in root.trigger_filter],
            cron=root.schedule_cron,
            timezone=root.schedule_timezone,
        )

    @strawberry.field
    def actions(self, root: strawberry.Parent[m.AutomationRule], info: strawberry.Info) -> list[AutomationAction]:
        shown = masked(list(root.actions), info.context.runtime.plugins)
        return [AutomationAction(type=_type_out(a["type"]), params=_params_out(a.get("params") or {})) for a in shown]

    @strawberry.field
    async def created_by(self, root: strawberry.Parent[m.AutomationRule], info: strawberry.Info) -> User | None:
        return await info.context.loaders.by_id(m.User).load(root.created_by_id) if root.created_by_id else None


@strawberry.type
class AutomationActionResult:
    index: int
    type: str
    status: str = strawberry.field(description="`done` or `failed`.")
    output: JSON | None
    error: str | None


@node_type(m.AutomationRun, description="One run of a rule for one event: its state, attempts and each action's result.")
class AutomationRun(Node):
    state: AutomationRunState
    attempts: int
    max_attempts: int
    depth: int = strawberry.field(description="1 for a change made by someone; one more for each automation in the chain before it.")
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None

    @strawberry.field
    async def rule(self, root: strawberry.Parent[m.AutomationRun], info: strawberry.Info) -> AutomationRule | None:
        return await info.context.loaders.by_id(m.AutomationRule).load(root.rule_id)

    @strawberry.field
    async def event(self, root: strawberry.Parent[m.AutomationRun], info: strawberry.Info) -> Event | None:
        return await info.context.loaders.by_id(m.Event).load(root.event_id)

    @strawberry.field(description="Its webhook attempts, oldest first.")
    async def deliveries(self, root: strawberry.Parent[m.AutomationRun], info: strawberry.Info) -> list[WebhookDelivery]:
        rows = await info.context.loaders.children(m.WebhookDelivery.run_id).load(root.id)
        return sorted(rows, key=lambda row: row.id)  # type: ignore[return-value]

    @strawberry.field
    def results(self, root: strawberry.Parent[m.AutomationRun]) -> list[AutomationActionResult]:
        return [
            AutomationActionResult(
                index=r["index"], type=_type_out(r["type"]), status=r["status"], output=r.get("output"), error=r.get("error")
            )
            for r in root.results
        ]


@strawberry.type(description="One attempt to deliver a webhook; attempts of one delivery share its `deliveryId`.")
class WebhookDelivery:
    delivery_id: str
    action_index: int
    url: str
    attempt: int
    ok: bool
    status: int | None
    error: str | None
    duration_ms: float
    response_excerpt: str
    attempted_at: datetime


@strawberry.type
class AutomationDryRun:
    matches: bool = strawberry.field(description="Whether the rule would run its actions for the event now.")
    reasons: list[str] = strawberry.field(description="Why it would not, when it would not.")
    actions: list[str] = strawberry.field(description="What each action would do, in words.")


@strawberry.input(description="The value at `path` compared by `op` (eq, ne, lt, le, gt, ge, in, not_in, contains, exists, not_exists) with `value`.")
class AutomationConditionInput:
    path: str
    op: str
    value: JSON | None = None


@strawberry.input
class AutomationTriggerInput:
    kind: TriggerKind
    event_type: str | None = strawberry.field(default=None, description="EVENT: the event type, or a family such as `task.*`.")
    filter: list[AutomationConditionInput] = strawberry.field(default_factory=list)
    process_id: strawberry.ID | None = strawberry.field(default=None, description="RUN_COMPLETED: only this process's runs.")
    cron: str | None = strawberry.field(default=None, description='SCHEDULE: 5-field cron or an alias, e.g. "0 8 * * MON".')
    timezone: str | None = strawberry.field(default=None, description="SCHEDULE: IANA zone; UTC when left out.")


@strawberry.input
class AutomationActionInput:
    type: str = strawberry.field(description="An action type: mcgraph's in capitals (`SET_TASK_STATE`), a plugin's as it declares it (`agile.add_to_active_sprint`).")
    params: JSON | None = strawberry.field(default=None, description="The action's params (see docs/automations.md); none: {}.")


@strawberry.input
class CreateAutomationRuleInput:
    name: str
    trigger: AutomationTriggerInput
    actions: list[AutomationActionInput]
    condition: str = strawberry.field(default="", description='e.g. `task.priority == "urgent" and project.key == "WEB"`.')
    description: str = ""
    enabled: bool = True


@strawberry.input(description="Replaces the rule's definition.")
class UpdateAutomationRuleInput(CreateAutomationRuleInput):
    rule_id: strawberry.ID
    expected_version: int | None = None


@strawberry.input
class SetAutomationRuleEnabledInput:
    rule_id: strawberry.ID
    enabled: bool


@strawberry.input
class DeleteAutomationRuleInput:
    rule_id: strawberry.ID


@strawberry.input
class RetryAutomationRunInput:
    run_id: strawberry.ID


@strawberry.input(description="Send a run's webhook again, with the same delivery id.")
class RedeliverWebhookInput:
    run_id: strawberry.ID
    action_index: int


@strawberry.type
class RedeliverWebhookPayload(Payload):
    run: AutomationRun | None = None


@strawberry.type
class AutomationRulePayload(Payload):
    rule: AutomationRule | None = None


@strawberry.type
class CreateAutomationRulePayload(AutomationRulePayload):
    pass


@strawberry.type
class UpdateAutomationRulePayload(AutomationRulePayload):
    pass


@strawberry.type
class SetAutomationRuleEnabledPayload(AutomationRulePayload):
    pass


@strawberry.type
class DeleteAutomationRulePayload(Payload):
    deleted_rule_id: strawberry.ID | None = None


@strawberry.type
class RetryAutomationRunPayload(Payload):
    run: AutomationRun | None = None


@strawberry.input
class AutomationRuleFilter:
    enabled: bool | None = None
    event_types: list[str] | None = None


@strawberry.input
class AutomationRunFilter:
    rule_ids: list[strawberry.ID] | None = None
    states: list[AutomationRunState] | None = None
    event_id: strawberry.ID | None = None


def _spec(input: CreateAutomationRuleInput) -> automations.RuleSpec:
    trigger = input.trigger
    return automations.RuleSpec(
        name=input.name,
        description=input.description,
        enabled=input.enabled,
        trigger_kind=trigger.kind,
        event_type=trigger.event_type,
        trigger_filter=[{"path": c.path, "op": c.op, "value": c.value} for c in trigger.filter],
        process_id=pk_of(trigger.process_id, "Process", field="trigger.processId") if trigger.process_id else None,
        schedule_cron=trigger.cron,
        schedule_timezone=trigger.timezone,
        condition=input.condition,
        actions=[{"type": _type_in(a.type), "params": _params_in(a.params, i)} for i, a in enumerate(input.actions)],
    )


@strawberry.type
class AutomationQuery:
    @query(Action.PROJECT_READ, description="The organisation's automation rules, by name.")
    async def automation_rules(
        self, info: strawberry.Info, where: AutomationRuleFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[AutomationRule]:
        rule = m.AutomationRule
        stmt = select(rule).where(rule.organization_id == info.context.actor.organization_id)
        if where and where.enabled is not None:
            stmt = stmt.where(rule.enabled.is_(where.enabled))
        if where and where.event_types:
            stmt = stmt.where(rule.event_type.in_(where.event_types))
        async with info.context.read() as session:
            page = await paginate(session, stmt, [SortKey(rule.name)], window(info, first, after, None, None))
        return Connection.of(page, info.context.scope)

    @query(Action.PROJECT_READ, description="Runs of automation rules, newest first.")
    async def automation_runs(
        self, info: strawberry.Info, where: AutomationRunFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[AutomationRun]:
        run = m.AutomationRun
        stmt = select(run).where(run.organization_id == info.context.actor.organization_id)
        if where and where.rule_ids:
            stmt = stmt.where(run.rule_id.in_([pk_of(i, "AutomationRule", field="where.ruleIds") for i in where.rule_ids]))
        if where and where.states:
            stmt = stmt.where(run.state.in_(where.states))
        if where and where.event_id:
            number = pk_of(where.event_id, "Event", field="where.eventId")  # the event's number in the organisation's log
            event = select(m.Event.id).where(m.Event.organization_id == info.context.actor.organization_id, m.Event.org_seq == number)
            stmt = stmt.where(run.event_id == event.scalar_subquery())
        async with info.context.read() as session:
            page = await paginate(session, stmt, [SortKey(run.id, descending=True)], window(info, first, after, None, None))
        return Connection.of(page, info.context.scope)

    @query(Action.PROJECT_READ, description="The actions, trigger event types and condition functions rules can use here.")
    def automation_catalog(self, info: strawberry.Info) -> AutomationCatalog:
        return _catalog(info.context.runtime.plugins)

    @query(Action.PROJECT_READ, description="What the rule would do for the event, now, without doing anything.")
    async def dry_run_automation_rule(self, info: strawberry.Info, rule_id: strawberry.ID, event_id: strawberry.ID) -> AutomationDryRun:
        rule = await info.context.loaders.by_id(m.AutomationRule).load(pk_of(rule_id, "AutomationRule", field="ruleId"))
        event = await info.context.loaders.node(m.Event).load(pk_of(event_id, "Event", field="eventId"))
        if rule is None or event is None:
            raise NotFound("No such rule or event.")
        async with info.context.read() as session:
            result = await automations.dry_run(session, rule, event, info.context.runtime.plugins, info.context.runtime.settings)
        return AutomationDryRun(matches=result.matches, reasons=result.reasons, actions=result.actions)


@strawberry.type(description="An action rules may run, with its params.")
class AutomationActionKind:
    type: str
    required_params: list[str]
    optional_params: list[str]
    secret_params: list[str] = strawberry.field(description="Params that are secrets: stored encrypted, shown as `********`.")
    plugin: str | None = strawberry.field(description="The plugin that declared it; null for mcgraph's own.")
    description: str


@strawberry.type(description="An event type rules may listen to.")
class AutomationTriggerKind:
    event_type: str
    plugin: str | None
    description: str


@strawberry.type(description="A function conditions may call.")
class AutomationFunction:
    name: str
    plugin: str | None
    description: str


@strawberry.type(description="Everything rules can be made of here: actions, trigger event types, condition functions.")
class AutomationCatalog:
    actions: list[AutomationActionKind]
    triggers: list[AutomationTriggerKind]
    functions: list[AutomationFunction]


def _catalog(plugins: Any) -> AutomationCatalog:
    """Every action, trigger and condition function the enabled plugins declare, mcgraph's own among them."""

    def by(plugin: str) -> str | None:
        return None if plugin in BUILTIN_PLUGINS else plugin

    actions = [
        AutomationActionKind(
            type=_type_out(a.type), required_params=list(a.required), optional_params=list(a.optional),
            secret_params=list(a.secret_params), plugin=by(a.plugin), description=a.description,
        )
        for a in plugins.actions.values()
    ]
    triggers = [AutomationTriggerKind(event_type=t.event_type, plugin=by(t.plugin), description=t.description) for t in plugins.triggers.values()]
    functions = [AutomationFunction(name=c.name, plugin=by(c.plugin), description=c.description) for c in plugins.conditions.values()]
    return AutomationCatalog(actions=actions, triggers=triggers, functions=functions)


@strawberry.type
class AutomationMutation:
    @mutation(Action.AUTOMATION_MANAGE, description="Save a rule; it is checked first and refused with every problem found.")
    async def create_automation_rule(self, info: strawberry.Info, input: CreateAutomationRuleInput) -> CreateAutomationRulePayload:
        spec = _spec(input)
        async with info.context.unit() as unit:
            rule = await automations.create_rule(unit, spec)
        return CreateAutomationRulePayload(rule=rule)

    @mutation(Action.AUTOMATION_MANAGE, description="Replace a rule's definition.")
    async def update_automation_rule(self, info: strawberry.Info, input: UpdateAutomationRuleInput) -> UpdateAutomationRulePayload:
        rule_pk = pk_of(input.rule_id, "AutomationRule", field="ruleId")
        spec = _spec(input)
        async with info.context.unit() as unit:
            rule = await automations.update_rule(unit, rule_pk, input.expected_version, spec)
        return UpdateAutomationRulePayload(rule=rule)

    @mutation(Action.AUTOMATION_MANAGE, description="Turn a rule on or off.")
    async def set_automation_rule_enabled(self, info: strawberry.Info, input: SetAutomationRuleEnabledInput) -> SetAutomationRuleEnabledPayload:
        rule_pk = pk_of(input.rule_id, "AutomationRule", field="ruleId")
        async with info.context.unit() as unit:
            rule = await automations.set_enabled(unit, rule_pk, input.enabled)
        return SetAutomationRuleEnabledPayload(rule=rule)

    @mutation(Action.AUTOMATION_MANAGE, description="Delete a rule and its runs.")
    async def delete_automation_rule(self, info: strawberry.Info, input: DeleteAutomationRuleInput) -> DeleteAutomationRulePayload:
        rule_pk = pk_of(input.rule_id, "AutomationRule", field="ruleId")
        async with info.context.unit() as unit:
            await automations.delete_rule(unit, rule_pk)
        return DeleteAutomationRulePayload(deleted_rule_id=input.rule_id)

    @mutation(Action.AUTOMATION_MANAGE, description="Run a FAILED or DEAD run again, from its first action not done.")
    async def retry_automation_run(self, info: strawberry.Info, input: RetryAutomationRunInput) -> RetryAutomationRunPayload:
        run_pk = pk_of(input.run_id, "AutomationRun", field="runId")
        async with info.context.unit() as unit:
            run = await automations.retry_run(unit, run_pk)
        await _send(info, run.id)
        return RetryAutomationRunPayload(run=run)

    @mutation(Action.AUTOMATION_MANAGE, description="Send a run's webhook again (a new attempt of the same delivery).")
    async def redeliver_webhook(self, info: strawberry.Info, input: RedeliverWebhookInput) -> RedeliverWebhookPayload:
        run_pk = pk_of(input.run_id, "AutomationRun", field="runId")
        async with info.context.unit() as unit:
            run = await automations.redeliver(unit, run_pk, input.action_index)
        await _send(info, run.id)
        return RedeliverWebhookPayload(run=run)


async def _send(info: strawberry.Info, run_id: int) -> None:
    """Hand a queued run to the broker now (the automation sweep would, later)."""
    running = info.context.runtime.automations
    if running is not None:
        await asyncio.to_thread(running.enqueue, [run_id])
