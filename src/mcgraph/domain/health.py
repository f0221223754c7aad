"""The default project health rules.

:func:`assess` turns a :class:`ProjectFacts` into a :class:`HealthReport`. Each rule
below gives at most one :class:`HealthReason`: OFF_TRACK when its measure is past the
off-track threshold, else AT_RISK when it is past the at-risk threshold, else nothing.
A reason's ``threshold`` is the one it crossed, in the same unit as its ``value``.

``BEHIND_SCHEDULE``
    Needs ``start_date`` and ``target_end_date``, a target end after the start, and
    ``today`` after the start. The elapsed share is ``(today - start) / (target_end -
    start)``, capped at 1.0; the gap is ``elapsed - progress``. Past a threshold means
    strictly more than it (within 1e-9, so that 52% - 42% counts as exactly 10 points).
    ``value``: the gap as a share (0.12 for 12 points). Message: ``behind schedule: 40%
    done at 52% of the time``.

``OVERDUE_TASKS``
    Past a threshold means at least as many overdue open tasks as it.
    ``value``: the number of overdue tasks. Message: ``3 overdue tasks``.

``LATE_FORECAST``
    Needs ``forecast_end_date`` (when the critical path ends) and ``target_end_date``.
    Past a threshold means the forecast is strictly more days after the target end.
    ``value``: the days of slip, negative when the forecast is early. Message:
    ``critical path ends 5 days after the target end``.

``OVER_BUDGET``
    Needs a ``planned_budget`` above zero. The overrun is ``(actual_cost -
    planned_budget) / planned_budget``; past a threshold means strictly more than it.
    ``value``: the overrun as a share (0.18 for 18%). Message: ``cost 18% over budget``.

``PAST_TARGET_END``
    Needs ``target_end_date``, ``today`` after it and open tasks left; always OFF_TRACK.
    ``value``: the days since the target end; ``threshold``: 0. Message: ``past the
    target end by 4 days with 7 open tasks``.

The report's health is the worst of its reasons' (ON_TRACK when there are none), and
its reasons are listed worst first, then in the order of the rules above.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mcgraph.db.models.enums import Health

GAP_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    schedule_gap_at_risk: float = 0.10
    """Elapsed share of the time minus progress share."""
    schedule_gap_off_track: float = 0.25
    overdue_at_risk: int = 1
    """Overdue open tasks."""
    overdue_off_track: int = 5
    slip_days_at_risk: float = 0.0
    """Days the critical path ends after the target end (strictly more than)."""
    slip_days_off_track: float = 5.0
    cost_over_at_risk: float = 0.05
    """Actual cost over the planned budget, as a share of the budget."""
    cost_over_off_track: float = 0.15


@dataclass(frozen=True, slots=True)
class ProjectFacts:
    today: date
    start_date: date | None
    target_end_date: date | None
    progress: float
    """From 0.0 to 1.0."""
    overdue_tasks: int
    open_tasks: int
    forecast_end_date: date | None
    """When the critical path ends, if known."""
    planned_budget: Decimal | None
    actual_cost: Decimal


@dataclass(frozen=True, slots=True)
class HealthReason:
    code: str
    health: Health
    """The health this reason alone implies: AT_RISK or OFF_TRACK."""
    message: str
    value: float
    """What the rule measured; see the module docstring for each code's unit."""
    threshold: float
    """The threshold the value crossed, in the same unit."""


@dataclass(frozen=True, slots=True)
class HealthReport:
    health: Health
    reasons: list[HealthReason]


def assess(facts: ProjectFacts, thresholds: HealthThresholds = HealthThresholds()) -> HealthReport:
    """Apply the default rules to ``facts``; the report says how healthy and why."""
    found = [reason for rule in _RULES if (reason := rule(facts, thresholds)) is not None]
    found.sort(key=lambda reason: -reason.health.rank)
    return HealthReport(health=found[0].health if found else Health.ON_TRACK, reasons=found)


def _grade(at_risk: float, off_track: float, past: Callable[[float], bool]) -> tuple[Health, float] | None:
    """The health and the threshold crossed, when ``past(threshold)`` holds for either."""
    if past(off_track):
        return Health.OFF_TRACK, off_track
    if past(at_risk):
        return Health.AT_RISK, at_risk
    return None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _behind_schedule(facts: ProjectFacts, thresholds: HealthThresholds) -> HealthReason | None:
    start, end = facts.start_date, facts.target_end_date
    if start is None or end is None or end <= start or facts.today <= start:
        return None
    elapsed = min(1.0, (facts.today - start).days / (end - start).days)
    gap = elapsed - facts.progress
    grade = _grade(
        thresholds.schedule_gap_at_risk,
        thresholds.schedule_gap_off_track,
        lambda threshold: gap > threshold + GAP_TOLERANCE,
    )
    if grade is None:
        return None
    message = f"behind schedule: {round(facts.progress * 100)}% done at {round(elapsed * 100)}% of the time"
    return HealthReason("BEHIND_SCHEDULE", grade[0], message, gap, float(grade[1]))


def _overdue_tasks(facts: ProjectFacts, thresholds: HealthThresholds) -> HealthReason | None:
    count = facts.overdue_tasks
    grade = _grade(thresholds.overdue_at_risk, thresholds.overdue_off_track, lambda threshold: count >= threshold)
    if grade is None:
        return None
    return HealthReason("OVERDUE_TASKS", grade[0], _plural(count, "overdue task"), float(count), float(grade[1]))


def _late_forecast(facts: ProjectFacts, thresholds: HealthThresholds) -> HealthReason | None:
    if facts.forecast_end_date is None or facts.target_end_date is None:
        return None
    slip = (facts.forecast_end_date - facts.target_end_date).days
    grade = _grade(thresholds.slip_days_at_risk, thresholds.slip_days_off_track, lambda threshold: slip > threshold)
    if grade is None:
        return None
    message = f"critical path ends {_plural(slip, 'day')} after the target end"
    return HealthReason("LATE_FORECAST", grade[0], message, float(slip), float(grade[1]))


def _over_budget(facts: ProjectFacts, thresholds: HealthThresholds) -> HealthReason | None:
    planned = facts.planned_budget
    if planned is None or planned <= 0:
        return None
    # In Decimal, so that 105 spent of 100 planned is exactly 5% over.
    over = (facts.actual_cost - planned) / planned
    grade = _grade(
        thresholds.cost_over_at_risk,
        thresholds.cost_over_off_track,
        lambda threshold: over > Decimal(str(threshold)),
    )
    if grade is None:
        return None
    message = f"cost {round(over * 100)}% over budget"
    return HealthReason("OVER_BUDGET", grade[0], message, float(over), float(grade[1]))


def _past_target_end(facts: ProjectFacts, thresholds: HealthThresholds) -> HealthReason | None:
    end = facts.target_end_date
    if end is None or facts.today <= end or facts.open_tasks <= 0:
        return None
    days = (facts.today - end).days
    message = f"past the target end by {_plural(days, 'day')} with {_plural(facts.open_tasks, 'open task')}"
    return HealthReason("PAST_TARGET_END", Health.OFF_TRACK, message, float(days), 0.0)


_RULES: tuple[Callable[[ProjectFacts, HealthThresholds], HealthReason | None], ...] = (
    _behind_schedule,
    _overdue_tasks,
    _late_forecast,
    _over_budget,
    _past_target_end,
)
