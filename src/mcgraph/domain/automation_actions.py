"""The built-in actions of automation rules: how each is checked, described and run.

An action is ``{"type": ..., "params": {...}}``. Text params marked as templates may
hold ``{{ expression }}`` parts, filled from the names the rule sees (see
:mod:`mcgraph.domain.automations`). Ids in params are database ids here; the API turns
global ids into them and back.

=====================  ==============================================================
type                   params
=====================  ==============================================================
``set_task_state``     ``state``; ``taskId`` (default: the event's task)
``assign_task``        ``assigneeId`` (null: unassign); ``taskId`` (default: the event's task)
``create_task``        ``title``*, ``description``*; ``projectId`` (default: the event's
                       project); ``assigneeId``, ``priority``, ``dueInDays``
``add_comment``        ``body``*; ``on``: ``task`` or ``project`` (default: the task when
                       the event is about one, else the project)
``start_process_run``  ``processKey``; ``input`` (an object; string values are templates)
``raise_event``        ``name``; ``payload`` (an object; string values are templates)
``override_health``    ``health`` (ON_TRACK, AT_RISK, OFF_TRACK), ``note``*; ``projectId``
``send_webhook``       ``url``; ``secret``† (``whsec_<base64>``: signs the body, Standard Webhooks)
=====================  ==============================================================

(* a template; † a secret: stored encrypted, never shown, see :mod:`mcgraph.domain.secrets`.) Each action runs in a transaction of its own, recorded with the run's
result for that action, so a retried or redelivered run never repeats one that took
effect. An action whose work is I/O elsewhere (``send_webhook``) has an ``outside``
part, done before that transaction opens, so that no transaction (and no organisation's
write lock) waits on a remote server; the transaction then records what it did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mcgraph.db.models import Health, Priority
from mcgraph.domain import comments, expressions, projects, runs, secrets, tasks, webhook_secrets
from mcgraph.domain.errors import Problems, UserErrorCode
from mcgraph.domain.processes import process_by_key
from mcgraph.domain.unit import Unit
from mcgraph.plugins import ActionCall, ActionFailed as PluginActionFailed, AutomationAction
from mcgraph.plugins.manager import Plugins, maybe_await
from mcgraph.settings import Settings

Names = Mapping[str, Any]
# The part of a run done in the action's transaction, once its outside part is done.
Completion = Callable[[Unit], Awaitable[dict[str, Any]]]


class ActionFailed(PluginActionFailed):
    """An action could not take effect; ``retryable`` says whether trying again may help.

    ``records`` are rows to keep although the action's transaction is rolled back (the
    log of a webhook attempt that failed). Plugins raise the base class,
    :class:`mcgraph.plugins.ActionFailed`.
    """

    def __init__(self, message: str, *, retryable: bool = False, records: Sequence[Any] = ()) -> None:
        super().__init__(message, retryable=retryable)
        self.records = list(records)


@dataclass(frozen=True)
class ActionType:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    templates: tuple[str, ...]
    run: Callable[[Unit, Mapping[str, Any], Names, str], Awaitable[dict[str, Any]]]
    describe: Callable[[Mapping[str, Any], Names], str]
    # I/O done outside any transaction: (params, names, key, settings, now) -> what the
    # action's transaction then does; ``run`` is both parts in one, for other callers
    outside: Callable[[Mapping[str, Any], Names, str, Settings, datetime], Awaitable[Completion]] | None = None
    # params that are secrets: stored encrypted, shown masked (mcgraph.domain.secrets)
    secrets: tuple[str, ...] = ()


def _text(params: Mapping[str, Any], name: str, names: Names) -> str:
    return expressions.render(str(params.get(name) or ""), names)


def _object(params: Mapping[str, Any], name: str, names: Names) -> dict[str, Any]:
    value = params.get(name) or {}
    return {key: expressions.render(item, names) if isinstance(item, str) else item for key, item in value.items()}


def _task_id(params: Mapping[str, Any], names: Names) -> int:
    task_id = params.get("taskId") or (names.get("task") or {}).get("id")
    if not task_id:
        raise ActionFailed("There is no task to act on: the event is not about a task and no taskId is given.")
    return int(task_id)


def _project_id(params: Mapping[str, Any], names: Names) -> int:
    project_id = params.get("projectId") or (names.get("project") or {}).get("id")
    if not project_id:
        raise ActionFailed("There is no project to act on: the event is not about one and no projectId is given.")
    return int(project_id)


async def _set_task_state(unit: Unit, params: Mapping[str, Any], names: Names, _key: str) -> dict[str, Any]:
    task = await tasks.set_state(unit, _task_id(params, names), str(params["state"]), force=True)
    return {"taskId": task.id, "state": task.state}


async def _assign_task(unit: Unit, params: Mapping[str, Any], names: Names, _key: str) -> dict[str, Any]:
    assignee = params.get("assigneeId")
    task = await tasks.update_task(unit, _task_id(params, names), None, {"assignee_id": int(assignee) if assignee else None})
    return {"taskId": task.id, "assigneeId": task.assignee_id}


async def _create_task(unit: Unit, params: Mapping[str, Any], names: Names, _key: str) -> dict[str, Any]:
    due = params.get("dueInDays")
    task = await tasks.create_task(
        unit,
        project_id=_project_id(params, names),
        title=_text(params, "title", names),
        description=_text(params, "description", names),
        assignee_id=int(params["assigneeId"]) if params.get("assigneeId") else None,
        priority=Priority(str(params.get("priority") or "medium").lower()),
        due_date=unit.today + timedelta(days=int(due)) if due is not None else None,
    )
    return {"taskId": task.id, "title": task.title}


async def _add_comment(unit: Unit, params: Mapping[str, Any], names: Names, _key: str) -> dict[str, Any]:
    on = params.get("on") or ("task" if names.get("task") else "project")
    body = _text(params, "body", names)
    if on == "task":
        comment = await comments.add_comment(unit, body=body, task_id=_task_id(params, names))
    else:
        comment = await comments.add_comment(unit, body=body, project_id=_project_id(params, names))
    return {"commentId": comment.id}


async def _start_process_run(unit: Unit, params: Mapping[str, Any], names: Names, _key: str) -> dict[str, Any]:
    process = await process_by_key(unit, str(params["processKey"]))
    run = await runs.start_run(unit, process, payload=_object(params, "input", names))
    return {"runId": run.id, "name": run.name}


async def _raise_event(unit: Unit, params: Mapping[str, Any], names: Names, _key: str) -> dict[str, Any]:
    event, started = await runs.start_for_event(unit, str(params["name"]), _object(params, "payload", names))
    return {"eventId": event.id, "runIds": [run.id for run in started]}


async def _override_health(unit: Unit, params: Mapping[str, Any], names: Names, _key: str) -> dict[str, Any]:
    health = Health(str(params["health"]).lower())
    project = await projects.override_health(unit, _project_id(params, names), health, _text(params, "note", names))
    return {"projectId": project.id, "health": health.value}


async def _send_webhook(unit: Unit, params: Mapping[str, Any], names: Names, key: str) -> dict[str, Any]:
    # Sending is I/O outside the domain: mcgraph.automation.deliveries gives the sender.
    raise ActionFailed("Webhooks are sent by the automation workers only.")


# How mcgraph's own actions are checked, described and run. They are offered to rules
# only as the built-in ``automation`` plugin declares them (mcgraph.automation.builtins),
# through ``mcgraph_automation_actions`` like any plugin's.
CORE_ACTIONS: Mapping[str, ActionType] = {
    "set_task_state": ActionType(
        ("state",), ("taskId",), (), _set_task_state, lambda p, n: f"move task {p.get('taskId') or (n.get('task') or {}).get('id')} to {p['state']!r}"
    ),
    "assign_task": ActionType(
        ("assigneeId",), ("taskId",), (), _assign_task, lambda p, n: f"assign task {p.get('taskId') or (n.get('task') or {}).get('id')} to user {p['assigneeId']}"
    ),
    "create_task": ActionType(
        ("title",), ("description", "projectId", "assigneeId", "priority", "dueInDays"), ("title", "description"),
        _create_task, lambda p, n: f"create task {_text(p, 'title', n)!r} in project {p.get('projectId') or (n.get('project') or {}).get('id')}",
    ),
    "add_comment": ActionType(
        ("body",), ("on", "taskId", "projectId"), ("body",), _add_comment, lambda p, n: f"comment {_text(p, 'body', n)!r}"
    ),
    "start_process_run": ActionType(
        ("processKey",), ("input",), (), _start_process_run, lambda p, n: f"start a run of process {p['processKey']} with {_object(p, 'input', n)}"
    ),
    "raise_event": ActionType(
        ("name",), ("payload",), (), _raise_event, lambda p, n: f"raise event {p['name']!r} with {_object(p, 'payload', n)}"
    ),
    "override_health": ActionType(
        ("health", "note"), ("projectId",), ("note",), _override_health,
        lambda p, n: f"set project {p.get('projectId') or (n.get('project') or {}).get('id')} health to {p['health']}: {_text(p, 'note', n)!r}",
    ),
    "send_webhook": ActionType(("url",), ("secret",), (), _send_webhook, lambda p, n: f"POST the event to {p['url']}", secrets=("secret",)),
}


# mcgraph's own action types: spelled upper case in the API (ADD_COMMENT), as declared inside
CORE_ACTION_TYPES = frozenset(CORE_ACTIONS)


@dataclass(frozen=True, slots=True)
class CoreAction(AutomationAction):
    """One of mcgraph's own actions, as the built-in plugin declares it.

    ``kind`` is how mcgraph runs it: on the unit itself, its templates filled by the
    action, with an outside part when it has one.
    """

    kind: ActionType | None = field(default=None, compare=False)


def core_action(action_type: str, kind: ActionType, description: str) -> CoreAction:
    """Declare ``kind`` as an :class:`AutomationAction` named ``action_type``."""

    async def run(call: ActionCall) -> dict[str, Any]:
        return await kind.run(call.unit._unit, call.params, call.names, call.key)

    return CoreAction(
        type=action_type,
        description=description,
        run=run,
        required=kind.required,
        optional=kind.optional,
        templates=kind.templates,
        describe=kind.describe,
        secret_params=kind.secrets,
        kind=kind,
    )


def _kind_of(action: AutomationAction) -> ActionType:
    return action.kind if isinstance(action, CoreAction) and action.kind is not None else plugin_action(action)


def plugin_action(action: AutomationAction) -> ActionType:
    """A plugin's action, run like the built-in ones: templates filled, failures mapped."""

    async def run(unit: Unit, params: Mapping[str, Any], names: Names, key: str) -> dict[str, Any]:
        from mcgraph.plugins.host import PluginUnit

        filled = {name: _text(params, name, names) if name in action.templates else value for name, value in params.items()}
        try:
            output = await maybe_await(action.run(ActionCall(unit=PluginUnit(unit), params=filled, names=names, key=key)))
        except ActionFailed:
            raise
        except PluginActionFailed as error:
            raise ActionFailed(f"{action.plugin}: {error.message}", retryable=error.retryable) from error
        return dict(output or {})

    def describe(params: Mapping[str, Any], names: Names) -> str:
        return action.describe(params, names) if action.describe else f"{action.type}: {action.description}"

    return ActionType(
        tuple(action.required), tuple(action.optional), tuple(action.templates), run, describe, secrets=tuple(action.secret_params)
    )


def action_types(plugins: Plugins) -> dict[str, ActionType]:
    """Every action rules may use: those the enabled plugins (mcgraph's own among them) declare."""
    return {name: _kind_of(action) for name, action in plugins.actions.items()}


def check_actions(actions: Sequence[Mapping[str, Any]], problems: Problems, plugins: Plugins) -> None:
    """Add a problem for each action that is unknown or has missing, unknown or bad params."""
    kinds = action_types(plugins)
    for index, action in enumerate(actions):
        where = ["actions", str(index)]
        kind = kinds.get(str(action.get("type")))
        if kind is None:
            problems.add([*where, "type"], f"Unknown action {action.get('type')!r}; one of {', '.join(sorted(kinds))}.", UserErrorCode.INVALID)
            continue
        params = action.get("params") or {}
        if not isinstance(params, Mapping):
            problems.add([*where, "params"], "Params are an object.", UserErrorCode.INVALID)
            continue
        for name in kind.required:
            if params.get(name) in (None, "") and name != "assigneeId":
                problems.add([*where, "params", name], f"{action['type']} needs {name}.", UserErrorCode.REQUIRED)
        for name in params:
            if name not in kind.required and name not in kind.optional:
                problems.add([*where, "params", name], f"{action['type']} takes no {name}.", UserErrorCode.INVALID)
        for name in kind.templates:
            try:
                expressions.parse_template(str(params.get(name) or ""))
            except expressions.ExpressionError as error:
                problems.add([*where, "params", name], error.message, UserErrorCode.BAD_EXPRESSION)
        for name in kind.secrets:
            if params.get(name) is not None and not isinstance(params[name], str):
                problems.add([*where, "params", name], f"{name} is a string.", UserErrorCode.INVALID)
        _check_values(str(action["type"]), params, [*where, "params"], problems)
        declared = plugins.actions.get(str(action["type"]))
        if declared is not None and declared.check is not None:
            for message in declared.check(params) or ():
                problems.add([*where, "params"], str(message), UserErrorCode.INVALID)


def _check_values(kind: str, params: Mapping[str, Any], where: list[str], problems: Problems) -> None:
    if kind == "override_health" and str(params.get("health", "")).lower() not in {h.value for h in Health}:
        problems.add([*where, "health"], "health is ON_TRACK, AT_RISK or OFF_TRACK.", UserErrorCode.INVALID)
    if kind == "create_task" and params.get("priority") and str(params["priority"]).lower() not in {p.value for p in Priority}:
        problems.add([*where, "priority"], "priority is LOW, MEDIUM, HIGH or URGENT.", UserErrorCode.INVALID)
    if kind == "create_task" and params.get("dueInDays") is not None and not isinstance(params["dueInDays"], int):
        problems.add([*where, "dueInDays"], "dueInDays is a whole number of days.", UserErrorCode.INVALID)
    if kind in ("start_process_run", "raise_event"):
        name = "input" if kind == "start_process_run" else "payload"
        if params.get(name) is not None and not isinstance(params[name], Mapping):
            problems.add([*where, name], f"{name} is an object.", UserErrorCode.INVALID)
    if kind == "add_comment" and params.get("on") not in (None, "task", "project"):
        problems.add([*where, "on"], "on is task or project.", UserErrorCode.INVALID)
    if kind == "send_webhook" and not str(params.get("url", "")).startswith(("http://", "https://")):
        problems.add([*where, "url"], "A webhook URL starts with http:// or https://.", UserErrorCode.INVALID)
    secret = params.get("secret")
    if kind == "send_webhook" and isinstance(secret, str) and (why := webhook_secrets.problem(secret, keep=secrets.MASK)):
        problems.add([*where, "secret"], why, UserErrorCode.INVALID)


def _kind(plugins: Plugins, name: str) -> ActionType:
    declared = plugins.actions.get(name)
    if declared is None:
        raise ActionFailed(f"The action {name!r} is not installed; enable the plugin that declares it.")
    return _kind_of(declared)


def describe(action: Mapping[str, Any], names: Names, plugins: Plugins) -> str:
    """What the action would do for ``names``, in words (for a dry run); its secrets masked."""
    kind = _kind(plugins, str(action["type"]))
    return kind.describe(secrets.mask_params(action.get("params") or {}, kind.secrets), names)


def outside_part(
    action: Mapping[str, Any], plugins: Plugins
) -> Callable[[Mapping[str, Any], Names, str, Settings, datetime], Awaitable[Completion]] | None:
    """The action's part to do before its transaction opens (None: it has none)."""
    return _kind(plugins, str(action["type"])).outside


async def perform(unit: Unit, action: Mapping[str, Any], names: Names, key: str) -> dict[str, Any]:
    """Run one action in ``unit``; its output (ids it made or changed). ``key`` names the effect."""
    return await _kind(unit.plugins, str(action["type"])).run(unit, action.get("params") or {}, names, key)


# --- secrets -----------------------------------------------------------------------


def secret_params(plugins: Plugins, action_type: str) -> tuple[str, ...]:
    """The params of ``action_type`` that are secrets (none for an unknown type)."""
    declared = plugins.actions.get(action_type)
    return tuple(declared.secret_params) if declared is not None else ()


def masked(actions: Any, plugins: Plugins) -> Any:
    """A rule's actions with every secret shown as ``********``: for events and answers."""
    return secrets.mask_actions(actions, lambda action_type: secret_params(plugins, action_type))


def sealed(actions: Sequence[Mapping[str, Any]], plugins: Plugins, keyring: secrets.Keyring) -> list[dict[str, Any]]:
    """A rule's actions as stored: every secret encrypted."""
    return [
        {**action, "params": secrets.seal_params(action.get("params") or {}, secret_params(plugins, str(action.get("type"))), keyring)}
        for action in actions
    ]


def opened(action: Mapping[str, Any], plugins: Plugins, keyring: secrets.Keyring) -> dict[str, Any]:
    """A stored action with its secrets decrypted, to run it."""
    params = action.get("params") or {}
    return {**action, "params": secrets.open_params(params, secret_params(plugins, str(action.get("type"))), keyring)}


def known_secrets(actions: Sequence[Mapping[str, Any]], plugins: Plugins, keyring: secrets.Keyring) -> list[str]:
    """The plain values of a rule's secrets, to scrub them out of messages."""
    return secrets.secret_values(actions, lambda action_type: secret_params(plugins, action_type), keyring)


async def rotate_stored(session: Any, plugins: Plugins, keyring: secrets.Keyring, batch: int = 500) -> tuple[int, int]:
    """Re-encrypt every rule's secrets with the current key (those in clear encrypted), and
    mask the secrets of every declared action (plugins' included) in stored events.

    For ``mcgraph secrets rotate``; across organisations. Returns (rules, events) changed.
    """
    from sqlalchemy import select

    from mcgraph.db import versions
    from mcgraph.db.models import AutomationRule, Event

    def secrets_of(action_type: str) -> tuple[str, ...]:
        return secret_params(plugins, action_type)

    organizations: set[int] = set()
    rules = 0
    for rule in await session.scalars(select(AutomationRule).order_by(AutomationRule.id)):
        rotated = secrets.rotate_actions(rule.actions, secrets_of, keyring)
        if rotated is not None and rotated != rule.actions:
            rule.actions = rotated
            organizations.add(rule.organization_id)
            rules += 1
    events, last = 0, 0
    while True:
        page = list(
            await session.scalars(
                select(Event).where(Event.id > last, Event.type.like("automation\\_rule.%", escape="\\")).order_by(Event.id).limit(batch)
            )
        )
        if not page:
            break
        for event in page:
            scrubbed = secrets.scrub_event_data(event.data, secrets_of)
            if scrubbed is not None:
                event.data = scrubbed
                organizations.add(event.organization_id)
                events += 1
        last = page[-1].id
    versions.changed(session, organizations)
    return rules, events
