"""mcgraph's own automation actions, trigger event types and condition functions: a plugin.

Registered as the built-in plugin ``automation`` (see ``BUILTIN_PLUGINS`` in
:mod:`mcgraph.plugins.manager`), through the same hooks as an installed plugin, so that
rules, clashes and the ``automationCatalog`` query treat mcgraph's own like any other.
"""

from __future__ import annotations

from mcgraph.automation.deliveries import SEND_WEBHOOK
from mcgraph.domain import automations, expressions
from mcgraph.domain.automation_actions import CORE_ACTIONS, core_action
from mcgraph.plugins import AutomationAction, AutomationTrigger, ConditionFunction, hookimpl

ACTION_DESCRIPTIONS = {
    "set_task_state": "Move a task (the event's, or taskId) to a state, even past its methodology's checks.",
    "assign_task": "Assign a task (the event's, or taskId) to assigneeId; null unassigns it.",
    "create_task": "Create a task in the event's project (or projectId); title and description are templates.",
    "add_comment": "Comment on the event's task or project (on: task or project); body is a template.",
    "start_process_run": "Start a run of the published process processKey with input (string values are templates).",
    "raise_event": "Raise the event name with payload (string values are templates); rules and processes listening to it start.",
    "override_health": "Set a project's health (ON_TRACK, AT_RISK, OFF_TRACK) with a note, as a manager would.",
    "send_webhook": "POST the event to url, signed with secret (Standard Webhooks headers); each attempt is logged.",
}

TRIGGER_DESCRIPTIONS = {
    "project.created": "A project was created.",
    "project.updated": "A project's fields were changed.",
    "project.status_changed": "A project's status changed (active, on hold, done, cancelled).",
    "project.stage_changed": "A project moved to another stage of its methodology.",
    "project.health_changed": "A project's computed health changed.",
    "project.health_overridden": "A manager set a project's health by hand.",
    "project.archived": "A project was archived.",
    "project.unarchived": "A project was brought back from the archive.",
    "project.member_added": "Someone was added to a project.",
    "project.member_changed": "A project member's role changed.",
    "project.member_removed": "Someone was removed from a project.",
    "project.became_process": "A project was turned into a reusable process.",
    "task.created": "A task was created.",
    "task.updated": "A task's fields were changed.",
    "task.state_changed": "A task moved to another state.",
    "task.moved": "A task moved to another project or parent.",
    "task.deleted": "A task was deleted.",
    "task.overdue": "A task passed its due date unfinished (found by the overdue scan).",
    "dependency.added": "A dependency between two tasks was added.",
    "dependency.removed": "A dependency between two tasks was removed.",
    "milestone.created": "A milestone was created.",
    "milestone.updated": "A milestone's fields were changed.",
    "milestone.deleted": "A milestone was deleted.",
    "milestone.signed_off": "A milestone was signed off.",
    "milestone.sign_off_revoked": "A milestone's sign-off was revoked.",
    "comment.added": "A comment was added to a task or project.",
    "comment.deleted": "A comment was deleted.",
    "time.logged": "Time was logged on a task.",
    "time.updated": "A time entry was changed.",
    "time.deleted": "A time entry was deleted.",
    "cost.added": "A cost was recorded on a project.",
    "process.created": "A process was created.",
    "process.updated": "A process's fields were changed.",
    "process.steps_edited": "A process's steps were edited.",
    "process.published": "A process version was published.",
    "process.retired": "A process was retired.",
    "process.health_changed": "A process's health changed.",
    "process.became_project": "A process was turned into a project.",
    "process_run.started": "A run of a process started.",
    "process_run.decided": "A decision step of a process run was decided.",
    "process_run.completed": "A run of a process completed.",
    "event.raised": "An event was raised (raiseEvent or the raise_event action).",
    "automation.scheduled": "A scheduled rule's time came (rules with a schedule).",
}

FUNCTION_DESCRIPTIONS = {
    "lower": "The text in lower case.",
    "upper": "The text in upper case.",
    "len": "The length of a text, list or object.",
    "startswith": "Whether the text starts with prefix.",
    "endswith": "Whether the text ends with suffix.",
    "contains": "Whether haystack (a text, list or object) contains needle.",
    "matches": "Whether the text matches the regular expression pattern (patterns that may be slow are refused).",
    "days_between": "Whole days from start to end (dates or date-times).",
    "coalesce": "The first of its values that is not null.",
}


@hookimpl
def mcgraph_automation_actions() -> list[AutomationAction]:
    kinds = {**CORE_ACTIONS, "send_webhook": SEND_WEBHOOK}
    return [core_action(name, kind, ACTION_DESCRIPTIONS[name]) for name, kind in kinds.items()]


@hookimpl
def mcgraph_automation_triggers() -> list[AutomationTrigger]:
    return [AutomationTrigger(event_type=name, description=TRIGGER_DESCRIPTIONS[name]) for name in automations.CORE_EVENT_TYPES]


@hookimpl
def mcgraph_automation_conditions() -> list[ConditionFunction]:
    # The expression language's own functions: it keeps their arity and cost bounds.
    return [
        ConditionFunction(name=name, function=function.call, description=f"{function.usage}: {FUNCTION_DESCRIPTIONS[name]}")
        for name, function in expressions.FUNCTIONS.items()
    ]
