"""Tasks: creation, edits, state changes through the methodology and the dependency
rule, ordering, and dependencies between tasks (cycles refused, naming the cycle).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select

from mcgraph.db.models import Dependency, DependencyType, Membership, Milestone, Priority, Project, StateCategory, Task, TaskLabel
from mcgraph.domain import runs, snapshots
from mcgraph.domain.errors import Problem, Problems, UserError, UserErrorCode
from mcgraph.domain.health_refresh import refresh_health
from mcgraph.domain.permissions import Action, can
from mcgraph.domain.projects import check_labels, check_version, get_project, methodology_of
from mcgraph.domain.ranking import key_between
from mcgraph.domain.schedule import ScheduleLink, find_cycle
from mcgraph.domain.unit import Unit, changed
from mcgraph.plugins.types import Methodology, TaskTransition

# Bounds that keep plans computable: schedules and forecasts add them up into dates.
MAX_ESTIMATE = 100_000  # hours of an estimate, or story points
MAX_LAG_DAYS = 3_650
EDITABLE = {"title", "description", "assignee_id", "priority", "estimate_hours", "points", "start_date", "due_date", "milestone_id", "parent_id"}


async def get_task(unit: Unit, task_id: int, field: str = "taskId") -> Task:
    task = await unit.session.get(Task, task_id)
    if task is None or task.organization_id != unit.actor.organization_id:
        raise UserError.one(field, "No such task.", UserErrorCode.NOT_FOUND)
    return task


async def task_project(unit: Unit, task: Task) -> Project:
    if task.project_id is None:
        raise UserError.one("taskId", "This task belongs to a process run, not a project.", UserErrorCode.INVALID)
    return await get_project(unit, task.project_id)


def task_key(project: Project, task: Task) -> str:
    return f"{project.key}-{task.key_number}"


async def create_task(
    unit: Unit,
    *,
    project_id: int,
    title: str,
    description: str = "",
    state: str | None = None,
    parent_id: int | None = None,
    assignee_id: int | None = None,
    priority: Priority = Priority.MEDIUM,
    estimate_hours: float | None = None,
    points: float | None = None,
    start_date: date | None = None,
    due_date: date | None = None,
    milestone_id: int | None = None,
    labels: Sequence[str] = (),
) -> Task:
    project = await get_project(unit, project_id, lock=True)  # serialises numbering within the project
    methodology = methodology_of(unit, project)
    problems = Problems()
    chosen = methodology.state(state) if state else methodology.first_state
    if chosen is None:
        problems.add("state", _unknown_state(methodology, state), UserErrorCode.UNKNOWN_STATE)
    values = {
        "title": title, "description": description, "assignee_id": assignee_id, "priority": priority,
        "estimate_hours": estimate_hours, "points": points, "start_date": start_date, "due_date": due_date,
        "milestone_id": milestone_id, "parent_id": parent_id,
    }
    await _check(unit, problems, project, None, values)
    clean_labels = check_labels(problems, labels)
    problems.raise_any()
    assert chosen is not None
    last_rank, number = (
        await unit.session.execute(select(func.max(Task.rank), func.max(Task.key_number)).where(Task.project_id == project.id))
    ).one()
    task = Task(
        organization_id=project.organization_id,
        project_id=project.id,
        key_number=(number or 0) + 1,
        state=chosen.key,
        state_category=chosen.category,
        rank=key_between(last_rank, None),
        created_by_id=unit.actor.person_id,
        completed_at=unit.now if chosen.category == StateCategory.DONE else None,
        created_at=unit.now,
        updated_at=unit.now,
        **{**values, "title": title.strip()},
    )
    unit.session.add(task)
    await unit.session.flush()
    if chosen.key != methodology.first_state.key:
        # created straight into a later state: the plugins check it as a move from the first
        refused = await _transition_refusals(unit, task, project, methodology, methodology.first_state.key, chosen.key)
        if refused:
            raise UserError(*refused)
    unit.session.add_all(TaskLabel(organization_id=task.organization_id, task_id=task.id, name=n) for n in clean_labels)
    unit.record("task.created", task, project_id=project.id, title=task.title, state=task.state, key=task_key(project, task))
    await unit.session.flush()
    await refresh_health(unit, [project.id])
    return task


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """A task of a plan created at once (:func:`create_planned_tasks`)."""

    title: str
    description: str = ""
    assignee_id: int | None = None
    estimate_hours: float | None = None
    start_date: date | None = None
    due_date: date | None = None


async def create_planned_tasks(
    unit: Unit, project: Project, planned: Sequence[PlannedTask], links: Sequence[tuple[int, int]]
) -> list[Task]:
    """Create a new project's whole plan: the tasks in their first state, then the
    finish-to-start ``links`` between them (pairs of indexes into ``planned``).

    In a number of statements that does not grow with the plan: the assignees are checked
    in one query, the tasks and their events inserted together, the links checked for a
    cycle once (one topological sort of the whole set), and the health refreshed once.
    """
    methodology = methodology_of(unit, project)
    first = methodology.first_state
    problems = Problems()
    assignees = {p.assignee_id for p in planned if p.assignee_id}
    members = set(
        await unit.session.scalars(
            select(Membership.user_id).where(Membership.organization_id == project.organization_id, Membership.user_id.in_(assignees))
        )
    ) if assignees else set()
    for index, item in enumerate(planned):
        values = {"title": item.title, "start_date": item.start_date, "due_date": item.due_date, "estimate_hours": item.estimate_hours}
        _check_plain(problems, values, ["tasks", str(index)])
        if item.assignee_id and item.assignee_id not in members:
            problems.add(["tasks", str(index), "assigneeId"], "The assignee is not a member of the organisation.", UserErrorCode.NOT_A_MEMBER)
    by_index = [ScheduleLink(p, s, DependencyType.FS) for p, s in links]
    cycle = find_cycle(by_index)
    if cycle:
        problems.add("steps", f"The steps' dependencies form a cycle through steps {cycle}.", UserErrorCode.CYCLE)
    problems.raise_any()
    last_rank, number = (
        await unit.session.execute(select(func.max(Task.rank), func.max(Task.key_number)).where(Task.project_id == project.id))
    ).one()
    created: list[Task] = []
    for index, item in enumerate(planned):
        await _let_others_run(index)
        last_rank = key_between(last_rank, None)
        number = (number or 0) + 1
        created.append(
            Task(
                organization_id=project.organization_id, project_id=project.id, key_number=number, state=first.key,
                state_category=first.category, rank=last_rank, created_by_id=unit.actor.person_id,
                completed_at=unit.now if first.category == StateCategory.DONE else None, created_at=unit.now, updated_at=unit.now,
                title=item.title.strip(), description=item.description, assignee_id=item.assignee_id,
                estimate_hours=item.estimate_hours, start_date=item.start_date, due_date=item.due_date,
            )
        )
    unit.session.add_all(created)
    await unit.session.flush()
    for index, task in enumerate(created):
        await _let_others_run(index)
        unit.record("task.created", task, project_id=project.id, title=task.title, state=task.state, key=task_key(project, task))
    dependencies = [
        Dependency(
            organization_id=project.organization_id, predecessor_id=created[p].id, successor_id=created[s].id,
            type=DependencyType.FS, lag_days=0.0, created_at=unit.now,
        )
        for p, s in links
    ]
    unit.session.add_all(dependencies)
    await unit.session.flush()
    for index, dependency in enumerate(dependencies):
        await _let_others_run(index)
        unit.record(
            "dependency.added", dependency, project_id=project.id, predecessor_id=dependency.predecessor_id,
            successor_id=dependency.successor_id, type=dependency.type, lag_days=dependency.lag_days,
        )
    await unit.session.flush()
    await refresh_health(unit, [project.id])
    return created


async def _let_others_run(index: int, every: int = 25) -> None:
    """Hand the event loop to other requests (and ``/healthz``) every ``every`` items of a long loop."""
    if index and index % every == 0:
        await asyncio.sleep(0)


async def update_task(unit: Unit, task_id: int, expected_version: int | None, fields: dict[str, Any]) -> Task:
    task = await get_task(unit, task_id)
    check_version(task, expected_version)
    project = await task_project(unit, task)
    problems = Problems()
    values = {k: v for k, v in fields.items() if k in EDITABLE}
    if "description" in values and values["description"] is None:
        values["description"] = ""
    if "priority" in values and values["priority"] is None:
        problems.add("priority", "A task always has a priority.", UserErrorCode.REQUIRED)
    if "title" in values:
        values["title"] = (values["title"] or "").strip()
    merged = {name: values.get(name, getattr(task, name)) for name in EDITABLE}
    await _check(unit, problems, project, task, merged)
    labels = check_labels(problems, fields["labels"]) if "labels" in fields else None
    problems.raise_any()
    changes = changed(task, **values)
    if "due_date" in changes:
        task.overdue_noted_at = None  # a new due date may pass again
    if labels is not None:
        before = sorted(await unit.session.scalars(select(TaskLabel.name).where(TaskLabel.task_id == task.id)))
        if before != labels:
            await unit.session.execute(delete(TaskLabel).where(TaskLabel.task_id == task.id))
            unit.session.add_all(TaskLabel(organization_id=task.organization_id, task_id=task.id, name=n) for n in labels)
            changes["labels"] = (before, labels)
    if changes:
        task.updated_at = unit.now
        unit.record("task.updated", task, project_id=project.id, changes=changes)
        await unit.session.flush()
        await refresh_health(unit, [project.id])
    return task


async def set_state(unit: Unit, task_id: int, state: str, *, force: bool = False, expected_version: int | None = None) -> Task:
    """Move a task to ``state`` of its methodology.

    A task reaches a DONE state only after its finish-to-start predecessors are done,
    unless a manager forces it; the methodology's plugins may refuse the change too.
    """
    task = await get_task(unit, task_id)
    check_version(task, expected_version)
    project = await get_project(unit, task.project_id) if task.project_id else None
    methodology = methodology_of(unit, project) if project else runs.run_methodology(unit, None)
    target = methodology.state(state)
    if target is None:
        raise UserError.one("state", _unknown_state(methodology, state), UserErrorCode.UNKNOWN_STATE)
    if target.key == task.state:
        return task
    if force and not can(unit.actor, Action.PROJECT_FORCE):
        raise UserError.one("force", "Only owners, admins and managers may force a state change.", UserErrorCode.FORBIDDEN)
    problems: list[Problem] = []
    if target.category == StateCategory.DONE and not force:
        blockers = await open_predecessors(unit, task)
        if blockers:
            names = ", ".join(f"{task_key(project, b)} {b.title!r}" if project else repr(b.title) for b in blockers)
            problems.append(Problem(["state"], f"Finish its predecessors first: {names}.", UserErrorCode.BLOCKED_BY_DEPENDENCY))
    problems.extend(await _transition_refusals(unit, task, project, methodology, task.state, target.key))
    if problems:
        raise UserError(*problems)
    before = task.state_category
    changes = changed(
        task,
        state=target.key,
        state_category=target.category,
        completed_at=unit.now if target.category == StateCategory.DONE else None,
    )
    task.updated_at = unit.now
    extra = {"run_id": task.process_run_id} if task.process_run_id else {}
    unit.record("task.state_changed", task, project_id=task.project_id, changes=changes, forced=force, **extra)
    await unit.session.flush()
    await runs.on_task_state_changed(unit, task, before, target.category)
    if task.project_id:
        await refresh_health(unit, [task.project_id])
    return task


async def _transition_refusals(
    unit: Unit, task: Task, project: Project | None, methodology: Methodology, from_state: str, to_state: str
) -> list[Problem]:
    """What the plugins' ``mcgraph_check_task_transition`` say against this change of state."""
    transition = TaskTransition(
        task=snapshots.task_info(task),
        project=snapshots.project_info(project) if project else None,
        methodology=methodology,
        from_state=from_state,
        to_state=to_state,
        actor_id=unit.actor.user_id,
        now=unit.now,
        session=unit.session,
        tasks=lambda: snapshots.container_tasks(unit.session, task),
        settings=unit.plugins.settings_of,
    )
    refusals = await unit.plugins.check_task_transition(transition)
    return [Problem(["state"], f"{r.plugin}: {r.reason}", UserErrorCode.TRANSITION_REFUSED) for r in refusals]


async def open_predecessors(unit: Unit, task: Task) -> list[Task]:
    stmt = (
        select(Task)
        .join(Dependency, Dependency.predecessor_id == Task.id)
        .where(Dependency.successor_id == task.id, Dependency.type == DependencyType.FS, Task.state_category != StateCategory.DONE)
        .order_by(Task.key_number)
    )
    return list(await unit.session.scalars(stmt))


async def move_task(unit: Unit, task_id: int, after_id: int | None, before_id: int | None) -> Task:
    """Place a task just after ``after_id`` or just before ``before_id`` in its list."""
    task = await get_task(unit, task_id)
    if (after_id is None) == (before_id is None):
        raise UserError.one("afterId", "Give exactly one of afterId and beforeId.", UserErrorCode.INVALID)
    anchor = await get_task(unit, after_id or before_id, "afterId" if after_id else "beforeId")  # type: ignore[arg-type]
    if anchor.project_id != task.project_id or anchor.process_run_id != task.process_run_id or anchor.id == task.id:
        raise UserError.one("afterId" if after_id else "beforeId", "Place a task beside another task of its own list.", UserErrorCode.INVALID)
    siblings = Task.project_id == task.project_id if task.project_id else Task.process_run_id == task.process_run_id
    if after_id:
        following = await unit.session.scalar(select(func.min(Task.rank)).where(siblings, Task.rank > anchor.rank, Task.id != task.id))
        rank = key_between(anchor.rank, following)
    else:
        preceding = await unit.session.scalar(select(func.max(Task.rank)).where(siblings, Task.rank < anchor.rank, Task.id != task.id))
        rank = key_between(preceding, anchor.rank)
    changes = changed(task, rank=rank)
    unit.record("task.moved", task, project_id=task.project_id, changes=changes)
    await unit.session.flush()
    return task


async def delete_task(unit: Unit, task_id: int) -> Task:
    task = await get_task(unit, task_id)
    unit.record("task.deleted", task, project_id=task.project_id, title=task.title)
    await unit.session.delete(task)
    await unit.session.flush()
    if task.project_id:
        await refresh_health(unit, [task.project_id])
    return task


async def add_dependency(
    unit: Unit, predecessor_id: int, successor_id: int, type: DependencyType = DependencyType.FS, lag_days: float = 0.0
) -> Dependency:
    if not -MAX_LAG_DAYS <= lag_days <= MAX_LAG_DAYS:
        raise UserError.one("lagDays", f"A lag is at most {MAX_LAG_DAYS:,} days either way.", UserErrorCode.INVALID)
    predecessor = await get_task(unit, predecessor_id, "predecessorId")
    successor = await get_task(unit, successor_id, "successorId")
    if predecessor.id == successor.id:
        raise UserError.one("successorId", "A task cannot depend on itself.", UserErrorCode.CYCLE)
    if (predecessor.project_id, predecessor.process_run_id) != (successor.project_id, successor.process_run_id):
        raise UserError.one("successorId", "Both tasks must be in the same project.", UserErrorCode.INVALID)
    exists = await unit.session.scalar(
        select(Dependency.id).where(Dependency.predecessor_id == predecessor.id, Dependency.successor_id == successor.id)
    )
    if exists:
        raise UserError.one("successorId", "This dependency exists already.", UserErrorCode.TAKEN)
    links = await _container_links(unit, predecessor)
    cycle = find_cycle(links, adding=ScheduleLink(predecessor.id, successor.id, type, lag_days))
    if cycle:
        raise UserError.one("successorId", f"This dependency would close a cycle: {await _describe(unit, cycle)}.", UserErrorCode.CYCLE)
    dependency = Dependency(
        organization_id=predecessor.organization_id,
        predecessor_id=predecessor.id,
        successor_id=successor.id,
        type=type,
        lag_days=lag_days,
        created_at=unit.now,
    )
    unit.session.add(dependency)
    await unit.session.flush()
    unit.record("dependency.added", dependency, project_id=predecessor.project_id, predecessor_id=predecessor.id, successor_id=successor.id, type=type, lag_days=lag_days)
    if predecessor.project_id:
        await refresh_health(unit, [predecessor.project_id])
    return dependency


async def remove_dependency(unit: Unit, dependency_id: int) -> Dependency:
    dependency = await unit.session.get(Dependency, dependency_id)
    if dependency is None or dependency.organization_id != unit.actor.organization_id:
        raise UserError.one("dependencyId", "No such dependency.", UserErrorCode.NOT_FOUND)
    predecessor = await get_task(unit, dependency.predecessor_id)
    unit.record("dependency.removed", dependency, project_id=predecessor.project_id, predecessor_id=dependency.predecessor_id, successor_id=dependency.successor_id)
    await unit.session.delete(dependency)
    await unit.session.flush()
    if predecessor.project_id:
        await refresh_health(unit, [predecessor.project_id])
    return dependency


async def _container_links(unit: Unit, task: Task) -> list[ScheduleLink]:
    container = Task.project_id == task.project_id if task.project_id else Task.process_run_id == task.process_run_id
    rows = await unit.session.execute(
        select(Dependency.predecessor_id, Dependency.successor_id, Dependency.type, Dependency.lag_days)
        .join(Task, Task.id == Dependency.predecessor_id)
        .where(container)
    )
    return [ScheduleLink(p, s, t, lag) for p, s, t, lag in rows]


async def _describe(unit: Unit, cycle: list[int]) -> str:
    rows = await unit.session.execute(
        select(Task.id, Task.key_number, Project.key).join(Project, Project.id == Task.project_id, isouter=True).where(Task.id.in_(cycle))
    )
    names = {tid: f"{key}-{number}" if key else f"#{tid}" for tid, number, key in rows}
    return " -> ".join(names[t] for t in cycle)


def _unknown_state(methodology: Any, state: str | None) -> str:
    known = ", ".join(s.key for s in methodology.states)
    return f"{methodology.name} has no task state {state!r}; its states: {known}."


def _check_plain(problems: Problems, values: dict[str, Any], where: list[str] | None = None) -> None:
    """The checks of a task's own values, which need no query."""
    at = where or []
    title = (values.get("title") or "").strip()
    if not title:
        problems.add([*at, "title"], "A task needs a title.", UserErrorCode.REQUIRED)
    elif len(title) > 500:
        problems.add([*at, "title"], "A title has at most 500 characters.", UserErrorCode.TOO_LONG)
    start, due = values.get("start_date"), values.get("due_date")
    if start and due and due < start:
        problems.add([*at, "dueDate"], f"The due date ({due}) is before the start ({start}).", UserErrorCode.DATE_RANGE)
    for name, label in (("estimate_hours", "estimateHours"), ("points", "points")):
        if values.get(name) is not None and values[name] < 0:
            problems.add([*at, label], f"`{label}` cannot be negative.", UserErrorCode.INVALID)
        elif values.get(name) is not None and values[name] > MAX_ESTIMATE:
            problems.add([*at, label], f"`{label}` is at most {MAX_ESTIMATE:,}.", UserErrorCode.INVALID)


async def _check(unit: Unit, problems: Problems, project: Project, task: Task | None, values: dict[str, Any]) -> None:
    _check_plain(problems, values)
    if values.get("assignee_id") and not await unit.session.scalar(
        select(Membership.id).where(Membership.organization_id == project.organization_id, Membership.user_id == values["assignee_id"])
    ):
        problems.add("assigneeId", "The assignee is not a member of the organisation.", UserErrorCode.NOT_A_MEMBER)
    if values.get("milestone_id"):
        milestone = await unit.session.get(Milestone, values["milestone_id"])
        if milestone is None or milestone.project_id != project.id:
            problems.add("milestoneId", "No such milestone in this project.", UserErrorCode.NOT_FOUND)
    if values.get("parent_id"):
        parent = await unit.session.get(Task, values["parent_id"])
        if parent is None or parent.project_id != project.id:
            problems.add("parentId", "No such task in this project.", UserErrorCode.NOT_FOUND)
        elif task is not None and await _is_descendant(unit, parent.id, task.id):
            problems.add("parentId", "A task cannot sit under itself or its own subtasks.", UserErrorCode.CYCLE)


async def _is_descendant(unit: Unit, candidate_id: int, ancestor_id: int) -> bool:
    """Whether ``candidate_id`` is ``ancestor_id`` or one of its subtasks, at any depth."""
    current: int | None = candidate_id
    seen: set[int] = set()
    while current is not None and current not in seen:
        if current == ancestor_id:
            return True
        seen.add(current)
        current = await unit.session.scalar(select(Task.parent_id).where(Task.id == current))
    return False
