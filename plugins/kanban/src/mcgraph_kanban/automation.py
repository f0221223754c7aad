"""Automation: the ``kanban.pull_next`` action and the ``kanban.wip_limit_changed`` trigger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mcgraph.plugins import ActionCall, ActionFailed, AutomationAction, AutomationTrigger, TaskInfo

from mcgraph_kanban import wip
from mcgraph_kanban.limits import limits_in_force
from mcgraph_kanban.methodology import KEY, KanbanSettings

WIP_LIMIT_CHANGED = "kanban.wip_limit_changed"
PULL_FROM, PULL_INTO = "ready", "doing"


def next_to_pull(tasks: Sequence[TaskInfo], limit: int | None) -> tuple[TaskInfo | None, str | None]:
    """The oldest ``ready`` task to move into ``doing``, or None and why not."""
    ready = sorted((t for t in tasks if t.state == PULL_FROM), key=lambda t: (t.created_at is None, t.created_at, t.id))
    if not ready:
        return None, "no task is ready"
    refusal = wip.refusal(PULL_INTO, limit, sum(1 for t in tasks if t.state == PULL_INTO))
    if refusal:
        return None, refusal
    return ready[0], None


def project_of(params: Mapping[str, Any], names: Mapping[str, Any]) -> int:
    """The project the action works on: ``params.projectId``, else the event's project."""
    for candidate in (
        params.get("projectId"),
        (names.get("event") or {}).get("project_id"),
        (names.get("project") or {}).get("id"),
    ):
        if candidate not in (None, ""):
            return int(candidate)
    raise ActionFailed("kanban.pull_next needs a project: the event has none and no projectId was given")


async def pull_next(call: ActionCall) -> dict[str, Any]:
    """Move the oldest ready task of the project into doing, if its WIP limit allows."""
    unit = call.unit
    project = await unit.project(project_of(call.params, call.names))
    if project.methodology != KEY:
        raise ActionFailed(f"project {project.key} is not a kanban project")
    limits = await limits_in_force(unit.session, [project.id], unit.settings(KanbanSettings))
    task, why_not = next_to_pull(await unit.tasks(project.id), limits[project.id].get(PULL_INTO))
    if task is None:
        return {"task_id": None, "reason": why_not}
    await unit.set_task_state(task.id, PULL_INTO)
    return {"task_id": task.id, "title": task.title, "from": PULL_FROM, "to": PULL_INTO}


def _check(params: Mapping[str, Any]) -> list[str]:
    project_id = params.get("projectId")
    if project_id is not None and not str(project_id).isdigit():
        return ["projectId must be a project's number"]
    return []


ACTIONS = [
    AutomationAction(
        type="kanban.pull_next",
        description=(
            "Move the oldest ready task of the event's project (or of params.projectId) to doing, "
            "when the WIP limit of doing allows; outputs the task moved, or why none was."
        ),
        run=pull_next,
        optional=("projectId",),
        templates=("projectId",),
        check=_check,
    )
]

TRIGGERS = [
    AutomationTrigger(
        event_type=WIP_LIMIT_CHANGED,
        description="A kanban project's WIP limit of a state was set, changed or removed.",
        data={
            "state": "the state key",
            "limit": "the new limit; null when removed",
            "before": "the limit in force before; null when there was none",
        },
    )
]
