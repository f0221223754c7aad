"""Mutations of projects and tasks. Each resolves ids, calls one domain service, maps."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import UNSET

from mcgraph.api.fields import Payload, mutation
from mcgraph.api.projects.types import Dependency, Project, ProjectMember, Task
from mcgraph.api.ids import pk_of
from mcgraph.db.models import DependencyType, Health, Priority, ProjectStatus
from mcgraph.domain import projects, tasks
from mcgraph.domain.permissions import Action


def provided(input: Any, ids: dict[str, str] | None = None) -> dict[str, Any]:
    """The fields of an update input that the client set (null included), ids resolved."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(input):
        value = getattr(input, field.name)
        if value is UNSET or field.name in ("project_id", "task_id", "expected_version"):
            continue
        if ids and field.name in ids and value is not None:
            value = pk_of(value, ids[field.name], field=_camel(field.name))
        values[field.name] = value
    return values


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _user(value: strawberry.ID | None, field: str) -> int | None:
    return pk_of(value, "User", field=field) if value else None


@strawberry.input
class ProjectMemberInput:
    user_id: strawberry.ID
    role: str = "member"
    hourly_rate: Decimal | None = None


@strawberry.input
class CreateProjectInput:
    key: str = strawberry.field(description="2 to 10 capital letters and digits, unique in the organisation.")
    name: str
    objective: str = ""
    scope: str = ""
    methodology: str | None = strawberry.field(default=None, description="A methodology key; the default one when left out.")
    status: ProjectStatus = ProjectStatus.ACTIVE
    start_date: date | None = None
    target_end_date: date | None = None
    manager_id: strawberry.ID | None = None
    planned_budget: Decimal | None = None
    labels: list[str] = strawberry.field(default_factory=list)
    members: list[ProjectMemberInput] = strawberry.field(default_factory=list)


@strawberry.type
class CreateProjectPayload(Payload):
    project: Project | None = None


@strawberry.input(description="Only the fields you set change; expectedVersion guards against lost updates.")
class UpdateProjectInput:
    project_id: strawberry.ID
    expected_version: int | None = None
    name: str | None = UNSET
    objective: str | None = UNSET
    scope: str | None = UNSET
    start_date: date | None = UNSET
    target_end_date: date | None = UNSET
    manager_id: strawberry.ID | None = UNSET
    planned_budget: Decimal | None = UNSET
    labels: list[str] | None = UNSET


@strawberry.type
class UpdateProjectPayload(Payload):
    project: Project | None = None


@strawberry.input
class MoveProjectStageInput:
    project_id: strawberry.ID
    stage: str
    expected_version: int | None = None


@strawberry.type
class MoveProjectStagePayload(Payload):
    project: Project | None = None


@strawberry.input
class SetProjectStatusInput:
    project_id: strawberry.ID
    status: ProjectStatus
    expected_version: int | None = None


@strawberry.type
class SetProjectStatusPayload(Payload):
    project: Project | None = None


@strawberry.input(description="Set the health shown for a project, with a note; health null clears the override.")
class OverrideProjectHealthInput:
    project_id: strawberry.ID
    health: Health | None
    note: str | None = None


@strawberry.type
class OverrideProjectHealthPayload(Payload):
    project: Project | None = None


@strawberry.input
class ArchiveProjectInput:
    project_id: strawberry.ID
    archived: bool = True


@strawberry.type
class ArchiveProjectPayload(Payload):
    project: Project | None = None


@strawberry.input
class SetProjectMemberInput:
    project_id: strawberry.ID
    user_id: strawberry.ID
    role: str = "member"
    hourly_rate: Decimal | None = None


@strawberry.type
class SetProjectMemberPayload(Payload):
    member: ProjectMember | None = None


@strawberry.input
class RemoveProjectMemberInput:
    project_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.type
class RemoveProjectMemberPayload(Payload):
    project: Project | None = None


@strawberry.input
class CreateTaskInput:
    project_id: strawberry.ID
    title: str
    description: str = ""
    state: str | None = strawberry.field(default=None, description="A state key of the methodology; its first state when left out.")
    parent_id: strawberry.ID | None = None
    assignee_id: strawberry.ID | None = None
    priority: Priority = Priority.MEDIUM
    estimate_hours: float | None = None
    points: float | None = None
    start_date: date | None = None
    due_date: date | None = None
    milestone_id: strawberry.ID | None = None
    labels: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class CreateTaskPayload(Payload):
    task: Task | None = None


@strawberry.input(description="Only the fields you set change; expectedVersion guards against lost updates.")
class UpdateTaskInput:
    task_id: strawberry.ID
    expected_version: int | None = None
    title: str | None = UNSET
    description: str | None = UNSET
    parent_id: strawberry.ID | None = UNSET
    assignee_id: strawberry.ID | None = UNSET
    priority: Priority | None = UNSET
    estimate_hours: float | None = UNSET
    points: float | None = UNSET
    start_date: date | None = UNSET
    due_date: date | None = UNSET
    milestone_id: strawberry.ID | None = UNSET
    labels: list[str] | None = UNSET


@strawberry.type
class UpdateTaskPayload(Payload):
    task: Task | None = None


@strawberry.input
class SetTaskStateInput:
    task_id: strawberry.ID
    state: str
    force: bool = strawberry.field(default=False, description="Managers: finish it even before its predecessors.")
    expected_version: int | None = None


@strawberry.type
class SetTaskStatePayload(Payload):
    task: Task | None = None


@strawberry.input(description="Place a task right after one task, or right before one.")
class MoveTaskInput:
    task_id: strawberry.ID
    after_id: strawberry.ID | None = None
    before_id: strawberry.ID | None = None


@strawberry.type
class MoveTaskPayload(Payload):
    task: Task | None = None


@strawberry.input
class DeleteTaskInput:
    task_id: strawberry.ID


@strawberry.type
class DeleteTaskPayload(Payload):
    deleted_task_id: strawberry.ID | None = None


@strawberry.input
class AddDependencyInput:
    predecessor_id: strawberry.ID
    successor_id: strawberry.ID
    type: DependencyType = DependencyType.FS
    lag_days: float = 0.0


@strawberry.type
class AddDependencyPayload(Payload):
    dependency: Dependency | None = None


@strawberry.input
class RemoveDependencyInput:
    dependency_id: strawberry.ID


@strawberry.type
class RemoveDependencyPayload(Payload):
    removed_dependency_id: strawberry.ID | None = None


_TASK_IDS = {"parent_id": "Task", "assignee_id": "User", "milestone_id": "Milestone"}


@strawberry.type
class ProjectsMutation:
    @mutation(Action.PROJECT_MANAGE, description="Start a project in the first stage of its methodology.")
    async def create_project(self, info: strawberry.Info, input: CreateProjectInput) -> CreateProjectPayload:
        members = [
            projects.MemberSpec(pk_of(m.user_id, "User", field="members"), m.role, m.hourly_rate) for m in input.members
        ]
        async with info.context.unit() as unit:
            project = await projects.create_project(
                unit,
                key=input.key,
                name=input.name,
                objective=input.objective,
                scope=input.scope,
                methodology=input.methodology,
                status=input.status,
                start_date=input.start_date,
                target_end_date=input.target_end_date,
                manager_id=_user(input.manager_id, "managerId"),
                planned_budget=input.planned_budget,
                labels=input.labels,
                members=members,
            )
        return CreateProjectPayload(project=project)

    @mutation(Action.PROJECT_MANAGE, description="Change a project's fields.")
    async def update_project(self, info: strawberry.Info, input: UpdateProjectInput) -> UpdateProjectPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        fields = provided(input, {"manager_id": "User"})
        async with info.context.unit() as unit:
            project = await projects.update_project(unit, project_pk, input.expected_version, fields)
        return UpdateProjectPayload(project=project)

    @mutation(Action.PROJECT_MANAGE, description="Move a project to another stage, through its methodology's gates.")
    async def move_project_stage(self, info: strawberry.Info, input: MoveProjectStageInput) -> MoveProjectStagePayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        async with info.context.unit() as unit:
            project = await projects.move_stage(unit, project_pk, input.stage, input.expected_version)
        return MoveProjectStagePayload(project=project)

    @mutation(Action.PROJECT_MANAGE, description="Change a project's lifecycle status.")
    async def set_project_status(self, info: strawberry.Info, input: SetProjectStatusInput) -> SetProjectStatusPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        async with info.context.unit() as unit:
            project = await projects.set_status(unit, project_pk, input.status, input.expected_version)
        return SetProjectStatusPayload(project=project)

    @mutation(Action.PROJECT_FORCE, description="Override the computed health with a note, or clear the override.")
    async def override_project_health(self, info: strawberry.Info, input: OverrideProjectHealthInput) -> OverrideProjectHealthPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        async with info.context.unit() as unit:
            project = await projects.override_health(unit, project_pk, input.health, input.note)
        return OverrideProjectHealthPayload(project=project)

    @mutation(Action.PROJECT_MANAGE, description="Archive a project (hidden from lists unless asked for), or bring it back.")
    async def archive_project(self, info: strawberry.Info, input: ArchiveProjectInput) -> ArchiveProjectPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        async with info.context.unit() as unit:
            project = await projects.archive(unit, project_pk, input.archived)
        return ArchiveProjectPayload(project=project)

    @mutation(Action.PROJECT_MANAGE, description="Add a person to a project, or change their role and rate.")
    async def set_project_member(self, info: strawberry.Info, input: SetProjectMemberInput) -> SetProjectMemberPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        spec = projects.MemberSpec(pk_of(input.user_id, "User", field="userId"), input.role, input.hourly_rate)
        async with info.context.unit() as unit:
            member = await projects.set_member(unit, project_pk, spec)
        return SetProjectMemberPayload(member=member)

    @mutation(Action.PROJECT_MANAGE, description="Take a person off a project.")
    async def remove_project_member(self, info: strawberry.Info, input: RemoveProjectMemberInput) -> RemoveProjectMemberPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        user_pk = pk_of(input.user_id, "User", field="userId")
        async with info.context.unit() as unit:
            project = await projects.remove_member(unit, project_pk, user_pk)
        return RemoveProjectMemberPayload(project=project)

    @mutation(Action.TASK_WRITE, description="Add a task to a project, at the end of its list.")
    async def create_task(self, info: strawberry.Info, input: CreateTaskInput) -> CreateTaskPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        fields = provided(input, _TASK_IDS)
        async with info.context.unit() as unit:
            task = await tasks.create_task(unit, project_id=project_pk, **fields)
        return CreateTaskPayload(task=task)

    @mutation(Action.TASK_WRITE, description="Change a task's fields.")
    async def update_task(self, info: strawberry.Info, input: UpdateTaskInput) -> UpdateTaskPayload:
        task_pk = pk_of(input.task_id, "Task", field="taskId")
        fields = provided(input, _TASK_IDS)
        async with info.context.unit() as unit:
            task = await tasks.update_task(unit, task_pk, input.expected_version, fields)
        return UpdateTaskPayload(task=task)

    @mutation(Action.TASK_WRITE, description="Move a task to another state of its methodology.")
    async def set_task_state(self, info: strawberry.Info, input: SetTaskStateInput) -> SetTaskStatePayload:
        task_pk = pk_of(input.task_id, "Task", field="taskId")
        async with info.context.unit() as unit:
            task = await tasks.set_state(unit, task_pk, input.state, force=input.force, expected_version=input.expected_version)
        return SetTaskStatePayload(task=task)

    @mutation(Action.TASK_WRITE, description="Reorder a task within its list.")
    async def move_task(self, info: strawberry.Info, input: MoveTaskInput) -> MoveTaskPayload:
        task_pk = pk_of(input.task_id, "Task", field="taskId")
        after = pk_of(input.after_id, "Task", field="afterId") if input.after_id else None
        before = pk_of(input.before_id, "Task", field="beforeId") if input.before_id else None
        async with info.context.unit() as unit:
            task = await tasks.move_task(unit, task_pk, after, before)
        return MoveTaskPayload(task=task)

    @mutation(Action.TASK_WRITE, description="Delete a task with its subtasks.")
    async def delete_task(self, info: strawberry.Info, input: DeleteTaskInput) -> DeleteTaskPayload:
        task_pk = pk_of(input.task_id, "Task", field="taskId")
        async with info.context.unit() as unit:
            await tasks.delete_task(unit, task_pk)
        return DeleteTaskPayload(deleted_task_id=input.task_id)

    @mutation(Action.TASK_WRITE, description="Make one task depend on another; a cycle is refused, naming it.")
    async def add_dependency(self, info: strawberry.Info, input: AddDependencyInput) -> AddDependencyPayload:
        predecessor = pk_of(input.predecessor_id, "Task", field="predecessorId")
        successor = pk_of(input.successor_id, "Task", field="successorId")
        async with info.context.unit() as unit:
            dependency = await tasks.add_dependency(unit, predecessor, successor, input.type, input.lag_days)
        return AddDependencyPayload(dependency=dependency)

    @mutation(Action.TASK_WRITE, description="Remove a dependency.")
    async def remove_dependency(self, info: strawberry.Info, input: RemoveDependencyInput) -> RemoveDependencyPayload:
        dependency_pk = pk_of(input.dependency_id, "Dependency", field="dependencyId")
        async with info.context.unit() as unit:
            await tasks.remove_dependency(unit, dependency_pk)
        return RemoveDependencyPayload(removed_dependency_id=input.dependency_id)
