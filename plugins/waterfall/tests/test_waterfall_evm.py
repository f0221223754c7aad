"""Earned value maths, checked by hand, without GraphQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mcgraph.plugins import StateCategory, TaskInfo

from mcgraph_waterfall.evm import earned_value, planned_share, project_earned_value, window_share


def task(estimate: float | None, start: date | None, due: date | None, id: int = 1) -> TaskInfo:
    return TaskInfo(
        id=id, project_id=1, title=f"t{id}", state="todo", category=StateCategory.TODO, assignee_id=None,
        estimate_hours=estimate, points=None, due_date=due, completed_at=None, milestone_id=None, start_date=start,
    )


MAR = lambda day: date(2026, 3, day)  # noqa: E731


def test_window_share_is_linear_and_clamped():
    assert window_share(MAR(2), MAR(6), MAR(1)) == 0.0
    assert window_share(MAR(2), MAR(6), MAR(3)) == 0.25
    assert window_share(MAR(2), MAR(6), MAR(6)) == 1.0
    assert window_share(MAR(2), MAR(6), MAR(20)) == 1.0


def test_a_window_of_no_length_is_done_on_its_day():
    assert window_share(MAR(4), MAR(4), MAR(3)) == 0.0
    assert window_share(MAR(4), MAR(4), MAR(4)) == 1.0


def test_planned_share_weighs_tasks_by_estimate():
    # 10 h over Mar 2-6, half planned by Mar 4: 5 h; 30 h over Mar 6-16, none yet: 5 of 40 h.
    tasks = [task(10, MAR(2), MAR(6), 1), task(30, MAR(6), MAR(16), 2)]
    assert planned_share(tasks, MAR(4), None, None) == pytest.approx(0.125)
    # Mar 11: 10 h + 30 h * 5/10 = 25 of 40 h.
    assert planned_share(tasks, MAR(11), None, None) == pytest.approx(0.625)


def test_tasks_without_estimates_weigh_the_same():
    tasks = [task(None, MAR(2), MAR(4), 1), task(None, MAR(10), MAR(20), 2)]
    assert planned_share(tasks, MAR(4), None, None) == 0.5


def test_tasks_without_dates_take_the_projects():
    # Mar 2 to Apr 1 is 30 days; Mar 17 is 15 days in: half of the undated task's 20 h,
    # and all of the dated task's 20 h: 30 of 40 h.
    tasks = [task(20, None, None, 1), task(20, MAR(2), MAR(10), 2)]
    assert planned_share(tasks, MAR(17), MAR(2), date(2026, 4, 1)) == pytest.approx(0.75)


def test_without_tasks_the_elapsed_share_of_the_project_is_planned():
    assert planned_share([], MAR(17), MAR(2), date(2026, 4, 1)) == 0.5
    assert planned_share([task(5, None, None)], MAR(17), None, None) is None


def test_earned_value_figures():
    figures = earned_value(Decimal("10000"), 0.125, 0.25, Decimal("5000"), MAR(4))
    assert (figures.bac, figures.pv, figures.ev, figures.ac) == (
        Decimal("10000.00"), Decimal("1250.00"), Decimal("2500.00"), Decimal("5000.00"),
    )
    assert figures.spi == 2.0
    assert figures.cpi == 0.5
    assert figures.sv == Decimal("1250.00")
    assert figures.cv == Decimal("-2500.00")
    assert figures.as_of == MAR(4)


def test_indices_are_unknown_while_nothing_is_planned_or_spent():
    figures = earned_value(Decimal("1000"), 0.0, 0.0, Decimal("0"), MAR(2))
    assert figures.spi is None
    assert figures.cpi is None


def test_money_is_rounded_to_cents():
    figures = earned_value(Decimal("100"), 1 / 3, 2 / 3, Decimal("10.005"), MAR(2))
    assert (figures.pv, figures.ev, figures.ac) == (Decimal("33.33"), Decimal("66.67"), Decimal("10.01"))


def test_no_figures_without_a_budget_or_a_plan():
    tasks = [task(10, MAR(2), MAR(6))]
    assert project_earned_value(None, tasks, 0.5, Decimal(0), MAR(4), None, None) is None
    assert project_earned_value(Decimal(0), tasks, 0.5, Decimal(0), MAR(4), None, None) is None
    assert project_earned_value(Decimal(100), [task(10, None, None)], 0.5, Decimal(0), MAR(4), None, None) is None
    figures = project_earned_value(Decimal(100), tasks, 0.25, Decimal(50), MAR(4), None, None)
    assert figures is not None and (figures.pv, figures.ev, figures.cpi) == (Decimal("50.00"), Decimal("25.00"), 0.5)
