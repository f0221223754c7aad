"""Hook implementations of the agile plugin: the methodology, its release gate, its
health rules, its GraphQL, its automation action and triggers, its tables."""

from __future__ import annotations

from pathlib import Path

from mcgraph.plugins import (
    AutomationAction,
    AutomationTrigger,
    GraphQLContribution,
    HealthContext,
    HealthReport,
    Methodology,
    ProjectFacts,
    ProjectInfo,
    StageMove,
    hookimpl,
)

from mcgraph_agile import store
from mcgraph_agile.automation import ADD_TO_ACTIVE_SPRINT, TRIGGERS
from mcgraph_agile.health_rules import AgileSettings, agile_reasons, combine
from mcgraph_agile.methodology import AGILE, CLOSED, KEY, RELEASE


@hookimpl
def mcgraph_methodologies() -> list[Methodology]:
    return [AGILE]


@hookimpl
async def mcgraph_check_stage_move(move: StageMove) -> list[str] | None:
    """Release needs the active sprint's tasks all done; closing needs no active sprint."""
    if move.methodology.key != KEY or move.to_stage not in (RELEASE, CLOSED):
        return None
    sprint = await store.active_sprint(move.session, move.project.id)
    if sprint is None:
        return None
    if move.to_stage == CLOSED:
        return [f"sprint {sprint.number} ({sprint.name}) is still active; complete it first"]
    lines = (await store.lines_of(move.session, [sprint.id]))[sprint.id]
    open_tasks = [line for line in lines if line.member.current and not line.task.done]
    if open_tasks:
        count = len(open_tasks)
        return [f"sprint {sprint.number} ({sprint.name}) has {count} open task{'s' if count != 1 else ''}"]
    return None


@hookimpl
async def mcgraph_project_health(
    project: ProjectInfo, facts: ProjectFacts, default: HealthReport, context: HealthContext
) -> HealthReport | None:
    figures = await store.figures(context.session, project.id)
    reasons = agile_reasons(figures, context.settings(AgileSettings))
    return combine(reasons, default) if reasons else None


@hookimpl
def mcgraph_graphql() -> GraphQLContribution:
    from mcgraph_agile.mutations import AgileMutation
    from mcgraph_agile.schema import AgileProjectFields, Sprint

    return GraphQLContribution(mutation=AgileMutation, fields={"Project": AgileProjectFields}, types=[Sprint])


@hookimpl
def mcgraph_automation_actions() -> list[AutomationAction]:
    return [ADD_TO_ACTIVE_SPRINT]


@hookimpl
def mcgraph_automation_triggers() -> list[AutomationTrigger]:
    return TRIGGERS


@hookimpl
def mcgraph_migrations() -> str:
    return str(Path(__file__).parent / "migrations")


@hookimpl
def mcgraph_settings() -> type[AgileSettings]:
    return AgileSettings
