"""Process runs: one execution of a published version.

A run makes a task per step (assignee resolved, due from the step's offset and expected
duration, dependencies from the steps it waits for) and moves on as those tasks change:
each run step records when it became ready, started and finished, so the process metrics
come from what really happened. Approval steps are approved or rejected; a rejection
ends the run or sends it back to a named step, as the step says.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from mcgraph.db.models import (
    Assignment,
    Dependency,
    DependencyType,
    Membership,
    Organization,
    Process,
    ProcessRun,
    ProcessStatus,
    ProcessStep,
    RejectAction,
    RoundRobinCursor,
    RunState,
    RunStep,
    RunTrigger,
    StateCategory,
    StepOutcome,
    Task,
    TeamMember,
    User,
)
from mcgraph.domain.errors import Problem, UserError, UserErrorCode
from mcgraph.domain.health_refresh import refresh_health
from mcgraph.domain.process_health import refresh_process_health
from mcgraph.domain.processes import TEMPLATE_FIELD, latest_published, version_steps
from mcgraph.domain.projects import get_project
from mcgraph.domain.ranking import key_between
from mcgraph.domain.unit import Unit, changed
from mcgraph.plugins.types import Methodology, TaskState

OPEN = RunState.RUNNING


def payload_problems(process: Process, payload: dict[str, Any], field: str = "input") -> list[Problem]:
    """What is wrong with a payload by the process's JSON Schema (nothing when it has none)."""
    if not process.payload_schema:
        return []
    import jsonschema  # only where used: about 3 MB of every process's memory otherwise

    validator = jsonschema.validators.validator_for(process.payload_schema)(process.payload_schema)
    return [
        Problem([field, *(str(p) for p in error.absolute_path)], f"{process.key}: {error.message}", UserErrorCode.INVALID)
        for error in sorted(validator.iter_errors(payload), key=lambda e: list(map(str, e.absolute_path)))
    ]


def render_name(template: str, process: Process, payload: dict[str, Any], number: int, now: datetime) -> str:
    """A run's name from its process's template: ``{{input.name}}``, ``{{process.name}}``, ``{{number}}``, ``{{date}}``."""
    if not template.strip():
        return f"{process.name} #{number}"

    def value(match: Any) -> str:
        path = match.group(1)
        if path == "number":
            return str(number)
        if path == "date":
            return now.date().isoformat()
        if path == "process.name":
            return process.name
        found: Any = payload
        for part in path.removeprefix("input.").split("."):
            found = found.get(part) if isinstance(found, dict) else None
        return "" if found is None else str(found)

    return TEMPLATE_FIELD.sub(value, template).strip()[:500] or f"{process.name} #{number}"


def run_methodology(unit: Unit, project_methodology: str | None) -> Methodology:
    key = project_methodology or unit.settings.default_methodology
    methodology = unit.plugins.methodology(key) or unit.plugins.methodology(unit.settings.default_methodology)
    if methodology is None:
        raise UserError.one(None, f"The methodology {key!r} is not installed.", UserErrorCode.UNKNOWN_METHODOLOGY)
    return methodology


async def start_run(
    unit: Unit,
    process: Process,
    *,
    payload: dict[str, Any] | None = None,
    project_id: int | None = None,
    trigger: RunTrigger = RunTrigger.MANUAL,
    trigger_event_id: int | None = None,
    trigger_event_name: str | None = None,
    slot: datetime | None = None,
) -> ProcessRun:
    payload = payload or {}
    if process.status != ProcessStatus.PUBLISHED:
        raise UserError.one("processKey", f"{process.key} is {process.status.value}: only a published process runs.", UserErrorCode.INVALID)
    problems = payload_problems(process, payload)
    if problems:
        raise UserError(*problems)
    version = await latest_published(unit, process)
    assert version is not None  # a published process has a published version
    project = await get_project(unit, project_id) if project_id else None
    number = (await unit.session.scalar(select(func.max(ProcessRun.number)).where(ProcessRun.process_id == process.id)) or 0) + 1
    steps = await version_steps(unit, version.id)
    run = ProcessRun(
        organization_id=process.organization_id,
        process_id=process.id,
        version_id=version.id,
        number=number,
        name=render_name(process.run_name_template, process, payload, number, unit.now),
        input=payload,
        project_id=project.id if project else None,
        trigger=trigger,
        trigger_event_id=trigger_event_id,
        trigger_event_name=trigger_event_name,
        schedule_slot=slot,
        started_by_id=unit.actor.person_id,
        started_at=unit.now,
        due_at=unit.now + timedelta(hours=max((s.offset_hours + s.duration_hours for s in steps), default=0.0)),
        created_at=unit.now,
        updated_at=unit.now,
    )
    unit.session.add(run)
    await unit.session.flush()
    methodology = run_methodology(unit, project.methodology if project else None)
    first = methodology.first_state
    next_number = (await unit.session.scalar(select(func.max(Task.key_number)).where(Task.project_id == project.id)) or 0) if project else 0
    rank: str | None = None
    tasks: dict[str, Task] = {}
    for step in steps:
        rank = key_between(rank, None)
        due = unit.now + timedelta(hours=step.offset_hours + step.duration_hours)
        task = Task(
            organization_id=run.organization_id,
            process_run_id=run.id,
            project_id=run.project_id,
            key_number=next_number + step.position + 1,
            title=step.name,
            description=step.instructions,
            state=first.key,
            state_category=first.category,
            assignee_id=await _assignee(unit, process, step, payload),
            estimate_hours=step.duration_hours,
            due_date=due.date(),
            rank=rank,
            created_by_id=unit.actor.person_id,
            created_at=unit.now,
            updated_at=unit.now,
        )
        unit.session.add(task)
        tasks[step.key] = task
    await unit.session.flush()
    for index, step in enumerate(steps):
        waits = waits_for_keys(step, steps, index)
        for needed in waits:
            unit.session.add(
                Dependency(
                    organization_id=run.organization_id,
                    predecessor_id=tasks[needed].id,
                    successor_id=tasks[step.key].id,
                    type=DependencyType.FS,
                    created_at=unit.now,
                )
            )
        unit.session.add(
            RunStep(
                organization_id=run.organization_id,
                run_id=run.id,
                step_id=step.id,
                step_key=step.key,
                task_id=tasks[step.key].id,
                ready_at=unit.now if not waits else None,
                due_at=unit.now + timedelta(hours=step.offset_hours + step.duration_hours),
            )
        )
    unit.record("process_run.started", run, process_id=process.id, version=version.number, trigger=trigger, name=run.name)
    await unit.session.flush()
    if run.project_id:
        await refresh_health(unit, [run.project_id])
    await refresh_process_health(unit, [process.id])
    return run


def waits_for_keys(step: ProcessStep, steps: list[ProcessStep], index: int) -> list[str]:
    if step.waits_for is not None:
        return list(step.waits_for)
    return [steps[index - 1].key] if index else []


async def _assignee(unit: Unit, process: Process, step: ProcessStep, payload: dict[str, Any]) -> int | None:
    match step.assignment:
        case Assignment.USER:
            return step.assignee_id
        case Assignment.OWNER:
            return process.owner_id
        case Assignment.PAYLOAD:
            email: Any = payload
            for part in (step.payload_path or "").removeprefix("input.").split("."):
                email = email.get(part) if isinstance(email, dict) else None
            if not isinstance(email, str):
                return None
            return await unit.session.scalar(
                select(User.id)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.organization_id == process.organization_id, User.email == email.strip().lower())
            )
        case Assignment.TEAM_ROLE | Assignment.ROUND_ROBIN:
            return await _next_in_turn(unit, process, step)
        case _:
            return None


async def _next_in_turn(unit: Unit, process: Process, step: ProcessStep) -> int | None:
    """The next member in turn: of the process's team (or the organisation), with the role if the step names one."""
    candidates = select(Membership.user_id).where(Membership.organization_id == process.organization_id)
    if step.assignee_role is not None:
        candidates = candidates.where(Membership.role == step.assignee_role)
    if process.team_id is not None:
        candidates = candidates.where(
            Membership.user_id.in_(select(TeamMember.user_id).where(TeamMember.team_id == process.team_id))
        )
    people = sorted(await unit.session.scalars(candidates))
    if not people:
        return None
    cursor = await unit.session.scalar(
        select(RoundRobinCursor).where(RoundRobinCursor.process_id == process.id, RoundRobinCursor.step_key == step.key)
    )
    if cursor is None:
        cursor = RoundRobinCursor(organization_id=process.organization_id, process_id=process.id, step_key=step.key)
        unit.session.add(cursor)
    later = [p for p in people if cursor.last_user_id is None or p > cursor.last_user_id]
    chosen = later[0] if later else people[0]
    cursor.last_user_id = chosen
    return chosen


async def get_run(unit: Unit, run_id: int, field: str = "runId") -> ProcessRun:
    run = await unit.session.get(ProcessRun, run_id)
    if run is None or run.organization_id != unit.actor.organization_id:
        raise UserError.one(field, "No such process run.", UserErrorCode.NOT_FOUND)
    return run


async def on_task_state_changed(unit: Unit, task: Task, before: StateCategory, after: StateCategory) -> None:
    """Move the task's run on: record when its step started or finished, ready the next.

    A step that finishes (or is taken back) may change the process's health: it is refreshed.
    """
    if task.process_run_id is None or before == after:
        return
    step = await unit.session.scalar(select(RunStep).where(RunStep.task_id == task.id))
    run = await unit.session.get(ProcessRun, task.process_run_id)
    if step is None or run is None or run.state != OPEN:
        return
    if after in (StateCategory.IN_PROGRESS, StateCategory.DONE) and step.started_at is None:
        step.started_at = unit.now
        step.ready_at = step.ready_at or unit.now
    if after == StateCategory.DONE:
        await _finish_step(unit, run, step, StepOutcome.APPROVED if await _is_approval(unit, step) else StepOutcome.DONE)
    elif before == StateCategory.DONE:
        step.finished_at, step.outcome = None, None
    await unit.session.flush()
    if StateCategory.DONE in (before, after):
        await refresh_process_health(unit, [run.process_id])


async def decide(unit: Unit, run_step_id: int, approve: bool, comment: str = "") -> RunStep:
    """Approve or reject an approval step that is ready."""
    step = await unit.session.get(RunStep, run_step_id)
    if step is None or step.organization_id != unit.actor.organization_id:
        raise UserError.one("runStepId", "No such run step.", UserErrorCode.NOT_FOUND)
    run = await get_run(unit, step.run_id)
    definition = await unit.session.get_one(ProcessStep, step.step_id)
    if not definition.approval:
        raise UserError.one("runStepId", f"{definition.name!r} is not an approval step.", UserErrorCode.INVALID)
    if run.state != OPEN or step.finished_at is not None or step.ready_at is None:
        raise UserError.one("runStepId", "This step is not waiting for a decision.", UserErrorCode.INVALID)
    if not approve and not comment.strip():
        raise UserError.one("comment", "Say why you reject: a comment is required.", UserErrorCode.REQUIRED)
    step.comment = comment.strip() or None
    step.decided_by_id = unit.actor.person_id
    step.started_at = step.started_at or unit.now
    task = await unit.session.get_one(Task, step.task_id)
    methodology = run_methodology(unit, await _project_methodology(unit, run))
    if not approve:
        step.rejections += 1
    if approve:
        move_task(unit, task, methodology.done_state())
        await _finish_step(unit, run, step, StepOutcome.APPROVED)
    elif definition.on_reject == RejectAction.BACK and definition.reject_to:
        await _send_back(unit, run, step, definition.reject_to, methodology)
    else:
        step.finished_at, step.outcome = unit.now, StepOutcome.REJECTED
        await _close(unit, run, RunState.FAILED, f"{definition.name} rejected: {step.comment}")
    unit.record("process_run.decided", run, step=step.step_key, approved=approve, comment=step.comment)
    await unit.session.flush()
    await refresh_process_health(unit, [run.process_id])
    return step


async def cancel(unit: Unit, run_id: int, note: str = "") -> ProcessRun:
    run = await get_run(unit, run_id)
    if run.state != OPEN:
        raise UserError.one("runId", f"The run is {run.state.value} already.", UserErrorCode.INVALID)
    await _close(unit, run, RunState.CANCELLED, note.strip() or None)
    await refresh_process_health(unit, [run.process_id])
    return run


async def _finish_step(unit: Unit, run: ProcessRun, step: RunStep, outcome: StepOutcome) -> None:
    step.finished_at, step.outcome = unit.now, outcome
    await unit.session.flush()
    steps = list(await unit.session.scalars(select(RunStep).where(RunStep.run_id == run.id)))
    definitions = {d.key: d for d in await version_steps(unit, run.version_id)}
    finished = {s.step_key for s in steps if s.finished_at is not None}
    ordered = sorted(definitions.values(), key=lambda d: d.position)
    for s in steps:
        if s.ready_at is None:
            index = ordered.index(definitions[s.step_key])
            if all(k in finished for k in waits_for_keys(definitions[s.step_key], ordered, index)):
                s.ready_at = unit.now
    if all(s.step_key in finished for s in steps if definitions[s.step_key].required):
        await _close(unit, run, RunState.COMPLETED, None)


async def _send_back(unit: Unit, run: ProcessRun, step: RunStep, target: str, methodology: Methodology) -> None:
    definitions = {d.key: d for d in await version_steps(unit, run.version_id)}
    back_to = definitions[target].position
    first = methodology.first_state
    for s in await unit.session.scalars(select(RunStep).where(RunStep.run_id == run.id)):
        if definitions[s.step_key].position < back_to:
            continue
        s.started_at = s.finished_at = None
        s.outcome = None
        s.ready_at = unit.now if s.step_key == target else None
        s.rounds += 1
        task = await unit.session.get(Task, s.task_id) if s.task_id else None
        if task is not None:
            move_task(unit, task, first)


def move_task(unit: Unit, task: Task, state: TaskState) -> None:
    """Put a run's task in ``state`` as the run itself decides it (approvals, send-backs)."""
    changes = changed(
        task,
        state=state.key,
        state_category=state.category,
        completed_at=unit.now if state.category == StateCategory.DONE else None,
    )
    if changes:
        task.updated_at = unit.now
        unit.record("task.state_changed", task, project_id=task.project_id, changes=changes, forced=False, run_id=task.process_run_id)


async def _close(unit: Unit, run: ProcessRun, state: RunState, note: str | None) -> None:
    changes = changed(run, state=state, completed_at=unit.now, outcome_note=note)
    run.updated_at = unit.now
    unit.record(f"process_run.{state.value}", run, process_id=run.process_id, changes=changes)
    await unit.session.flush()
    if run.project_id:
        await refresh_health(unit, [run.project_id])


async def _is_approval(unit: Unit, step: RunStep) -> bool:
    definition = await unit.session.get(ProcessStep, step.step_id)
    return bool(definition and definition.approval)


async def _project_methodology(unit: Unit, run: ProcessRun) -> str | None:
    if run.project_id is None:
        return None
    return (await get_project(unit, run.project_id)).methodology


async def start_for_event(unit: Unit, name: str, payload: dict[str, Any]) -> tuple[Any, list[ProcessRun]]:
    """Raise the named event: record it, and start a run of every published process it triggers.

    A payload that one of those processes' schemas refuses refuses the whole event.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise UserError.one("name", "An event name is 1 to 100 characters, e.g. employee.hired.", UserErrorCode.INVALID)
    processes = list(
        await unit.session.scalars(
            select(Process)
            .where(Process.organization_id == unit.actor.organization_id, Process.trigger_event == name, Process.status == ProcessStatus.PUBLISHED)
            .order_by(Process.key)
        )
    )
    problems = [p for process in processes for p in payload_problems(process, payload, "payload")]
    if problems:
        raise UserError(*problems)
    organization = await unit.session.get_one(Organization, unit.actor.organization_id)
    event = unit.record("event.raised", organization, name=name, payload=payload)
    await unit.session.flush()
    runs = [
        await start_run(unit, process, payload=payload, trigger=RunTrigger.EVENT, trigger_event_id=event.id, trigger_event_name=name)
        for process in processes
    ]
    return event, runs
