"""Hook implementations of the kanban plugin: each hook hands over to the module that owns it."""

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
    TaskTransition,
    hookimpl,
)

from mcgraph_kanban import automation, health, history, limits, wip
from mcgraph_kanban.methodology import KANBAN, KEY, KanbanSettings
from mcgraph_kanban.schema import KanbanMutation, KanbanProjectFields


@hookimpl
def mcgraph_methodologies() -> list[Methodology]:
    return [KANBAN]


@hookimpl
async def mcgraph_check_task_transition(transition: TaskTransition) -> list[str] | None:
    return await limits.check_transition(transition)


@hookimpl
async def mcgraph_project_health(
    project: ProjectInfo, facts: ProjectFacts, default: HealthReport, context: HealthContext
) -> HealthReport | None:
    if project.methodology != KEY:
        return None
    tasks = await context.tasks()
    in_force = await limits.limits_in_force(context.session, [project.id], context.settings(KanbanSettings))
    statuses = wip.board(in_force[project.id], wip.count_states(t.state for t in tasks))
    blocked = health.too_many_blocked(t.category for t in tasks)
    return health.combine([*health.wip_exceeded(statuses), *([blocked] if blocked else [])], default)


@hookimpl
async def mcgraph_event(event: EventInfo, unit: PluginUnit) -> None:
    await history.observe(event, unit)


@hookimpl
def mcgraph_graphql() -> GraphQLContribution:
    return GraphQLContribution(mutation=KanbanMutation, fields={"Project": KanbanProjectFields})


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
def mcgraph_settings() -> type[KanbanSettings]:
    return KanbanSettings
