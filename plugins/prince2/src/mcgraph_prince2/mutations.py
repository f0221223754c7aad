"""The PRINCE2 mutations: each decodes its ids, runs one service in a unit, and maps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from mcgraph.plugins.graphql import Action, Payload, mutation, request

from mcgraph_prince2 import services
from mcgraph_prince2.stage_exceptions import report_exceptions
from mcgraph_prince2.types import Prince2Approval, Prince2Exception, Prince2Project, Prince2StageReport, Prince2StageTolerance


@strawberry.input(description="A seat on the board: a user and their board role.")
class Prince2BoardMemberInput:
    user_id: strawberry.ID
    role: str = strawberry.field(description="executive, senior_user or senior_supplier.")


@strawberry.input
class SetProjectBoardInput:
    project_id: strawberry.ID
    members: list[Prince2BoardMemberInput]
    quorum: int | None = strawberry.field(default=None, description="Approvals a boundary needs; the default when left out.")


@strawberry.type
class SetProjectBoardPayload(Payload):
    prince2: Prince2Project | None = None


@strawberry.input
class SubmitEndStageReportInput:
    project_id: strawberry.ID
    stage: str = strawberry.field(description="The current stage.")
    summary: str


@strawberry.type
class SubmitEndStageReportPayload(Payload):
    stage_report: Prince2StageReport | None = None


@strawberry.input
class ApproveStageBoundaryInput:
    project_id: strawberry.ID
    to_stage: str = strawberry.field(description="The stage the project would move to from its current one.")
    note: str = ""


@strawberry.type
class ApproveStageBoundaryPayload(Payload):
    approval: Prince2Approval | None = None


@strawberry.input
class SetStageToleranceInput:
    project_id: strawberry.ID
    stage: str
    budget: Decimal | None = None
    cost_tolerance: Decimal = strawberry.field(default=Decimal(0), description="How far the stage may exceed its budget.")
    planned_end: date | None = None
    time_tolerance_days: int = strawberry.field(default=0, description="How many days the stage may run past its planned end.")


@strawberry.type
class SetStageTolerancePayload(Payload):
    tolerance: Prince2StageTolerance | None = None


@strawberry.input
class SubmitExceptionReportInput:
    project_id: strawberry.ID
    summary: str


@strawberry.type
class SubmitExceptionReportPayload(Payload):
    exceptions: list[Prince2Exception] = strawberry.field(default_factory=list)


def _project_pk(info: strawberry.Info, project_id: strawberry.ID) -> int:
    return request(info).pk(project_id, "Project", field="projectId")


@strawberry.type
class Prince2Mutation:
    @mutation(Action.PROJECT_MANAGE, description="Set a PRINCE2 project's board and the quorum of its approvals.")
    async def set_project_board(self, info: strawberry.Info, input: SetProjectBoardInput) -> SetProjectBoardPayload:
        project_pk = _project_pk(info, input.project_id)
        seats = [services.Seat(request(info).pk(m.user_id, "User", field="members"), m.role) for m in input.members]
        async with request(info).unit() as unit:
            await services.set_board(unit, project_pk, seats, input.quorum)
        return SetProjectBoardPayload(prince2=Prince2Project(project_id=project_pk))

    @mutation(Action.PROJECT_MANAGE, description="Submit the end-stage report of the project's current stage.")
    async def submit_end_stage_report(self, info: strawberry.Info, input: SubmitEndStageReportInput) -> SubmitEndStageReportPayload:
        project_pk = _project_pk(info, input.project_id)
        async with request(info).unit() as unit:
            report = await services.submit_stage_report(unit, project_pk, input.stage, input.summary)
        return SubmitEndStageReportPayload(stage_report=report)  # type: ignore[arg-type]

    @mutation(Action.PROJECT_READ, description="As a board member, approve moving the project from its current stage.")
    async def approve_stage_boundary(self, info: strawberry.Info, input: ApproveStageBoundaryInput) -> ApproveStageBoundaryPayload:
        project_pk = _project_pk(info, input.project_id)
        async with request(info).unit() as unit:
            approval = await services.approve_boundary(unit, project_pk, input.to_stage, input.note)
        return ApproveStageBoundaryPayload(approval=approval)  # type: ignore[arg-type]

    @mutation(Action.PROJECT_MANAGE, description="Set a stage's budget and planned end, with their tolerances.")
    async def set_stage_tolerance(self, info: strawberry.Info, input: SetStageToleranceInput) -> SetStageTolerancePayload:
        project_pk = _project_pk(info, input.project_id)
        async with request(info).unit() as unit:
            plan = await services.set_tolerance(
                unit,
                project_pk,
                input.stage,
                budget=input.budget,
                cost_tolerance=input.cost_tolerance,
                planned_end=input.planned_end,
                time_tolerance_days=input.time_tolerance_days,
            )
        return SetStageTolerancePayload(tolerance=plan)  # type: ignore[arg-type]

    @mutation(Action.PROJECT_MANAGE, description="Report on the project's open exceptions to the board.")
    async def submit_exception_report(self, info: strawberry.Info, input: SubmitExceptionReportInput) -> SubmitExceptionReportPayload:
        project_pk = _project_pk(info, input.project_id)
        async with request(info).unit() as unit:
            await services.prince2_project(unit, project_pk)
            rows = await report_exceptions(unit, project_pk, input.summary.strip())
        return SubmitExceptionReportPayload(exceptions=rows)  # type: ignore[arg-type]
