"""What automation rules get from the PRINCE2 plugin: its event types and one action."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcgraph.plugins import ActionCall, ActionFailed, AutomationAction, AutomationTrigger

from mcgraph_prince2.stage_exceptions import request_report

_PROJECT = {"stage": "the stage key"}

TRIGGERS = [
    AutomationTrigger(
        "prince2.exception_raised",
        "A stage exceeded its cost or time tolerance: the board awaits an exception report.",
        {**_PROJECT, "kind": "cost or time", "message": "by how much", "report_due": "when the report is due"},
    ),
    AutomationTrigger(
        "prince2.exception_reported",
        "The project manager reported on an exception.",
        {**_PROJECT, "kind": "cost or time", "summary": "the report"},
    ),
    AutomationTrigger(
        "prince2.exception_report_requested",
        "An automation asked for the report on an exception.",
        {**_PROJECT, "kind": "cost or time"},
    ),
    AutomationTrigger(
        "prince2.approval_given",
        "A board member approved a stage boundary.",
        {"from_stage": "the current stage", "to_stage": "the next stage", "approvals": "given so far", "quorum": "needed"},
    ),
    AutomationTrigger(
        "prince2.stage_boundary_approved",
        "A stage boundary reached its quorum of board approvals: the project may move.",
        {"from_stage": "the current stage", "to_stage": "the next stage", "approvals": "given", "quorum": "needed"},
    ),
    AutomationTrigger(
        "prince2.end_stage_report_submitted", "The end-stage report of the current stage was submitted.", _PROJECT
    ),
    AutomationTrigger("prince2.board_set", "A project board was set.", {"members": "user ids and roles", "quorum": "needed"}),
    AutomationTrigger(
        "prince2.tolerance_set",
        "A stage's budget, planned end or tolerances were set.",
        {
            **_PROJECT,
            "budget": "the stage's budget",
            "cost_tolerance": "how far the cost may exceed it",
            "planned_end": "the stage's planned end",
            "time_tolerance_days": "how many days it may run late",
        },
    ),
]


def _project_id(call: ActionCall) -> int:
    value = call.params.get("projectId")
    if value in (None, ""):
        value = (call.names.get("event") or {}).get("project_id")
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ActionFailed("no project: give projectId, or trigger the rule by an event about a project") from None


async def _request_exception_report(call: ActionCall) -> Mapping[str, Any]:
    rows = await request_report(call.unit, _project_id(call))
    return {"exceptionIds": [row.id for row in rows]}


def _check(params: Mapping[str, Any]) -> list[str]:
    value = params.get("projectId")
    if value in (None, "") or isinstance(value, int) or (isinstance(value, str) and ("{{" in value or value.isdigit())):
        return []
    return ["projectId must be a project id or a template"]


ACTIONS = [
    AutomationAction(
        type="prince2.request_exception_report",
        description="Ask the project manager for the report on the project's open exceptions (once each).",
        run=_request_exception_report,
        optional=("projectId",),
        templates=("projectId",),
        check=_check,
    )
]
