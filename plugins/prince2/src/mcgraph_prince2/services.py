"""What the PRINCE2 mutations do, in a unit of work: the board, reports, approvals, plans.

Each function checks its input, writes, records its event and returns the row(s);
a problem is raised as a user error (``unit.refuse``) and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete

from mcgraph.plugins import PluginUnit, ProjectInfo

from mcgraph_prince2 import store
from mcgraph_prince2.boundaries import board_problems, boundary_key, effective_quorum, quorum_problem
from mcgraph_prince2.methodology import PRINCE2, is_prince2, stage_name
from mcgraph_prince2.models import Approval, Board, BoardMember, StagePlan, StageReport
from mcgraph_prince2.settings import Prince2Settings


@dataclass(frozen=True, slots=True)
class Seat:
    """A board member to be: who, and in which board role."""

    user_id: int
    role: str


async def prince2_project(unit: PluginUnit, project_id: int) -> ProjectInfo:
    """The project, refused unless it follows PRINCE2."""
    project = await unit.project(project_id)
    if not is_prince2(project.methodology):
        raise unit.refuse("projectId", f"Project {project.key} does not follow PRINCE2.", "INVALID")
    return project


async def set_board(unit: PluginUnit, project_id: int, seats: list[Seat], quorum: int | None) -> None:
    """Replace the project's board and its quorum (the settings' default when left out)."""
    project = await prince2_project(unit, project_id)
    problems = board_problems([s.role for s in seats], [s.user_id for s in seats])
    if problems:
        raise unit.refuse(problems[0][0], problems[0][1], "INVALID")
    known = await store.organization_members(unit.session, unit.organization_id, [s.user_id for s in seats])
    if missing := [s.user_id for s in seats if s.user_id not in known]:
        raise unit.refuse("members", f"{len(missing)} of these people are not members of the organisation.", "NOT_FOUND")
    quorum = effective_quorum(quorum, unit.settings(Prince2Settings).default_quorum)
    if problem := quorum_problem(quorum, len(seats)):
        raise unit.refuse("quorum", problem, "INVALID")
    await unit.session.execute(delete(BoardMember).where(BoardMember.project_id == project.id))
    for seat in seats:
        unit.session.add(
            BoardMember(
                organization_id=unit.organization_id, project_id=project.id, user_id=seat.user_id, role=seat.role, created_at=unit.now
            )
        )
    board = await store.board(unit.session, project.id)
    if board is None:
        board = Board(organization_id=unit.organization_id, project_id=project.id, quorum=quorum)
        unit.session.add(board)
    board.quorum, board.updated_at = quorum, unit.now
    await unit.session.flush()
    members = [{"user_id": s.user_id, "role": s.role} for s in seats]
    unit.record("prince2.board_set", board, project_id=project.id, members=members, quorum=quorum)


async def submit_stage_report(unit: PluginUnit, project_id: int, stage: str, summary: str) -> StageReport:
    """File (or file again) the end-stage report of the project's current stage."""
    project = await prince2_project(unit, project_id)
    if stage != project.stage:
        raise unit.refuse("stage", f"An end-stage report is for the current stage, {stage_name(project.stage)}.", "INVALID")
    if not summary.strip():
        raise unit.refuse("summary", "Summarise the stage: the summary is required.", "REQUIRED")
    report = await store.stage_report(unit.session, project.id, stage)
    if report is None:
        report = StageReport(organization_id=unit.organization_id, project_id=project.id, stage=stage)
        unit.session.add(report)
    report.summary, report.submitted_by_id, report.submitted_at = summary.strip(), unit.actor_id, unit.now
    await unit.session.flush()
    unit.record("prince2.end_stage_report_submitted", report, project_id=project.id, stage=stage)
    return report


async def approve_boundary(unit: PluginUnit, project_id: int, to_stage: str, note: str) -> Approval:
    """A board member's approval of the move from the current stage to ``to_stage``."""
    project = await prince2_project(unit, project_id)
    target = PRINCE2.stage(to_stage)
    if target is None or not target.gated or to_stage == project.stage:
        raise unit.refuse("toStage", f"{to_stage!r} is not a stage boundary from {stage_name(project.stage)}.", "INVALID")
    members = await store.board_members(unit.session, [project.id])
    on_board = {m.user_id for m in members}
    if unit.actor_id not in on_board:
        raise unit.refuse("projectId", "Only a member of the project board may approve a stage boundary.", "FORBIDDEN")
    given = await store.approvals(unit.session, [project.id], from_stage=project.stage, to_stage=to_stage)
    if any(a.user_id == unit.actor_id for a in given):
        raise unit.refuse("toStage", "You have approved this stage boundary already.", "TAKEN")
    approval = Approval(
        organization_id=unit.organization_id,
        project_id=project.id,
        from_stage=project.stage,
        to_stage=to_stage,
        user_id=unit.actor_id,
        note=note.strip(),
        approved_at=unit.now,
    )
    unit.session.add(approval)
    await unit.session.flush()
    board = await store.board(unit.session, project.id)
    quorum = effective_quorum(board.quorum if board else None, unit.settings(Prince2Settings).default_quorum)
    count = len({a.user_id for a in given if a.user_id in on_board}) + 1
    data = {"from_stage": project.stage, "to_stage": to_stage, "boundary": boundary_key(project.stage, to_stage)}
    unit.record("prince2.approval_given", approval, project_id=project.id, approvals=count, quorum=quorum, **data)
    if count == quorum:
        unit.record("prince2.stage_boundary_approved", approval, project_id=project.id, approvals=count, quorum=quorum, **data)
    return approval


async def set_tolerance(
    unit: PluginUnit,
    project_id: int,
    stage: str,
    *,
    budget: Decimal | None,
    cost_tolerance: Decimal,
    planned_end: date | None,
    time_tolerance_days: int,
) -> StagePlan:
    """Set a stage's budget and planned end with their tolerances; assess the project again."""
    project = await prince2_project(unit, project_id)
    if PRINCE2.stage(stage) is None:
        raise unit.refuse("stage", f"PRINCE2 has no stage {stage!r}.", "UNKNOWN_STAGE")
    for field, value in (("budget", budget), ("costTolerance", cost_tolerance), ("timeToleranceDays", time_tolerance_days)):
        if value is not None and value < 0:
            raise unit.refuse(field, "It cannot be negative.", "INVALID")
    plan = await store.stage_plan(unit.session, project.id, stage)
    if plan is None:
        plan = StagePlan(organization_id=unit.organization_id, project_id=project.id, stage=stage)
        unit.session.add(plan)
    plan.budget, plan.cost_tolerance, plan.updated_at = budget, cost_tolerance, unit.now
    plan.planned_end, plan.time_tolerance_days = planned_end, time_tolerance_days
    if stage == project.stage and plan.baseline_cost is None:
        plan.baseline_cost = (await unit.facts(project.id)).actual_cost
        plan.baseline_at = unit.now
    await unit.session.flush()
    unit.record(
        "prince2.tolerance_set",
        plan,
        project_id=project.id,
        stage=stage,
        budget=budget,
        cost_tolerance=cost_tolerance,
        planned_end=planned_end,
        time_tolerance_days=time_tolerance_days,
    )
    await unit.refresh_health(project.id)
    return plan
