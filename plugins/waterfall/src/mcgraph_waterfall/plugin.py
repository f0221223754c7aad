"""Hook implementations of the waterfall plugin: each hands over to a rule module."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mcgraph.plugins import (
    AutomationAction,
    AutomationTrigger,
    EventInfo,
    GraphQLContribution,
    HealthContext,
    HealthReport,
    Methodology,
    ProjectFacts,
    ProjectInfo,
    StageMove,
    TaskTransition,
    hookimpl,
)

from mcgraph_waterfall.automation import ACTIONS, TRIGGERS, on_stage_changed
from mcgraph_waterfall.dependencies import fs_predecessors, start_refusals, starts
from mcgraph_waterfall.evm import project_earned_value
from mcgraph_waterfall.gate import gate_reasons, moves_forward
from mcgraph_waterfall.health import WaterfallSettings, evm_reasons, with_reasons
from mcgraph_waterfall.methodology import KEY, WATERFALL
from mcgraph_waterfall.store import links_of

if TYPE_CHECKING:
    from mcgraph.plugins import PluginUnit


@hookimpl
def mcgraph_methodologies() -> list[Methodology]:
    return [WATERFALL]


@hookimpl
async def mcgraph_check_stage_move(move: StageMove) -> list[str] | None:
    if move.methodology.key != KEY or not moves_forward(move.from_stage, move.to_stage):
        return None
    return gate_reasons(
        move.from_stage,
        move.to_stage,
        await move.tasks(),
        await move.milestones(),
        await links_of(move.session, move.project.id),
    )


@hookimpl
async def mcgraph_check_task_transition(transition: TaskTransition) -> list[str] | None:
    if transition.methodology.key != KEY:
        return None
    before = transition.methodology.state(transition.from_state)
    after = transition.methodology.state(transition.to_state)
    if before is None or after is None or not starts(before.category, after.category):
        return None
    predecessors = await fs_predecessors(transition.session, transition.task.id)
    return start_refusals(before.category, after.category, predecessors)


@hookimpl
async def mcgraph_project_health(
    project: ProjectInfo, facts: ProjectFacts, default: HealthReport, context: HealthContext
) -> HealthReport | None:
    figures = project_earned_value(
        facts.planned_budget, await context.tasks(), facts.progress, facts.actual_cost, facts.today,
        facts.start_date, facts.target_end_date,
    )
    if figures is None:
        return None
    return with_reasons(default, evm_reasons(figures, context.settings(WaterfallSettings)))


@hookimpl
def mcgraph_graphql() -> GraphQLContribution:
    from mcgraph_waterfall.schema import WaterfallMutation, WaterfallProjectFields

    return GraphQLContribution(mutation=WaterfallMutation, fields={"Project": WaterfallProjectFields})


@hookimpl
async def mcgraph_event(event: EventInfo, unit: PluginUnit) -> None:
    if event.type == "project.stage_changed" and event.methodology == KEY:
        await on_stage_changed(event, unit)


@hookimpl
def mcgraph_automation_triggers() -> list[AutomationTrigger]:
    return TRIGGERS


@hookimpl
def mcgraph_automation_actions() -> list[AutomationAction]:
    return ACTIONS


@hookimpl
def mcgraph_migrations() -> str:
    return str(Path(__file__).parent / "migrations")


@hookimpl
def mcgraph_settings() -> type:
    return WaterfallSettings
