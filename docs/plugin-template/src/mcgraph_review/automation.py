"""Automation: the ``review.approve`` action and the ``review.approved`` trigger."""

from __future__ import annotations

from typing import Any

from mcgraph.plugins import ActionCall, ActionFailed, AutomationAction, AutomationTrigger

from mcgraph_review.models import approve as record_approval
from mcgraph_review.rules import KEY
from mcgraph_review.schema import APPROVED


async def approve(call: ActionCall) -> dict[str, Any]:
    """Approve the review of the event's project on behalf of mcgraph (once per project)."""
    unit = call.unit
    project_id = call.params.get("projectId") or (call.names.get("project") or {}).get("id")
    if not project_id:
        raise ActionFailed("review.approve needs a project: the event has none and no projectId was given")
    project = await unit.project(int(project_id))
    if project.methodology != KEY:
        raise ActionFailed(f"project {project.key} is not a review project")
    # A run may be retried: approve() finds mcgraph's earlier approval and adds none.
    new = await record_approval(
        unit.session, organization_id=unit.organization_id, project_id=project.id, user_id=None, now=unit.now
    )
    if new:
        unit.record(APPROVED, project.id, project_id=project.id, user_id=None)
    return {"project_id": project.id, "approved": new}


ACTIONS = [
    AutomationAction(
        type="review.approve",
        description="Approve the review of the event's project (or of params.projectId) on behalf of mcgraph.",
        run=approve,
        optional=("projectId",),
        templates=("projectId",),
    )
]

TRIGGERS = [
    AutomationTrigger(
        event_type=APPROVED,
        description="Someone (or mcgraph) approved the review of a review project.",
        data={"user_id": "who approved; null when mcgraph did"},
    )
]
