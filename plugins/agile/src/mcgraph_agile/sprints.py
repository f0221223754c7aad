"""What the sprint mutations do, on a :class:`~mcgraph.plugins.PluginUnit`.

Each function checks its rule, changes the agile tables, records an ``agile.*`` event
and re-assesses the project's health; a broken rule raises a user error, so nothing
is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from mcgraph.plugins import PluginUnit, StateCategory

from mcgraph_agile import store
from mcgraph_agile.methodology import KEY
from mcgraph_agile.models import OPEN_STATES, SprintRow, SprintState, SprintTaskRow
from mcgraph_agile.sprint_math import Member, committed_points, completed_points

NAME_LIMIT = 200
BACKLOG = "backlog"  # where a completed sprint's unfinished tasks go back to


async def get_sprint(unit: PluginUnit, sprint_id: int, field: str = "sprintId") -> SprintRow:
    sprint = await unit.session.scalar(sa.select(SprintRow).where(SprintRow.id == sprint_id))
    if sprint is None:
        raise unit.refuse(field, "No such sprint.", "NOT_FOUND")
    return sprint


async def create_sprint(unit: PluginUnit, project_id: int, name: str, goal: str, start: date, end: date) -> SprintRow:
    project = await unit.project(project_id)
    if project.methodology != KEY:
        raise unit.refuse("projectId", "Sprints belong to agile projects only.")
    if end < start:
        raise unit.refuse("endDate", "The sprint must end on or after its start date.")
    number = await store.next_number(unit.session, project_id)
    name = name.strip() or f"Sprint {number}"
    if len(name) > NAME_LIMIT:
        raise unit.refuse("name", f"At most {NAME_LIMIT} characters.")
    sprint = SprintRow(
        organization_id=unit.organization_id,
        project_id=project_id,
        number=number,
        name=name,
        goal=goal,
        start_date=start,
        end_date=end,
        state=SprintState.PLANNED,
        created_at=unit.now,
    )
    unit.session.add(sprint)
    await unit.session.flush()
    unit.record("agile.sprint_created", sprint, project_id=project_id, number=number, name=name, start_date=start, end_date=end)
    return sprint


def _require_open(unit: PluginUnit, sprint: SprintRow) -> None:
    if sprint.state not in OPEN_STATES:
        raise unit.refuse("sprintId", f"Sprint {sprint.number} is completed; its tasks can no longer change.")


async def add_tasks(unit: PluginUnit, sprint_id: int, task_ids: Sequence[int]) -> tuple[SprintRow, list[int]]:
    """Put the tasks into the sprint; tasks already in it stay. Returns the ids added."""
    sprint = await get_sprint(unit, sprint_id)
    _require_open(unit, sprint)
    tasks = {t.id: t for t in await unit.tasks(sprint.project_id)}
    stays = await store.open_stays(unit.session, sprint.project_id, task_ids)
    added: list[int] = []
    for task_id in dict.fromkeys(task_ids):
        task = tasks.get(task_id)
        if task is None:
            raise unit.refuse("taskIds", f"Task {task_id} is not a task of this sprint's project.", "NOT_FOUND")
        if task.category is StateCategory.DONE:
            raise unit.refuse("taskIds", f"'{task.title}' is already done.")
        stay = stays.get(task_id)
        if stay is not None and stay[1].id != sprint.id:
            raise unit.refuse("taskIds", f"'{task.title}' is already in sprint {stay[1].number}; remove it from there first.")
        if stay is None:
            unit.session.add(
                SprintTaskRow(
                    organization_id=unit.organization_id,
                    sprint_id=sprint.id,
                    task_id=task_id,
                    added_at=unit.now,
                    points=float(task.points or 0),
                )
            )
            added.append(task_id)
    if added:
        points = sum(float(tasks[i].points or 0) for i in added)
        after_start = sprint.state is SprintState.ACTIVE
        unit.record(
            "agile.sprint_tasks_added", sprint, project_id=sprint.project_id, task_ids=added, points=points, after_start=after_start
        )
        await unit.refresh_health(sprint.project_id)
    return sprint, added


async def remove_tasks(unit: PluginUnit, sprint_id: int, task_ids: Sequence[int]) -> SprintRow:
    """Take the tasks out of the sprint: forgotten while it is planned, marked removed once started."""
    sprint = await get_sprint(unit, sprint_id)
    _require_open(unit, sprint)
    stays = await store.open_stays(unit.session, sprint.project_id, task_ids)
    for task_id in dict.fromkeys(task_ids):
        stay = stays.get(task_id)
        if stay is None or stay[1].id != sprint.id:
            raise unit.refuse("taskIds", f"Task {task_id} is not in sprint {sprint.number}.", "NOT_FOUND")
        if sprint.state is SprintState.PLANNED:
            await unit.session.delete(stay[0])
        else:
            stay[0].removed_at = unit.now
    unit.record("agile.sprint_tasks_removed", sprint, project_id=sprint.project_id, task_ids=list(dict.fromkeys(task_ids)))
    await unit.refresh_health(sprint.project_id)
    return sprint


async def _members(unit: PluginUnit, sprint: SprintRow) -> list[SprintTaskRow]:
    rows = await unit.session.scalars(
        sa.select(SprintTaskRow).where(SprintTaskRow.sprint_id == sprint.id, SprintTaskRow.removed_at.is_(None))
    )
    return list(rows)


async def start_sprint(unit: PluginUnit, sprint_id: int) -> SprintRow:
    """Start the sprint: its tasks' points now are what it commits to."""
    sprint = await get_sprint(unit, sprint_id)
    if sprint.state is not SprintState.PLANNED:
        raise unit.refuse("sprintId", f"Sprint {sprint.number} is {sprint.state.value}; only a planned sprint starts.")
    if sprint.end_date < unit.today:
        raise unit.refuse("sprintId", f"Sprint {sprint.number} was to end on {sprint.end_date}; change its dates first.")
    active = await store.active_sprint(unit.session, sprint.project_id)
    if active is not None:
        raise unit.refuse("sprintId", f"Sprint {active.number} is still active; complete it first.")
    stays = await _members(unit, sprint)
    if not stays:
        raise unit.refuse("sprintId", "Add tasks to the sprint before starting it.")
    points = {t.id: float(t.points or 0) for t in await unit.tasks(sprint.project_id)}
    for stay in stays:
        stay.points = points.get(stay.task_id, stay.points)
    sprint.state = SprintState.ACTIVE
    sprint.started_at = unit.now
    sprint.committed_points = committed_points(Member(s.task_id, s.points, s.added_at) for s in stays)
    unit.record(
        "agile.sprint_started", sprint, project_id=sprint.project_id, number=sprint.number,
        committed_points=sprint.committed_points, task_ids=[s.task_id for s in stays],
    )
    await unit.refresh_health(sprint.project_id)
    return sprint


async def complete_sprint(unit: PluginUnit, sprint_id: int) -> SprintRow:
    """Complete the sprint: record its done points; its unfinished tasks are back in the backlog."""
    sprint = await get_sprint(unit, sprint_id)
    if sprint.state is not SprintState.ACTIVE:
        raise unit.refuse("sprintId", f"Sprint {sprint.number} is {sprint.state.value}; only the active sprint completes.")
    done = {t.id for t in await unit.tasks(sprint.project_id) if t.category is StateCategory.DONE}
    stays = await _members(unit, sprint)
    members = [Member(s.task_id, s.points, s.added_at, None, unit.now if s.task_id in done else None) for s in stays]
    sprint.state = SprintState.COMPLETED
    sprint.completed_at = unit.now
    sprint.completed_points = completed_points(members)
    unfinished = [m.task_id for m in members if not m.done]
    for task_id in unfinished:  # back to the product backlog, through the usual checks and events
        await unit.set_task_state(task_id, BACKLOG)
    unit.record(
        "agile.sprint_completed", sprint, project_id=sprint.project_id, number=sprint.number,
        committed_points=sprint.committed_points, completed_points=sprint.completed_points, returned_to_backlog=unfinished,
    )
    await unit.refresh_health(sprint.project_id)
    return sprint
