"""GraphQL types of the PRINCE2 plugin: ``Project.prince2`` and what it lists.

Every list is loaded per field through a batch, so that a list of projects costs one
query per field asked for, not one per project.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from mcgraph.plugins.graphql import Action, Node, User, field, node_type, request

from mcgraph_prince2 import store
from mcgraph_prince2.boundaries import effective_quorum
from mcgraph_prince2.methodology import is_prince2
from mcgraph_prince2.models import Approval, BoardMember, StageException, StagePlan, StageReport
from mcgraph_prince2.settings import Prince2Settings
from mcgraph_prince2.stage_exceptions import due


def _by_project(load: Callable[[Any, Sequence[int]], Any]) -> Callable[[Any, Sequence[int]], Any]:
    """A batch computation grouping the rows ``load`` returns by their project."""

    async def compute(session: Any, project_ids: Sequence[int]) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in await load(session, list(project_ids)):
            grouped[row.project_id].append(row)
        return {project_id: grouped.get(project_id, []) for project_id in project_ids}

    return compute


async def _person(info: strawberry.Info, user_id: int | None) -> User | None:
    return await request(info).load("User", user_id) if user_id is not None else None


@node_type(BoardMember, description="A member of a project board, in a board role.")
class Prince2BoardMember(Node):
    role: str = strawberry.field(description="executive, senior_user or senior_supplier.")
    user_id: strawberry.Private[int]

    @strawberry.field(description="Who sits on the board.")
    async def user(self, info: strawberry.Info) -> User | None:
        return await _person(info, self.user_id)


@node_type(StageReport, description="The end-stage report of a stage.")
class Prince2StageReport(Node):
    stage: str
    summary: str
    submitted_at: datetime
    submitted_by_id: strawberry.Private[int | None]

    @strawberry.field(description="Who submitted it.")
    async def submitted_by(self, info: strawberry.Info) -> User | None:
        return await _person(info, self.submitted_by_id)


@node_type(Approval, description="A board member's approval of a stage boundary.")
class Prince2Approval(Node):
    from_stage: str
    to_stage: str
    note: str
    approved_at: datetime
    user_id: strawberry.Private[int]

    @strawberry.field(description="The board member who approved.")
    async def user(self, info: strawberry.Info) -> User | None:
        return await _person(info, self.user_id)


@node_type(StagePlan, description="A stage's budget and planned end, with their tolerances.")
class Prince2StageTolerance(Node):
    stage: str
    budget: Decimal | None
    cost_tolerance: Decimal
    planned_end: date | None
    time_tolerance_days: int
    baseline_cost: Decimal | None = strawberry.field(description="The project's actual cost when the stage began.")


@node_type(StageException, description="A tolerance a stage exceeded, and the exception report on it.")
class Prince2Exception(Node):
    stage: str
    kind: str = strawberry.field(description="cost or time.")
    message: str
    raised_at: datetime
    requested_at: datetime | None = strawberry.field(description="When an automation asked for the report.")
    report: str | None
    reported_at: datetime | None

    @strawberry.field(description="When the exception report is due.")
    def report_due(self, info: strawberry.Info) -> datetime:
        return due(self, request(info).settings(Prince2Settings))  # type: ignore[arg-type]


@strawberry.type(description="A PRINCE2 project's board, stage boundaries, tolerances and exceptions.")
class Prince2Project:
    project_id: strawberry.Private[int]

    async def _rows(self, info: strawberry.Info, what: str, load: Callable[[Any, Sequence[int]], Any]) -> list[Any]:
        return await request(info).batch(f"prince2.{what}", _by_project(load)).load(self.project_id)

    @strawberry.field(description="The project board, in the order it was set.")
    async def board(self, info: strawberry.Info) -> list[Prince2BoardMember]:
        return await self._rows(info, "board", store.board_members)

    @strawberry.field(description="How many distinct board members must approve each stage boundary.")
    async def quorum(self, info: strawberry.Info) -> int:
        stored = await request(info).batch("prince2.quorum", store.quorums).load(self.project_id)
        return effective_quorum(stored, request(info).settings(Prince2Settings).default_quorum)

    @strawberry.field(description="End-stage reports, oldest first.")
    async def stage_reports(self, info: strawberry.Info) -> list[Prince2StageReport]:
        return await self._rows(info, "stage_reports", store.stage_reports)

    @field(Action.PROJECT_READ, description="Approvals of stage boundaries, oldest first; only those into `toStage` when given.")
    async def approvals(self, info: strawberry.Info, to_stage: str | None = None) -> list[Prince2Approval]:
        rows = await self._rows(info, "approvals", store.approvals)
        return [row for row in rows if to_stage is None or row.to_stage == to_stage]

    @strawberry.field(description="The stages' budgets, planned ends and tolerances.")
    async def tolerances(self, info: strawberry.Info) -> list[Prince2StageTolerance]:
        return await self._rows(info, "tolerances", store.stage_plans)

    @strawberry.field(description="Tolerances exceeded, oldest first, with their exception reports.")
    async def exceptions(self, info: strawberry.Info) -> list[Prince2Exception]:
        return await self._rows(info, "exceptions", store.exceptions)


@strawberry.type
class Prince2ProjectFields:
    """The field the plugin adds to ``Project``."""

    @field(Action.PROJECT_READ, description="PRINCE2 stage control; null for projects of other methodologies.")
    def prince2(self) -> Prince2Project | None:
        project: Any = self
        return Prince2Project(project_id=project.id) if is_prince2(project.methodology) else None
