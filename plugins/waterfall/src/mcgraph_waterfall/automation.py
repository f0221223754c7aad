"""Events the plugin records, the observer that records ``waterfall.phase_entered``,
and the automation action ``waterfall.request_sign_off``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mcgraph.plugins import ActionCall, ActionFailed, AutomationAction, AutomationTrigger, EventInfo

from mcgraph_waterfall.methodology import KEY, STAGE_KEYS, is_phase, stage_index
from mcgraph_waterfall.models import Effect
from mcgraph_waterfall.store import links_of

if TYPE_CHECKING:
    from mcgraph.plugins import PluginUnit

TRIGGERS = [
    AutomationTrigger(
        "waterfall.phase_entered",
        "A waterfall project entered a stage (forward, or back for rework); the subject is the project.",
        {"phase": "the stage entered", "from": "the stage left", "rework": "true when the project moved back"},
    ),
    AutomationTrigger(
        "waterfall.phase_milestone_set",
        "A phase of a waterfall project was linked to a milestone, or unlinked; the subject is the project.",
        {"phase": "the phase", "milestone_id": "the milestone's id, null when unlinked"},
    ),
    AutomationTrigger(
        "waterfall.sign_off_requested",
        "Sign-off of a phase's milestone was requested; the subject is the milestone.",
        {"phase": "the phase", "milestone_id": "the milestone's id", "milestone": "the milestone's name"},
    ),
]


async def take_once(unit: PluginUnit, key: str) -> bool:
    """Claim effect ``key``: True the first time, False when it was already taken."""
    found = await unit.session.execute(select(Effect.id).where(Effect.key == key))
    if found.first() is not None:
        return False
    unit.session.add(Effect(organization_id=unit.organization_id, key=key, created_at=unit.now))
    await unit.session.flush()
    return True


async def on_stage_changed(event: EventInfo, unit: PluginUnit) -> None:
    """Record ``waterfall.phase_entered`` for a waterfall project's stage change, once."""
    change = event.change("stage")
    if change is None or event.subject_type != "project":
        return
    before, after = change
    if before not in STAGE_KEYS or after not in STAGE_KEYS:
        return
    project = await unit.project(event.subject_id)
    if project.methodology != KEY or not await take_once(unit, f"phase_entered:{event.id}"):
        return
    rework = stage_index(after) < stage_index(before)
    unit.record("waterfall.phase_entered", project.id, project_id=project.id, phase=after, rework=rework, **{"from": before})


async def request_sign_off(call: ActionCall) -> dict[str, Any]:
    """Record ``waterfall.sign_off_requested`` for the milestone of a phase (the current one
    unless ``phase`` says), unless it is signed off already."""
    unit = call.unit
    project_id = call.params.get("projectId") or (call.names.get("project") or {}).get("id")
    if not project_id:
        raise ActionFailed("there is no project: the event is not about one and no projectId is given")
    project = await unit.project(int(project_id))
    if project.methodology != KEY:
        raise ActionFailed(f"project {project.key} is not a waterfall project")
    phase = str(call.params.get("phase") or project.stage)
    if not is_phase(phase):
        raise ActionFailed(f"{phase!r} is not a phase with a milestone")
    milestone_id = (await links_of(unit.session, project.id)).get(phase)
    milestone = next((m for m in await unit.milestones(project.id) if m.id == milestone_id), None)
    if milestone is None:
        raise ActionFailed(f"no milestone closes the {phase} phase of project {project.key}")
    if milestone.signed_off_at is not None:
        return {"milestoneId": milestone.id, "alreadySignedOff": True}
    if await take_once(unit, f"sign_off_requested:{call.key}"):
        unit.record(
            "waterfall.sign_off_requested", milestone.id, project_id=project.id,
            phase=phase, milestone_id=milestone.id, milestone=milestone.name,
        )
    return {"milestoneId": milestone.id, "phase": phase}


def _check(params: Any) -> list[str]:
    phase = params.get("phase")
    if phase is not None and not is_phase(str(phase)):
        return [f"phase {phase!r} is not one of the waterfall phases"]
    return []


ACTIONS = [
    AutomationAction(
        type="waterfall.request_sign_off",
        description="Ask for the sign-off of a waterfall phase's milestone (the current phase unless `phase` is given).",
        run=request_sign_off,
        optional=("projectId", "phase"),
        check=_check,
        describe=lambda params, names: f"request sign-off of the {params.get('phase') or 'current'} phase's milestone",
    ),
]
