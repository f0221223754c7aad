"""Earned value management: how much work was planned, done and paid for by a date.

- BAC (budget at completion): the project's planned budget.
- PV (planned value): BAC times the share of the work planned to be done by today. Each
  task's estimate is spread evenly from its start date to its due date; a task without
  dates takes the project's start or target end in their place. Tasks weigh by their
  estimate (equally when none has one). With no task to go by, the share is the elapsed
  share of the project's own dates.
- EV (earned value): BAC times the project's progress.
- AC (actual cost): what the project spent.
- SPI = EV / PV and CPI = EV / AC (unknown while PV or AC is zero); SV = EV - PV and
  CV = EV - AC, in money.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from mcgraph.plugins import TaskInfo

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class EarnedValue:
    """The earned value figures of a project on ``as_of``; money rounded to cents."""

    bac: Decimal
    pv: Decimal
    ev: Decimal
    ac: Decimal
    spi: float | None
    cpi: float | None
    as_of: date

    @property
    def sv(self) -> Decimal:
        """Schedule variance: negative when behind the plan."""
        return self.ev - self.pv

    @property
    def cv(self) -> Decimal:
        """Cost variance: negative when over cost."""
        return self.ev - self.ac


def window_share(start: date, end: date, today: date) -> float:
    """The share of the span from ``start`` to ``end`` that has passed by ``today``, 0 to 1.

    A span of no length (or a reversed one) is all passed from ``end`` on.
    """
    if end <= start:
        return 1.0 if today >= end else 0.0
    return min(1.0, max(0.0, (today - start).days / (end - start).days))


def planned_share(
    tasks: Sequence[TaskInfo], today: date, project_start: date | None, project_end: date | None
) -> float | None:
    """The share of the work planned to be done by ``today``; None when nothing says."""
    planned: list[tuple[float, float]] = []  # (weight, share) per task with a window
    for task in tasks:
        start = task.start_date or project_start
        end = task.due_date or project_end
        if start is None or end is None:
            continue
        planned.append((task.estimate_hours or 0.0, window_share(start, end, today)))
    if planned:
        total = sum(weight for weight, _ in planned)
        if total > 0:
            return sum(weight * share for weight, share in planned) / total
        return sum(share for _, share in planned) / len(planned)
    if project_start is not None and project_end is not None:
        return window_share(project_start, project_end, today)
    return None


def earned_value(
    bac: Decimal, planned: float, progress: float, actual_cost: Decimal, as_of: date
) -> EarnedValue:
    """The figures for a budget ``bac``, a planned share, a progress share and a cost."""
    pv = _money(bac * Decimal(str(planned)))
    ev = _money(bac * Decimal(str(progress)))
    ac = _money(actual_cost)
    return EarnedValue(
        bac=_money(bac),
        pv=pv,
        ev=ev,
        ac=ac,
        spi=float(ev / pv) if pv > 0 else None,
        cpi=float(ev / ac) if ac > 0 else None,
        as_of=as_of,
    )


def project_earned_value(
    bac: Decimal | None,
    tasks: Sequence[TaskInfo],
    progress: float,
    actual_cost: Decimal,
    today: date,
    project_start: date | None,
    project_end: date | None,
) -> EarnedValue | None:
    """A project's figures, or None without a budget or anything to plan by."""
    if bac is None or bac <= 0:
        return None
    planned = planned_share(tasks, today, project_start, project_end)
    if planned is None:
        return None
    return earned_value(bac, planned, progress, actual_cost, today)


def _money(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
