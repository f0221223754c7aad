"""The sprint mutations: each decodes its input, calls :mod:`mcgraph_agile.sprints`, answers."""

from __future__ import annotations

from datetime import date

import strawberry

from mcgraph.plugins.graphql import Action, Payload, mutation, request

from mcgraph_agile import sprints
from mcgraph_agile.schema import Sprint


@strawberry.input
class CreateSprintInput:
    project_id: strawberry.ID
    name: str = strawberry.field(default="", description="'Sprint <number>' when left empty.")
    goal: str = ""
    start_date: date
    end_date: date


@strawberry.type
class CreateSprintPayload(Payload):
    sprint: Sprint | None = None


@strawberry.input
class AddTasksToSprintInput:
    sprint_id: strawberry.ID
    task_ids: list[strawberry.ID]


@strawberry.type
class AddTasksToSprintPayload(Payload):
    sprint: Sprint | None = None


@strawberry.input
class RemoveTasksFromSprintInput:
    sprint_id: strawberry.ID
    task_ids: list[strawberry.ID]


@strawberry.type
class RemoveTasksFromSprintPayload(Payload):
    sprint: Sprint | None = None


@strawberry.input
class StartSprintInput:
    sprint_id: strawberry.ID


@strawberry.type
class StartSprintPayload(Payload):
    sprint: Sprint | None = None


@strawberry.input
class CompleteSprintInput:
    sprint_id: strawberry.ID


@strawberry.type
class CompleteSprintPayload(Payload):
    sprint: Sprint | None = None


def _task_ids(info: strawberry.Info, ids: list[strawberry.ID]) -> list[int]:
    return [request(info).pk(task_id, "Task", field="taskIds") for task_id in ids]


@strawberry.type
class AgileMutation:
    @mutation(Action.PROJECT_MANAGE, description="Plan a sprint of an agile project.")
    async def create_sprint(self, info: strawberry.Info, input: CreateSprintInput) -> CreateSprintPayload:
        req = request(info)
        project_id = req.pk(input.project_id, "Project", field="projectId")
        async with req.unit() as unit:
            sprint = await sprints.create_sprint(unit, project_id, input.name, input.goal, input.start_date, input.end_date)
        return CreateSprintPayload(sprint=sprint)

    @mutation(Action.TASK_WRITE, description="Put tasks of the project into a planned or active sprint.")
    async def add_tasks_to_sprint(self, info: strawberry.Info, input: AddTasksToSprintInput) -> AddTasksToSprintPayload:
        req = request(info)
        sprint_id = req.pk(input.sprint_id, "Sprint", field="sprintId")
        task_ids = _task_ids(info, input.task_ids)
        async with req.unit() as unit:
            sprint, _ = await sprints.add_tasks(unit, sprint_id, task_ids)
        return AddTasksToSprintPayload(sprint=sprint)

    @mutation(Action.TASK_WRITE, description="Take tasks out of a planned or active sprint, back to the backlog.")
    async def remove_tasks_from_sprint(self, info: strawberry.Info, input: RemoveTasksFromSprintInput) -> RemoveTasksFromSprintPayload:
        req = request(info)
        sprint_id = req.pk(input.sprint_id, "Sprint", field="sprintId")
        task_ids = _task_ids(info, input.task_ids)
        async with req.unit() as unit:
            sprint = await sprints.remove_tasks(unit, sprint_id, task_ids)
        return RemoveTasksFromSprintPayload(sprint=sprint)

    @mutation(Action.PROJECT_MANAGE, description="Start a planned sprint: its tasks' points become its commitment.")
    async def start_sprint(self, info: strawberry.Info, input: StartSprintInput) -> StartSprintPayload:
        req = request(info)
        sprint_id = req.pk(input.sprint_id, "Sprint", field="sprintId")
        async with req.unit() as unit:
            sprint = await sprints.start_sprint(unit, sprint_id)
        return StartSprintPayload(sprint=sprint)

    @mutation(
        Action.PROJECT_MANAGE,
        description="Complete the active sprint: record its done points; unfinished tasks return to the backlog.",
    )
    async def complete_sprint(self, info: strawberry.Info, input: CompleteSprintInput) -> CompleteSprintPayload:
        req = request(info)
        sprint_id = req.pk(input.sprint_id, "Sprint", field="sprintId")
        async with req.unit() as unit:
            sprint = await sprints.complete_sprint(unit, sprint_id)
        return CompleteSprintPayload(sprint=sprint)
