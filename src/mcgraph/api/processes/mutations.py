"""Mutations of processes and runs. Each resolves ids, calls one domain service, maps."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from mcgraph.api.fields import Payload, mutation
from mcgraph.api.processes.types import Process, ProcessRun, ProcessStep, ProcessVersion, RunStep
from mcgraph.api.projects.collab_types import event_global_id
from mcgraph.api.projects.types import Project
from mcgraph.api.projects.mutations import provided
from mcgraph.api.ids import pk_of
from mcgraph.db.models import Assignment, RejectAction, Role
from mcgraph.domain import conversions, processes, runs
from mcgraph.domain.errors import UserError, UserErrorCode
from mcgraph.domain.permissions import Action


@strawberry.input(description="A step as the owner writes it; `key` defaults to a slug of the name.")
class ProcessStepInput:
    name: str
    instructions: str = ""
    key: str | None = None
    assignment: Assignment = Assignment.OWNER
    assignee_id: strawberry.ID | None = None
    assignee_role: Role | None = None
    payload_path: str | None = None
    offset_hours: float = 0.0
    duration_hours: float = 8.0
    approval: bool = False
    on_reject: RejectAction = RejectAction.END
    reject_to: str | None = None
    required: bool = True
    waits_for: list[str] | None = strawberry.field(default=None, description="Step keys; by default the previous step.")

    def spec(self, index: int) -> processes.StepSpec:
        field = f"steps.{index}.assigneeId"
        return processes.StepSpec(
            name=self.name,
            instructions=self.instructions,
            key=self.key,
            assignment=self.assignment,
            assignee_id=pk_of(self.assignee_id, "User", field=field) if self.assignee_id else None,
            assignee_role=self.assignee_role,
            payload_path=self.payload_path,
            offset_hours=self.offset_hours,
            duration_hours=self.duration_hours,
            approval=self.approval,
            on_reject=self.on_reject,
            reject_to=self.reject_to,
            required=self.required,
            waits_for=self.waits_for,
        )


@strawberry.input
class CreateProcessInput:
    key: str
    name: str
    purpose: str = ""
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="The process manager; you when left out.")
    team_id: strawberry.ID | None = None
    run_name_template: str = strawberry.field(default="", description='e.g. "Onboarding: {{input.name}}"')
    trigger_event: str | None = None
    payload_schema: JSON | None = None
    schedule_cron: str | None = strawberry.field(default=None, description='5-field cron or an alias, e.g. "0 8 * * MON".')
    schedule_timezone: str | None = strawberry.field(default=None, description='IANA zone, e.g. "Europe/Berlin"; UTC when left out.')
    missed_slots: str = "run_once"
    steps: list[ProcessStepInput] = strawberry.field(default_factory=list)


@strawberry.type
class CreateProcessPayload(Payload):
    process: Process | None = None


@strawberry.input(description="Only the fields you set change.")
class UpdateProcessInput:
    process_id: strawberry.ID
    expected_version: int | None = None
    name: str | None = UNSET
    purpose: str | None = UNSET
    owner_id: strawberry.ID | None = UNSET
    team_id: strawberry.ID | None = UNSET
    run_name_template: str | None = UNSET
    trigger_event: str | None = UNSET
    payload_schema: JSON | None = UNSET
    schedule_cron: str | None = UNSET
    schedule_timezone: str | None = UNSET
    missed_slots: str | None = UNSET


@strawberry.type
class UpdateProcessPayload(Payload):
    process: Process | None = None


@strawberry.input(description="Replace the steps of the draft version; a published version is never changed.")
class SetProcessStepsInput:
    process_id: strawberry.ID
    steps: list[ProcessStepInput]


@strawberry.type
class SetProcessStepsPayload(Payload):
    draft: ProcessVersion | None = None


@strawberry.input
class PublishProcessInput:
    process_id: strawberry.ID
    note: str = ""


@strawberry.type
class PublishProcessPayload(Payload):
    version: ProcessVersion | None = None
    process: Process | None = None


@strawberry.input
class RetireProcessInput:
    process_id: strawberry.ID


@strawberry.type
class RetireProcessPayload(Payload):
    process: Process | None = None


@strawberry.input
class StartProcessRunInput:
    process_key: str
    input: JSON | None = strawberry.field(default=None, description="The run's payload, checked against the process's schema.")
    project_id: strawberry.ID | None = strawberry.field(default=None, description="The project that uses the process.")


@strawberry.type
class StartProcessRunPayload(Payload):
    run: ProcessRun | None = None


@strawberry.input
class CancelProcessRunInput:
    run_id: strawberry.ID
    note: str = ""


@strawberry.type
class CancelProcessRunPayload(Payload):
    run: ProcessRun | None = None


@strawberry.input
class DecideApprovalInput:
    run_step_id: strawberry.ID
    approve: bool
    comment: str = ""


@strawberry.type
class DecideApprovalPayload(Payload):
    run_step: RunStep | None = None
    run: ProcessRun | None = None


@strawberry.input
class RaiseEventInput:
    name: str = strawberry.field(description="e.g. employee.hired")
    payload: JSON | None = None


@strawberry.type
class RaiseEventPayload(Payload):
    event_id: strawberry.ID | None = None
    runs: list[ProcessRun] = strawberry.field(default_factory=list, description="The runs the event started.")


@strawberry.input(description="Change one step of the draft; steps of a published version never change.")
class UpdateProcessStepInput:
    step_id: strawberry.ID
    name: str | None = UNSET
    instructions: str | None = UNSET
    offset_hours: float | None = UNSET
    duration_hours: float | None = UNSET
    required: bool | None = UNSET


@strawberry.type
class UpdateProcessStepPayload(Payload):
    step: ProcessStep | None = None


@strawberry.input
class CreateProcessFromProjectInput:
    project_id: strawberry.ID
    key: str = strawberry.field(description="The new process's key.")
    name: str | None = None


@strawberry.type
class CreateProcessFromProjectPayload(Payload):
    process: Process | None = None


@strawberry.input
class CreateProjectFromProcessInput:
    process_key: str
    key: str = strawberry.field(description="The new project's key.")
    name: str | None = None
    start_date: date | None = None
    manager_id: strawberry.ID | None = None


@strawberry.type
class CreateProjectFromProcessPayload(Payload):
    project: Project | None = None


_PROCESS_IDS = {"owner_id": "User", "team_id": "Team"}


@strawberry.type
class ProcessesMutation:
    @mutation(Action.PROCESS_MANAGE, description="Document a process; its steps form the draft of version 1.")
    async def create_process(self, info: strawberry.Info, input: CreateProcessInput) -> CreateProcessPayload:
        values = provided(input, _PROCESS_IDS)
        steps = [step.spec(i) for i, step in enumerate(input.steps)]
        values.pop("steps")
        async with info.context.unit() as unit:
            process = await processes.create_process(unit, steps=steps, **values)
        return CreateProcessPayload(process=process)

    @mutation(Action.PROCESS_MANAGE, description="Change a process's fields (not its steps: see setProcessSteps).")
    async def update_process(self, info: strawberry.Info, input: UpdateProcessInput) -> UpdateProcessPayload:
        process_pk = pk_of(input.process_id, "Process", field="processId")
        values = provided(input, _PROCESS_IDS)
        values.pop("process_id", None)
        async with info.context.unit() as unit:
            process = await processes.update_process(unit, process_pk, input.expected_version, values)
        return UpdateProcessPayload(process=process)

    @mutation(Action.PROCESS_MANAGE, description="Replace the steps of the process's draft version.")
    async def set_process_steps(self, info: strawberry.Info, input: SetProcessStepsInput) -> SetProcessStepsPayload:
        process_pk = pk_of(input.process_id, "Process", field="processId")
        steps = [step.spec(i) for i, step in enumerate(input.steps)]
        async with info.context.unit() as unit:
            draft = await processes.set_steps(unit, process_pk, steps)
        return SetProcessStepsPayload(draft=draft)

    @mutation(Action.PROCESS_MANAGE, description="Change one step of the draft version.")
    async def update_process_step(self, info: strawberry.Info, input: UpdateProcessStepInput) -> UpdateProcessStepPayload:
        step_pk = pk_of(input.step_id, "ProcessStep", field="stepId")
        values = {k: v for k, v in provided(input).items() if k != "step_id" and v is not None}
        async with info.context.unit() as unit:
            step = await processes.update_step(unit, step_pk, values)
        return UpdateProcessStepPayload(step=step)

    @mutation(Action.PROCESS_MANAGE, description="Turn a project (usually a finished one) into a draft process.")
    async def create_process_from_project(self, info: strawberry.Info, input: CreateProcessFromProjectInput) -> CreateProcessFromProjectPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId")
        async with info.context.unit() as unit:
            process = await conversions.process_from_project(unit, project_pk, key=input.key, name=input.name)
        return CreateProcessFromProjectPayload(process=process)

    @mutation(Action.PROJECT_MANAGE, description="Start a project planned from a process's published steps.")
    async def create_project_from_process(self, info: strawberry.Info, input: CreateProjectFromProcessInput) -> CreateProjectFromProcessPayload:
        manager = pk_of(input.manager_id, "User", field="managerId") if input.manager_id else None
        async with info.context.unit() as unit:
            project = await conversions.project_from_process(
                unit, input.process_key, key=input.key, name=input.name, start_date=input.start_date, manager_id=manager
            )
        return CreateProjectFromProcessPayload(project=project)

    @mutation(Action.PROCESS_MANAGE, description="Freeze the draft into a published version that new runs use.")
    async def publish_process(self, info: strawberry.Info, input: PublishProcessInput) -> PublishProcessPayload:
        process_pk = pk_of(input.process_id, "Process", field="processId")
        async with info.context.unit() as unit:
            version = await processes.publish(unit, process_pk, input.note)
            process = await processes.get_process(unit, process_pk)
        return PublishProcessPayload(version=version, process=process)

    @mutation(Action.PROCESS_MANAGE, description="Retire a process: it starts no more runs.")
    async def retire_process(self, info: strawberry.Info, input: RetireProcessInput) -> RetireProcessPayload:
        process_pk = pk_of(input.process_id, "Process", field="processId")
        async with info.context.unit() as unit:
            process = await processes.retire(unit, process_pk)
        return RetireProcessPayload(process=process)

    @mutation(Action.PROCESS_RUN, description="Start a run of a published process by hand.")
    async def start_process_run(self, info: strawberry.Info, input: StartProcessRunInput) -> StartProcessRunPayload:
        project_pk = pk_of(input.project_id, "Project", field="projectId") if input.project_id else None
        async with info.context.unit() as unit:
            process = await processes.process_by_key(unit, input.process_key)
            run = await runs.start_run(unit, process, payload=_payload(input.input, "input"), project_id=project_pk)
        return StartProcessRunPayload(run=run)

    @mutation(Action.PROCESS_RUN, description="Cancel a running run.")
    async def cancel_process_run(self, info: strawberry.Info, input: CancelProcessRunInput) -> CancelProcessRunPayload:
        run_pk = pk_of(input.run_id, "ProcessRun", field="runId")
        async with info.context.unit() as unit:
            run = await runs.cancel(unit, run_pk, input.note)
        return CancelProcessRunPayload(run=run)

    @mutation(Action.PROCESS_RUN, description="Approve or reject an approval step (a rejection needs a comment).")
    async def decide_approval(self, info: strawberry.Info, input: DecideApprovalInput) -> DecideApprovalPayload:
        step_pk = pk_of(input.run_step_id, "RunStep", field="runStepId")
        async with info.context.unit() as unit:
            step = await runs.decide(unit, step_pk, input.approve, input.comment)
            run = await runs.get_run(unit, step.run_id)
        return DecideApprovalPayload(run_step=step, run=run)

    @mutation(Action.PROCESS_RUN, description="Raise a named event; every published process it triggers starts a run.")
    async def raise_event(self, info: strawberry.Info, input: RaiseEventInput) -> RaiseEventPayload:
        async with info.context.unit() as unit:
            event, started = await runs.start_for_event(unit, input.name, _payload(input.payload, "payload"))
        return RaiseEventPayload(event_id=event_global_id(event), runs=started)


def _payload(value: object, field: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError.one(field, "The payload is a JSON object.", UserErrorCode.INVALID)
    return value
