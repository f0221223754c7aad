"""The PRINCE2 rules as plain functions: boards, quorums, boundaries and tolerances."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from mcgraph.plugins import Health

from mcgraph_prince2.boundaries import (
    approval_shortfall,
    board_problems,
    boundary_refusals,
    effective_quorum,
    quorum_problem,
)
from mcgraph_prince2.settings import Prince2Settings
from mcgraph_prince2.tolerances import (
    StagePlan,
    cost_overrun,
    exceeded_kinds,
    report_due,
    stage_cost,
    time_overrun,
    tolerance_reasons,
    worst,
)


def plan(**overrides: object) -> StagePlan:
    values: dict[str, object] = {
        "stage": "delivery_1",
        "budget": Decimal("1000"),
        "cost_tolerance": Decimal("100"),
        "baseline_cost": Decimal("500"),
        "planned_end": date(2026, 3, 20),
        "time_tolerance_days": 2,
    }
    values.update(overrides)
    return StagePlan(**values)  # type: ignore[arg-type]


def test_the_project_quorum_wins_over_the_default() -> None:
    assert effective_quorum(3, 2) == 3
    assert effective_quorum(None, 2) == 2


def test_a_quorum_must_be_reachable_by_the_board() -> None:
    assert quorum_problem(2, 3) is None
    assert quorum_problem(4, 3) == "A quorum of 4 cannot be met by a board of 3."
    assert quorum_problem(0, 3) == "A quorum is at least 1."


def test_a_board_has_one_executive_and_known_roles() -> None:
    assert board_problems(["executive", "senior_user", "senior_supplier"], [1, 2, 3]) == []
    assert board_problems([], []) == []
    assert board_problems(["senior_user"], [1]) == [("members", "A project board has exactly one executive; this one has 0.")]
    assert board_problems(["executive", "sponsor"], [1, 2])[0][1].startswith("Unknown board role sponsor")
    assert ("members", "A person sits on the board once.") in board_problems(["executive", "senior_user"], [1, 1])


def test_approvals_short_of_the_quorum_are_named() -> None:
    assert approval_shortfall(2, 3, ["Olivia"]) == "2 of 3 board approvals needed; 1 given (Olivia)"
    assert approval_shortfall(2, 3, []) == "2 of 3 board approvals needed; 0 given"
    assert approval_shortfall(2, 3, ["Olivia", "Sam"]) is None
    assert approval_shortfall(2, 0, []) == "no project board: set one before moving to a gated stage"


def test_a_boundary_needs_the_report_and_the_quorum() -> None:
    assert boundary_refusals("initiating", has_report=False, quorum=2, board_size=3, approvers=[]) == [
        "no end-stage report for Initiating",
        "2 of 3 board approvals needed; 0 given",
    ]
    assert boundary_refusals("initiating", has_report=True, quorum=2, board_size=3, approvers=["Olivia"]) == [
        "2 of 3 board approvals needed; 1 given (Olivia)"
    ]
    assert boundary_refusals("initiating", has_report=True, quorum=2, board_size=3, approvers=["Olivia", "Sam"]) == []


def test_stage_cost_counts_from_the_baseline() -> None:
    assert stage_cost(Decimal("1700"), Decimal("500")) == Decimal("1200")
    assert stage_cost(Decimal("300"), None) == Decimal("300")


def test_cost_tolerance_is_budget_plus_tolerance_exclusive() -> None:
    assert cost_overrun(plan(), Decimal("1600")) is None  # 1100 spent: exactly at the limit
    assert cost_overrun(plan(), Decimal("1650.50")) == Decimal("50.50")
    assert cost_overrun(plan(budget=None), Decimal("99999")) is None
    assert cost_overrun(plan(baseline_cost=None), Decimal("99999")) is None


def test_time_tolerance_counts_days_past_the_planned_end_plus_tolerance() -> None:
    assert time_overrun(plan(), date(2026, 3, 22)) is None
    assert time_overrun(plan(), date(2026, 3, 25)) == 3
    assert time_overrun(plan(planned_end=None), date(2030, 1, 1)) is None


def test_tolerance_reasons_say_by_how_much_and_ask_for_an_exception_report() -> None:
    reasons = tolerance_reasons(plan(), Decimal("1750"), date(2026, 3, 25))
    assert [r.code for r in reasons] == ["PRINCE2_COST_TOLERANCE", "PRINCE2_TIME_TOLERANCE"]
    assert all(r.health is Health.OFF_TRACK for r in reasons)
    cost, time = reasons
    assert cost.message == (
        "Delivery 1 cost 1250.00 exceeds its budget 1000.00 plus tolerance 100.00 by 150.00: "
        "an exception report is needed"
    )
    assert (cost.value, cost.threshold) == (1250.0, 1100.0)
    assert time.message == (
        "Delivery 1 is 3 days past its planned end 2026-03-20 plus 2 days of tolerance: an exception report is needed"
    )
    assert (time.value, time.threshold) == (5.0, 2.0)
    assert tolerance_reasons(plan(), Decimal("1000"), date(2026, 3, 10)) == []


def test_codes_map_back_to_kinds_and_reports_fall_due() -> None:
    assert exceeded_kinds(["OVER_BUDGET", "PRINCE2_TIME_TOLERANCE", "PRINCE2_COST_TOLERANCE"]) == ["time", "cost"]
    raised = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert report_due(raised, 5) == datetime(2026, 3, 7, 9, tzinfo=UTC)
    assert worst(Health.AT_RISK, Health.OFF_TRACK, Health.ON_TRACK) is Health.OFF_TRACK
    assert worst() is Health.ON_TRACK


def test_the_default_quorum_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Prince2Settings().default_quorum == 2
    monkeypatch.setenv("MCGRAPH_PRINCE2_DEFAULT_QUORUM", "3")
    assert Prince2Settings().default_quorum == 3
