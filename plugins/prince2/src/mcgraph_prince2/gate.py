"""The stage-boundary gate and the tolerance health of PRINCE2 projects, as hooks see them."""

from __future__ import annotations

from mcgraph.plugins import HealthContext, HealthReport, ProjectFacts, ProjectInfo, StageMove

from mcgraph_prince2 import store
from mcgraph_prince2.boundaries import boundary_refusals, effective_quorum
from mcgraph_prince2.methodology import is_prince2
from mcgraph_prince2.settings import Prince2Settings
from mcgraph_prince2.tolerances import tolerance_reasons, worst


async def check_boundary(move: StageMove) -> list[str] | None:
    """Why a move into a gated stage is refused: no end-stage report, too few approvals."""
    if not is_prince2(move.methodology.key):
        return None
    target = move.methodology.stage(move.to_stage)
    if target is None or not target.gated or move.forced:
        return []
    session, project_id = move.session, move.project.id
    board = await store.board(session, project_id)
    members = await store.board_members(session, [project_id])
    on_board = {member.user_id for member in members}
    given = await store.approvals(session, [project_id], from_stage=move.from_stage, to_stage=move.to_stage)
    approver_ids = list(dict.fromkeys(a.user_id for a in given if a.user_id in on_board))
    names = await store.user_names(session, approver_ids)
    default = move.settings(Prince2Settings).default_quorum
    return boundary_refusals(
        move.from_stage,
        has_report=await store.stage_report(session, project_id, move.from_stage) is not None,
        quorum=effective_quorum(board.quorum if board else None, default),
        board_size=len(on_board),
        approvers=[names.get(user_id, str(user_id)) for user_id in approver_ids],
    )


async def tolerance_health(
    project: ProjectInfo, facts: ProjectFacts, default: HealthReport, context: HealthContext
) -> HealthReport | None:
    """The default report, made OFF_TRACK by each tolerance the current stage exceeds."""
    if not is_prince2(project.methodology):
        return None
    plan = await store.stage_plan(context.session, project.id, project.stage)
    if plan is None:
        return None
    reasons = tolerance_reasons(store.plan_facts(plan), facts.actual_cost, context.today)
    if not reasons:
        return None
    health = worst(default.health, *(reason.health for reason in reasons))
    return HealthReport(health, [*reasons, *default.reasons])
