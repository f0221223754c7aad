"""Which events each live subscription is about: rules on event rows, without GraphQL.

An event concerns a project when it was recorded with the project's id (its tasks,
milestones, comments, time and costs included) or is about the project itself; it
concerns a process run when it is about the run or one of the run's tasks.
"""

from __future__ import annotations

from collections.abc import Collection

from mcgraph.db.models import Event

# What a portfolio dashboard shows: projects' and processes' health and status.
PORTFOLIO_TYPES = frozenset(
    {
        "project.created",
        "project.status_changed",
        "project.stage_changed",
        "project.health_changed",
        "project.health_overridden",
        "project.archived",
        "process.created",
        "process.published",
        "process.retired",
        "process.health_changed",
    }
)


def about_project(event: Event, project_id: int) -> bool:
    return event.project_id == project_id or (event.subject_type == "project" and event.subject_id == project_id)


def about_run(event: Event, run_id: int, task_run_id: int | None = None) -> bool:
    """``task_run_id``: the run of the event's task, when the event is about a task."""
    if event.subject_type == "process_run":
        return event.subject_id == run_id
    return event.subject_type == "task" and run_id in (task_run_id, (event.data or {}).get("run_id"))


def about_assignee(event: Event, user_id: int, current_assignee: int | None) -> bool:
    """A task event concerns an assignee who has the task, or who just gained or lost it."""
    if current_assignee == user_id:
        return True
    change = ((event.data or {}).get("changes") or {}).get("assignee_id")
    return bool(change) and user_id in change


def of_types(event: Event, types: Collection[str]) -> bool:
    """No types: every event. A type ending in ``.*`` names a family (``task.*``)."""
    if not types:
        return True
    return event.type in types or any(t.endswith(".*") and event.type.startswith(t[:-1]) for t in types)
