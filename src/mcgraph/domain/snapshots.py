"""Read-only snapshots of rows, as the plugin API hands them to plugins."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.models import Event, Milestone, Project, Task, TaskLabel
from mcgraph.plugins.types import EventInfo, MilestoneInfo, ProjectInfo, TaskInfo


def project_info(project: Project) -> ProjectInfo:
    return ProjectInfo(
        id=project.id,
        organization_id=project.organization_id,
        key=project.key,
        name=project.name,
        methodology=project.methodology,
        stage=project.stage,
        status=project.status,
        start_date=project.start_date,
        target_end_date=project.target_end_date,
        planned_budget=project.planned_budget,
        manager_id=project.manager_id,
    )


def task_info(task: Task, labels: tuple[str, ...] = ()) -> TaskInfo:
    return TaskInfo(
        id=task.id,
        project_id=task.project_id,
        title=task.title,
        state=task.state,
        category=task.state_category,
        assignee_id=task.assignee_id,
        estimate_hours=task.estimate_hours,
        points=task.points,
        due_date=task.due_date,
        completed_at=task.completed_at,
        milestone_id=task.milestone_id,
        labels=labels,
        created_at=task.created_at,
        start_date=task.start_date,
        process_run_id=task.process_run_id,
        parent_id=task.parent_id,
    )


def event_info(event: Event, methodology: str | None = None) -> EventInfo:
    return EventInfo(
        id=event.id or 0,  # 0 until the session flushes it
        type=event.type,
        organization_id=event.organization_id,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        project_id=event.project_id,
        actor_id=event.actor_id,
        occurred_at=event.occurred_at,
        data=dict(event.data or {}),
        methodology=methodology,
    )


def milestone_info(milestone: Milestone) -> MilestoneInfo:
    return MilestoneInfo(
        id=milestone.id,
        project_id=milestone.project_id,
        name=milestone.name,
        due_date=milestone.due_date,
        done=milestone.done,
        signed_off_at=milestone.signed_off_at,
    )


async def project_tasks(session: AsyncSession, project_id: int) -> list[TaskInfo]:
    return (await projects_tasks(session, [project_id]))[project_id]


async def projects_tasks(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[TaskInfo]]:
    """Each project's tasks, in their order, in two statements for all the projects."""
    ids = list(project_ids)
    tasks = list(await session.scalars(select(Task).where(Task.project_id.in_(ids)).order_by(Task.rank)))
    labels: dict[int, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(TaskLabel.task_id, TaskLabel.name).join(Task, Task.id == TaskLabel.task_id).where(Task.project_id.in_(ids))
    )
    for task_id, name in rows:
        labels[task_id].append(name)
    found: dict[int, list[TaskInfo]] = {pid: [] for pid in ids}
    for t in tasks:
        found[t.project_id].append(task_info(t, tuple(sorted(labels[t.id]))))  # type: ignore[index]
    return found


async def container_tasks(session: AsyncSession, task: Task) -> list[TaskInfo]:
    """The tasks of the list ``task`` is in: its run's, or else its project's."""
    if task.process_run_id is not None:
        rows = await session.scalars(select(Task).where(Task.process_run_id == task.process_run_id).order_by(Task.rank))
        return [task_info(t) for t in rows]
    return await project_tasks(session, task.project_id)  # type: ignore[arg-type]


async def project_milestones(session: AsyncSession, project_id: int) -> list[MilestoneInfo]:
    return (await projects_milestones(session, [project_id]))[project_id]


async def projects_milestones(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[MilestoneInfo]]:
    ids = list(project_ids)
    rows = await session.scalars(select(Milestone).where(Milestone.project_id.in_(ids)).order_by(Milestone.due_date, Milestone.id))
    found: dict[int, list[MilestoneInfo]] = {pid: [] for pid in ids}
    for m in rows:
        found[m.project_id].append(milestone_info(m))
    return found
