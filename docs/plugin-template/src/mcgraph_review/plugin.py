"""The hooks of the review plugin: mcgraph finds this module through the entry point
``review = "mcgraph_review.plugin"`` and calls the functions marked ``@hookimpl``."""

from __future__ import annotations

from pathlib import Path

from mcgraph.plugins import (
    AutomationAction,
    AutomationTrigger,
    GraphQLContribution,
    Methodology,
    StageMove,
    hookimpl,
)

from mcgraph_review import automation
from mcgraph_review.models import count_approvals
from mcgraph_review.rules import KEY, REVIEW, ReviewSettings, gate_reasons
from mcgraph_review.schema import ReviewMutation, ReviewProjectFields


@hookimpl
def mcgraph_methodologies() -> list[Methodology]:
    return [REVIEW]


@hookimpl
async def mcgraph_check_stage_move(move: StageMove) -> list[str] | None:
    # Asked for every move of every project: answer only for moves into our gated stages.
    target = move.methodology.stage(move.to_stage)
    if move.methodology.key != KEY or target is None or not target.gated:
        return None
    approvals = (await count_approvals(move.session, [move.project.id]))[move.project.id]
    return gate_reasons(approvals, move.settings(ReviewSettings).required_approvals)


@hookimpl
def mcgraph_graphql() -> GraphQLContribution:
    return GraphQLContribution(mutation=ReviewMutation, fields={"Project": ReviewProjectFields})


@hookimpl
def mcgraph_automation_actions() -> list[AutomationAction]:
    return automation.ACTIONS


@hookimpl
def mcgraph_automation_triggers() -> list[AutomationTrigger]:
    return automation.TRIGGERS


@hookimpl
def mcgraph_migrations() -> str:
    return str(Path(__file__).parent / "migrations")


@hookimpl
def mcgraph_settings() -> type[ReviewSettings]:
    return ReviewSettings
