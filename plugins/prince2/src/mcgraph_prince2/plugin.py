"""Hook implementations of the prince2 plugin."""

from __future__ import annotations

from pathlib import Path

from mcgraph.plugins import (
    AutomationAction,
    AutomationTrigger,
    EventInfo,
    GraphQLContribution,
    HealthContext,
    HealthReport,
    Methodology,
    PluginUnit,
    ProjectFacts,
    ProjectInfo,
    StageMove,
    hookimpl,
)

from mcgraph_prince2 import automation, gate, observers, schema
from mcgraph_prince2.methodology import PRINCE2
from mcgraph_prince2.settings import Prince2Settings


@hookimpl
def mcgraph_methodologies() -> list[Methodology]:
    return [PRINCE2]


@hookimpl
async def mcgraph_check_stage_move(move: StageMove) -> list[str] | None:
    return await gate.check_boundary(move)


@hookimpl
async def mcgraph_project_health(
    project: ProjectInfo, facts: ProjectFacts, default: HealthReport, context: HealthContext
) -> HealthReport | None:
    return await gate.tolerance_health(project, facts, default, context)


@hookimpl
async def mcgraph_event(event: EventInfo, unit: PluginUnit) -> None:
    await observers.observe(event, unit)


@hookimpl
def mcgraph_graphql() -> GraphQLContribution:
    return schema.contribution()


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
def mcgraph_settings() -> type[Prince2Settings]:
    return Prince2Settings
