"""Reactions to core events: stage baselines when a stage begins, exceptions on breaches."""

from __future__ import annotations

from mcgraph.plugins import EventInfo, PluginUnit, ProjectInfo

from mcgraph_prince2 import store
from mcgraph_prince2.methodology import is_prince2
from mcgraph_prince2.models import StagePlan
from mcgraph_prince2.stage_exceptions import raise_exception
from mcgraph_prince2.tolerances import CODES, exceeded_kinds, tolerance_reasons

COST_EVENTS = frozenset({"cost.added", "time.logged", "time.updated", "time.deleted"})


async def observe(event: EventInfo, unit: PluginUnit) -> None:
    """Route an event to the reaction it calls for, for PRINCE2 projects only."""
    if event.project_id is None or not is_prince2(event.methodology or ""):
        return
    if event.type == "project.stage_changed":
        await _stage_began(event, unit)
    elif event.type == "project.health_changed":
        await _health_changed(event, unit)
    elif event.type in COST_EVENTS:
        await _cost_changed(event, unit)


async def _prince2_project(unit: PluginUnit, project_id: int) -> ProjectInfo | None:
    try:
        project = await unit.project(project_id)
    except Exception:  # a NOT_FOUND user error: the project is gone, nothing to react to
        return None
    return project if is_prince2(project.methodology) else None


async def _stage_began(event: EventInfo, unit: PluginUnit) -> None:
    """Store the project's actual cost as the baseline of the stage it entered."""
    change = event.change("stage")
    project = await _prince2_project(unit, event.project_id or 0)
    if change is None or project is None:
        return
    stage = change[1]
    plan = await store.stage_plan(unit.session, project.id, stage)
    if plan is not None and plan.baseline_event_id is not None and plan.baseline_event_id >= event.id:
        return  # this entry (or a later one) set the baseline already
    if plan is None:
        plan = StagePlan(organization_id=unit.organization_id, project_id=project.id, stage=stage)
        unit.session.add(plan)
    facts = await unit.facts(project.id)
    plan.baseline_cost = facts.actual_cost
    plan.baseline_at = event.occurred_at
    plan.baseline_event_id = event.id
    plan.updated_at = unit.now
    await unit.refresh_health(project.id)


async def _health_changed(event: EventInfo, unit: PluginUnit) -> None:
    """Raise an exception for each tolerance code among the project's new health reasons."""
    reasons = [r for r in event.data.get("reasons") or () if r.get("code") in CODES.values()]
    if not reasons:
        return
    project = await _prince2_project(unit, event.project_id or 0)
    if project is None:
        return
    for reason, kind in zip(reasons, exceeded_kinds([r["code"] for r in reasons]), strict=True):
        await raise_exception(unit, project.id, project.stage, kind, reason.get("message", ""))


async def _cost_changed(event: EventInfo, unit: PluginUnit) -> None:
    """Check the current stage's tolerances afresh (health may not change: already off track)."""
    project = await _prince2_project(unit, event.project_id or 0)
    if project is None:
        return
    plan = await store.stage_plan(unit.session, project.id, project.stage)
    if plan is None:
        return
    facts = await unit.facts(project.id)
    for reason in tolerance_reasons(store.plan_facts(plan), facts.actual_cost, unit.today):
        kind = exceeded_kinds([reason.code])[0]
        await raise_exception(unit, project.id, project.stage, kind, reason.message)
