"""What the dashboards ask for: filters and orders of projects and tasks, as SQL.

Each filter field maps to a condition on an indexed column; each order to sort keys that
:mod:`mcgraph.db.pagination` pages through.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from mcgraph.db.models import Health, Priority, Project, ProjectLabel, ProjectMember, ProjectStatus, StateCategory, Task, TaskLabel
from mcgraph.db.pagination import SortKey, ranked

SEVERITY = [Health.OFF_TRACK, Health.AT_RISK, Health.ON_TRACK]
# The health a project shows: a manager's override, else the computed health of the last refresh.
SHOWN_HEALTH = func.coalesce(Project.health_override, Project.health)


def shown_health(project: Project) -> Health:
    return project.health_override or project.health
URGENCY = [Priority.URGENT, Priority.HIGH, Priority.MEDIUM, Priority.LOW]


@dataclass(frozen=True, slots=True)
class ProjectQuery:
    statuses: Sequence[ProjectStatus] = ()
    healths: Sequence[Health] = ()
    manager_ids: Sequence[int] = ()
    member_ids: Sequence[int] = ()
    labels: Sequence[str] = ()
    methodologies: Sequence[str] = ()
    starts_after: date | None = None
    ends_before: date | None = None
    ends_after: date | None = None
    search: str | None = None
    include_archived: bool = False


class ProjectOrder(enum.Enum):
    DUE_DATE = "due_date"
    HEALTH = "health"
    PROGRESS = "progress"
    NAME = "name"
    KEY = "key"
    START_DATE = "start_date"
    CREATED_AT = "created_at"


def escape_like(text: str) -> str:
    """``text`` for a LIKE pattern (with ``escape="\\"``): its ``%``, ``_`` and ``\\`` taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere."""
    return f"%{escape_like(text)}%"


def project_select(organization_id: int, query: ProjectQuery) -> Select[Any]:
    stmt = select(Project).where(Project.organization_id == organization_id)
    conditions: list[ColumnElement[bool]] = []
    if not query.include_archived:
        conditions.append(Project.archived_at.is_(None))
    if query.statuses:
        conditions.append(Project.status.in_(query.statuses))
    if query.healths:
        conditions.append(SHOWN_HEALTH.in_(query.healths))
    if query.manager_ids:
        conditions.append(Project.manager_id.in_(query.manager_ids))
    if query.member_ids:
        conditions.append(
            exists().where(ProjectMember.project_id == Project.id, ProjectMember.user_id.in_(query.member_ids))
        )
    if query.labels:
        conditions.append(exists().where(ProjectLabel.project_id == Project.id, ProjectLabel.name.in_(query.labels)))
    if query.methodologies:
        conditions.append(Project.methodology.in_(query.methodologies))
    if query.starts_after:
        conditions.append(Project.start_date >= query.starts_after)
    if query.ends_before:
        conditions.append(Project.target_end_date <= query.ends_before)
    if query.ends_after:
        conditions.append(Project.target_end_date >= query.ends_after)
    if query.search and query.search.strip():
        pattern = contains(query.search.strip())
        conditions.append(or_(Project.key.ilike(pattern, escape="\\"), Project.name.ilike(pattern, escape="\\")))
    return stmt.where(*conditions)


def project_order(order: ProjectOrder, descending: bool) -> list[SortKey]:
    match order:
        case ProjectOrder.DUE_DATE:
            return [SortKey(Project.target_end_date, descending, nullable=True)]
        case ProjectOrder.HEALTH:
            return [ranked(SHOWN_HEALTH, shown_health, SEVERITY, descending=descending)]
        case ProjectOrder.START_DATE:
            return [SortKey(Project.start_date, descending, nullable=True)]
        case _:
            return [SortKey(getattr(Project, order.value), descending)]


@dataclass(frozen=True, slots=True)
class TaskQuery:
    project_ids: Sequence[int] = ()
    assignee_ids: Sequence[int] = ()
    unassigned: bool = False
    categories: Sequence[StateCategory] = ()
    states: Sequence[str] = ()
    overdue: bool | None = None
    due_after: date | None = None
    due_before: date | None = None
    labels: Sequence[str] = ()
    milestone_ids: Sequence[int] = ()
    parent_ids: Sequence[int] = ()
    top_level_only: bool = False
    search: str | None = None
    in_projects_only: bool = False


class TaskOrder(enum.Enum):
    RANK = "rank"
    DUE_DATE = "due_date"
    PRIORITY = "priority"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    TITLE = "title"


def task_conditions(query: TaskQuery, today: date) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.project_ids:
        conditions.append(Task.project_id.in_(query.project_ids))
    if query.in_projects_only:
        conditions.append(Task.project_id.is_not(None))
    if query.assignee_ids or query.unassigned:
        either = [Task.assignee_id.in_(query.assignee_ids)] if query.assignee_ids else []
        if query.unassigned:
            either.append(Task.assignee_id.is_(None))
        conditions.append(or_(*either))
    if query.categories:
        conditions.append(Task.state_category.in_(query.categories))
    if query.states:
        conditions.append(Task.state.in_(query.states))
    overdue = and_(Task.due_date < today, Task.state_category != StateCategory.DONE)
    if query.overdue is True:
        conditions.append(overdue)
    elif query.overdue is False:
        conditions.append(~overdue | Task.due_date.is_(None))
    if query.due_after:
        conditions.append(Task.due_date >= query.due_after)
    if query.due_before:
        conditions.append(Task.due_date <= query.due_before)
    if query.labels:
        conditions.append(exists().where(TaskLabel.task_id == Task.id, TaskLabel.name.in_(query.labels)))
    if query.milestone_ids:
        conditions.append(Task.milestone_id.in_(query.milestone_ids))
    if query.parent_ids:
        conditions.append(Task.parent_id.in_(query.parent_ids))
    if query.top_level_only:
        conditions.append(Task.parent_id.is_(None))
    if query.search and query.search.strip():
        conditions.append(Task.title.ilike(contains(query.search.strip()), escape="\\"))
    return conditions


def task_select(organization_id: int, query: TaskQuery, today: date) -> Select[Any]:
    return select(Task).where(Task.organization_id == organization_id, *task_conditions(query, today))


def task_order(order: TaskOrder, descending: bool) -> list[SortKey]:
    match order:
        case TaskOrder.DUE_DATE:
            return [SortKey(Task.due_date, descending, nullable=True)]
        case TaskOrder.PRIORITY:
            return [ranked(Task.priority, lambda task: task.priority, URGENCY, descending=descending), SortKey(Task.rank)]
        case _:
            return [SortKey(getattr(Task, order.value), descending)]
