"""Projects and processes feed each other.

* ``process_from_project``: a finished project becomes a draft process. Its tasks become
  steps in dependency order; each step's offset and expected duration come from what
  actually happened (when the task first went in progress, when it was done); assignees
  become roles, so the process does not depend on who did the work last time.
* ``project_from_process``: a process's newest published version becomes a project's
  plan: a task per step, due from the step's offset and duration after the start date,
  dependencies from the steps each waits for.

Both keep the link: the process knows the project it came from, the project the process
it was started from.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from mcgraph.db.models import Assignment, Dependency, DependencyType, Event, Membership, Process, Project, StateCategory, Task
from mcgraph.domain import processes, projects, tasks
from mcgraph.domain.errors import UserError, UserErrorCode
from mcgraph.domain.runs import waits_for_keys
from mcgraph.domain.schedule import DependencyCycle, ScheduleLink, ScheduleTask, compute_schedule
from mcgraph.domain.unit import Unit


async def process_from_project(unit: Unit, project_id: int, *, key: str, name: str | None = None) -> Process:
    project = await projects.get_project(unit, project_id)
    rows = list(await unit.session.scalars(select(Task).where(Task.project_id == project.id, Task.process_run_id.is_(None))))
    if not rows:
        raise UserError.one("projectId", "The project has no tasks to turn into steps.", UserErrorCode.INVALID)
    limit = unit.settings.max_process_steps
    if len(rows) > limit:  # before the steps are made: a process version could not hold them
        raise UserError.one(
            "projectId", f"The project has {len(rows)} tasks; a process has at most {limit} steps (MCGRAPH_MAX_PROCESS_STEPS).", UserErrorCode.TOO_LONG
        )
    ids = [t.id for t in rows]
    links = [
        (p, s)
        for p, s in await unit.session.execute(
            select(Dependency.predecessor_id, Dependency.successor_id).where(Dependency.successor_id.in_(ids), Dependency.predecessor_id.in_(ids))
        )
    ]
    started = await _first_progress(unit, ids)
    roles = dict(
        (await unit.session.execute(select(Membership.user_id, Membership.role).where(Membership.organization_id == project.organization_id))).all()
    )
    origin = _origin(project, rows, started)
    order = _dependency_order(rows, links)
    keys: dict[int, str] = {}
    taken: set[str] = set()
    specs = []
    predecessors: dict[int, list[int]] = defaultdict(list)
    for p, s in links:
        predecessors[s].append(p)
    for task in order:
        step_key = processes.slug(task.title)
        while step_key in taken:
            step_key = f"{step_key}-{task.key_number}"[:64]
        keys[task.id] = step_key
        taken.add(step_key)
        begin = started.get(task.id) or task.created_at
        finish = task.completed_at or (datetime.combine(task.due_date, time(), UTC) if task.due_date else None)
        duration = (finish - begin).total_seconds() / 3600 if finish and finish > begin else (task.estimate_hours or 8.0)
        role = roles.get(task.assignee_id) if task.assignee_id else None
        specs.append(
            processes.StepSpec(
                name=task.title,
                instructions=task.description,
                key=step_key,
                assignment=Assignment.TEAM_ROLE if role else Assignment.OWNER,
                assignee_role=role,
                offset_hours=round(max(0.0, (begin - origin).total_seconds() / 3600), 2),
                duration_hours=round(duration, 2),
                waits_for=[keys[p] for p in predecessors[task.id] if p in keys],
            )
        )
    process = await processes.create_process(
        unit, key=key or f"{project.key}P"[:10], name=name or project.name, purpose=project.objective, steps=specs, source_project_id=project.id
    )
    unit.record("project.became_process", project, project_id=project.id, process_id=process.id)
    return process


async def project_from_process(
    unit: Unit, process_key: str, *, key: str, name: str | None = None, start_date: date | None = None, manager_id: int | None = None
) -> Project:
    process = await processes.process_by_key(unit, process_key)
    version = await processes.latest_published(unit, process)
    if version is None:
        raise UserError.one("processKey", f"{process.key} has no published version to plan from.", UserErrorCode.INVALID)
    steps = await processes.version_steps(unit, version.id)
    start = start_date or unit.today
    hours = unit.settings.hours_per_day
    position = {step.key: index for index, step in enumerate(steps)}
    links = [(position[needed], index) for index, step in enumerate(steps) for needed in waits_for_keys(step, steps, index)]
    try:
        plan = compute_schedule(
            [ScheduleTask(index, s.duration_hours / hours, s.offset_hours / hours) for index, s in enumerate(steps)],
            [ScheduleLink(p, s, DependencyType.FS) for p, s in links],
        )
    except DependencyCycle as cycle:
        raise UserError.one("processKey", f"The steps of {process.key} wait for each other in a cycle: {cycle}.", UserErrorCode.CYCLE) from None
    project = await projects.create_project(
        unit,
        key=key,
        name=name or process.name,
        objective=process.purpose,
        start_date=start,
        target_end_date=start + timedelta(days=int(plan.finish + 0.999)),
        manager_id=manager_id or process.owner_id,
    )
    project.source_process_id = process.id
    await unit.session.flush()
    planned = []
    for index, step in enumerate(steps):
        times = plan.times[index]
        planned.append(
            tasks.PlannedTask(
                title=step.name,
                description=step.instructions,
                assignee_id=step.assignee_id if step.assignment == Assignment.USER else (process.owner_id if step.assignment == Assignment.OWNER else None),
                estimate_hours=step.duration_hours,
                start_date=start + timedelta(days=int(times.earliest_start)),
                due_date=start + timedelta(days=int(times.earliest_finish + 0.999)),
            )
        )
    # one statement set for the whole plan, one cycle check and one health refresh (not one per step)
    await tasks.create_planned_tasks(unit, project, planned, links)
    unit.record("process.became_project", process, project_id=project.id)
    await unit.session.flush()
    return project


async def _first_progress(unit: Unit, task_ids: list[int]) -> dict[int, datetime]:
    """When each task first went in progress (or straight to done), from the event log."""
    rows = await unit.session.execute(
        select(Event.subject_id, Event.occurred_at, Event.data)
        .where(Event.subject_type == "task", Event.type == "task.state_changed", Event.subject_id.in_(task_ids))
        .order_by(Event.id)
    )
    first: dict[int, datetime] = {}
    for task_id, at, data in rows:
        category = (data.get("changes", {}).get("state_category") or [None, None])[1]
        if category in (StateCategory.IN_PROGRESS.value, StateCategory.DONE.value) and task_id not in first:
            first[task_id] = at
    return first


def _origin(project: Project, rows: list[Task], started: dict[int, datetime]) -> datetime:
    if project.start_date:
        return datetime.combine(project.start_date, time(), UTC)
    return min(started.get(t.id) or t.created_at for t in rows)


def _dependency_order(rows: list[Task], links: list[tuple[int, int]]) -> list[Task]:
    """Tasks so that each comes after its predecessors; ties in list order."""
    by_id = {t.id: t for t in rows}
    waiting = {t.id: 0 for t in rows}
    after: dict[int, list[int]] = defaultdict(list)
    for p, s in links:
        waiting[s] += 1
        after[p].append(s)
    ready = sorted((t for t in rows if waiting[t.id] == 0), key=lambda t: t.rank)
    order: list[Task] = []
    while ready:
        task = ready.pop(0)
        order.append(task)
        for s in after[task.id]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(by_id[s])
                ready.sort(key=lambda t: t.rank)
    return order
