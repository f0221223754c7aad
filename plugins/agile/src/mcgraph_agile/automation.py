"""What automation rules get from the agile plugin: its events as triggers, and the
action ``agile.add_to_active_sprint``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcgraph.plugins import ActionCall, ActionFailed, AutomationAction, AutomationTrigger

from mcgraph_agile import store
from mcgraph_agile.sprints import add_tasks

TRIGGERS = [
    AutomationTrigger(
        "agile.sprint_created",
        "A sprint was planned.",
        {"number": "the sprint's number in its project", "name": "its name", "start_date": "its first day", "end_date": "its last day"},
    ),
    AutomationTrigger(
        "agile.sprint_started",
        "A sprint started.",
        {"number": "the sprint's number", "committed_points": "points committed", "task_ids": "its tasks"},
    ),
    AutomationTrigger(
        "agile.sprint_completed",
        "A sprint completed.",
        {
            "number": "the sprint's number",
            "committed_points": "points committed at the start",
            "completed_points": "points done",
            "returned_to_backlog": "ids of the unfinished tasks, back in the backlog",
        },
    ),
    AutomationTrigger(
        "agile.sprint_tasks_added",
        "Tasks were put into a sprint.",
        {"task_ids": "the tasks added", "points": "their points", "after_start": "whether the sprint had started"},
    ),
    AutomationTrigger("agile.sprint_tasks_removed", "Tasks were taken out of a sprint.", {"task_ids": "the tasks removed"}),
]


def _task_id(params: Mapping[str, Any], names: Mapping[str, Any]) -> int:
    task_id = params.get("taskId") or (names.get("task") or {}).get("id")
    if not task_id:
        raise ActionFailed("There is no task to act on: the event is not about a task and no taskId is given.")
    try:
        return int(task_id)
    except (TypeError, ValueError):
        raise ActionFailed(f"taskId {task_id!r} is not a task id.") from None


async def add_to_active_sprint(call: ActionCall) -> Mapping[str, Any]:
    """Put the task into its project's active sprint; nothing to do when it is in it already."""
    unit = call.unit
    task_id = _task_id(call.params, call.names)
    task = await store.task_of(unit.session, unit.organization_id, task_id)
    if task is None or task.project_id is None:
        raise ActionFailed(f"Task {task_id} is not a task of a project.")
    if task.done:
        raise ActionFailed(f"Task {task_id} is done; done tasks do not join sprints.")
    sprint = await store.active_sprint(unit.session, task.project_id)
    if sprint is None:
        raise ActionFailed("The task's project has no active sprint.")
    stay = (await store.open_stays(unit.session, task.project_id, [task_id])).get(task_id)
    if stay is not None and stay[1].id == sprint.id:
        return {"sprintId": sprint.id, "taskId": task_id, "added": False}
    if stay is not None:
        raise ActionFailed(f"Task {task_id} is in sprint {stay[1].number}, which has not started.")
    await add_tasks(unit, sprint.id, [task_id])
    return {"sprintId": sprint.id, "taskId": task_id, "added": True}


ADD_TO_ACTIVE_SPRINT = AutomationAction(
    type="agile.add_to_active_sprint",
    description="Put the task (the event's, or taskId) into its project's active sprint; a task already in it stays.",
    run=add_to_active_sprint,
    optional=("taskId",),
    describe=lambda params, names: f"add task {params.get('taskId') or (names.get('task') or {}).get('id')} to the active sprint",
)
