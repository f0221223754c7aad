"""Stage tolerances: how far a stage may overrun its budget and planned end.

A stage is within tolerance while its cost (the project's actual cost now, less the
actual cost when the stage began) stays at most ``budget + cost_tolerance`` and, while it
is the current stage, today is at most ``planned_end + time_tolerance_days``. Past
either, the project manager owes the board an exception report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from mcgraph.plugins import Health, HealthReason

from mcgraph_prince2.methodology import stage_name

COST = "cost"
TIME = "time"
CODES = {COST: "PRINCE2_COST_TOLERANCE", TIME: "PRINCE2_TIME_TOLERANCE"}
KIND_OF_CODE = {code: kind for kind, code in CODES.items()}


@dataclass(frozen=True, slots=True)
class StagePlan:
    """What the board set for a stage, and the project's actual cost when it began."""

    stage: str
    budget: Decimal | None
    cost_tolerance: Decimal
    baseline_cost: Decimal | None
    planned_end: date | None
    time_tolerance_days: int


def stage_cost(actual_cost: Decimal, baseline_cost: Decimal | None) -> Decimal:
    """What the stage has cost so far: the actual cost since it began."""
    return actual_cost - (baseline_cost or Decimal(0))


def cost_overrun(plan: StagePlan, actual_cost: Decimal) -> Decimal | None:
    """By how much the stage's cost exceeds budget plus tolerance; None when within it.

    A stage whose baseline is not taken yet (it has just begun) is not judged on cost.
    """
    if plan.budget is None or plan.baseline_cost is None:
        return None
    over = stage_cost(actual_cost, plan.baseline_cost) - (plan.budget + plan.cost_tolerance)
    return over if over > 0 else None


def time_overrun(plan: StagePlan, today: date) -> int | None:
    """Days today is past the planned end plus tolerance; None when within it."""
    if plan.planned_end is None:
        return None
    days = (today - (plan.planned_end + timedelta(days=plan.time_tolerance_days))).days
    return days if days > 0 else None


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def tolerance_reasons(plan: StagePlan, actual_cost: Decimal, today: date) -> list[HealthReason]:
    """The OFF_TRACK reasons of the current stage's plan: one per tolerance exceeded."""
    reasons: list[HealthReason] = []
    name = stage_name(plan.stage)
    over = cost_overrun(plan, actual_cost)
    if over is not None and plan.budget is not None:
        limit = plan.budget + plan.cost_tolerance
        spent = stage_cost(actual_cost, plan.baseline_cost)
        message = (
            f"{name} cost {_money(spent)} exceeds its budget {_money(plan.budget)} plus tolerance "
            f"{_money(plan.cost_tolerance)} by {_money(over)}: an exception report is needed"
        )
        reasons.append(HealthReason(CODES[COST], Health.OFF_TRACK, message, float(spent), float(limit)))
    late = time_overrun(plan, today)
    if late is not None and plan.planned_end is not None:
        message = (
            f"{name} is {_days(late)} past its planned end {plan.planned_end.isoformat()} plus "
            f"{_days(plan.time_tolerance_days)} of tolerance: an exception report is needed"
        )
        past_end = (today - plan.planned_end).days
        reasons.append(HealthReason(CODES[TIME], Health.OFF_TRACK, message, float(past_end), float(plan.time_tolerance_days)))
    return reasons


def exceeded_kinds(reason_codes: list[str]) -> list[str]:
    """The tolerance kinds (``cost``, ``time``) named by a list of health reason codes."""
    return [KIND_OF_CODE[code] for code in reason_codes if code in KIND_OF_CODE]


def report_due(raised_at: datetime, days: int) -> datetime:
    """When the exception report on a tolerance raised at ``raised_at`` is due."""
    return raised_at + timedelta(days=days)


def worst(*healths: Health) -> Health:
    """The worst of some healths (ON_TRACK when none)."""
    return max(healths, key=lambda h: h.rank, default=Health.ON_TRACK)
