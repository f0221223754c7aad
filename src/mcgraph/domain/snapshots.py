"""Read-only snapshots of rows, as the plugin API hands them to plugins."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.models import Milestone, Project, Task, TaskLabel
from mcgraph.plugins.types import MilestoneInfo, ProjectInfo, TaskInfo


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
    )


async def project_tasks(session: AsyncSession, project_id: int) -> list[TaskInfo]:
    tasks = list(await session.scalars(select(Task).where(Task.project_id == project_id).order_by(Task.rank)))
    labels: dict[int, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(TaskLabel.task_id, TaskLabel.name).join(Task, Task.id == TaskLabel.task_id).where(Task.project_id == project_id)
    )
    for task_id, name in rows:
        labels[task_id].append(name)
    return [task_info(t, tuple(sorted(labels[t.id]))) for t in tasks]


async def container_tasks(session: AsyncSession, task: Task) -> list[TaskInfo]:
    """The tasks of the list ``task`` is in: its run's, or else its project's."""
    if task.process_run_id is not None:
        rows = await session.scalars(select(Task).where(Task.process_run_id == task.process_run_id).order_by(Task.rank))
        return [task_info(t) for t in rows]
    return await project_tasks(session, task.project_id)  # type: ignore[arg-type]


async def project_milestones(session: AsyncSession, project_id: int) -> list[MilestoneInfo]:
    rows = await session.scalars(select(Milestone).where(Milestone.project_id == project_id).order_by(Milestone.due_date, Milestone.id))
    return [
        MilestoneInfo(id=m.id, project_id=m.project_id, name=m.name, due_date=m.due_date, done=m.done, signed_off_at=m.signed_off_at)
        for m in rows
    ]
