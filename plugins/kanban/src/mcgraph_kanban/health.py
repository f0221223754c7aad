"""The kanban health rules, added to mcgraph's default ones.

``KANBAN_WIP_EXCEEDED`` (AT_RISK), one per state holding more tasks than its limit
(possible once a limit is lowered): ``value`` the tasks in it, ``threshold`` the limit.

``KANBAN_BLOCKED`` (AT_RISK) when more than 25% of the open tasks (those not done) are
blocked: ``value`` the blocked share of open tasks (0.4 for 40%), ``threshold`` 0.25.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mcgraph.plugins import Health, HealthReason, HealthReport, StateCategory

from mcgraph_kanban.methodology import state_name
from mcgraph_kanban.wip import WipStatus

BLOCKED_SHARE_AT_RISK = 0.25


def wip_exceeded(statuses: Iterable[WipStatus]) -> list[HealthReason]:
    """A reason for each state over its WIP limit."""
    return [
        HealthReason(
            "KANBAN_WIP_EXCEEDED",
            Health.AT_RISK,
            f"{status.count} tasks in {state_name(status.state)}, over its WIP limit of {status.limit}",
            float(status.count),
            float(status.limit or 0),
        )
        for status in statuses
        if status.over
    ]


def too_many_blocked(categories: Iterable[StateCategory]) -> HealthReason | None:
    """A reason when more than a quarter of the open tasks are blocked, else None."""
    open_tasks = [c for c in categories if c is not StateCategory.DONE]
    blocked = sum(1 for c in open_tasks if c is StateCategory.BLOCKED)
    if not open_tasks:
        return None
    share = blocked / len(open_tasks)
    if share <= BLOCKED_SHARE_AT_RISK:
        return None
    message = f"{blocked} of {len(open_tasks)} open tasks are blocked ({round(share * 100)}%)"
    return HealthReason("KANBAN_BLOCKED", Health.AT_RISK, message, share, BLOCKED_SHARE_AT_RISK)


def combine(mine: Sequence[HealthReason], default: HealthReport) -> HealthReport:
    """The default report with ``mine`` added: worst first, the worst health overall."""
    reasons = sorted([*mine, *default.reasons], key=lambda reason: -reason.health.rank)
    worst = max([default.health, *(r.health for r in reasons)], key=lambda health: health.rank)
    return HealthReport(worst, reasons)
