from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcgraph.db.models.enums import Health
from mcgraph.domain.health import HealthReason, HealthThresholds, ProjectFacts, assess
from mcgraph.settings import SettingsError, load_settings

TODAY = date(2026, 3, 10)
CALM = ProjectFacts(
    today=TODAY,
    start_date=None,
    target_end_date=None,
    progress=0.0,
    overdue_tasks=0,
    open_tasks=0,
    forecast_end_date=None,
    planned_budget=None,
    actual_cost=Decimal(0),
)


def facts(**changes) -> ProjectFacts:
    return replace(CALM, **changes)


def only_reason(report) -> HealthReason:
    assert len(report.reasons) == 1, report.reasons
    return report.reasons[0]


def codes(report) -> list[str]:
    return [reason.code for reason in report.reasons]


def test_no_facts_of_concern_is_on_track():
    report = assess(CALM)
    assert report.health is Health.ON_TRACK
    assert report.reasons == []


# BEHIND_SCHEDULE: a 100-day plan, so that days elapsed read as percent of the time.

START = TODAY - timedelta(days=50)
PLAN = {"start_date": START, "target_end_date": START + timedelta(days=100)}


def on_day(day: int, progress: float) -> ProjectFacts:
    return facts(today=START + timedelta(days=day), progress=progress, **PLAN)


@pytest.mark.parametrize(
    ("day", "progress", "expected"),
    [
        (50, 0.41, None),  # 9 points behind
        (50, 0.40, None),  # 10 points: at the threshold, not past it
        (52, 0.42, None),  # 10 points again, though 0.52 - 0.42 > 0.1 in floating point
        (50, 0.39, Health.AT_RISK),  # 11 points
        (50, 0.25, Health.AT_RISK),  # 25 points: at the off-track threshold
        (50, 0.24, Health.OFF_TRACK),  # 26 points
    ],
)
def test_behind_schedule_thresholds(day, progress, expected):
    report = assess(on_day(day, progress))
    assert report.health is (expected or Health.ON_TRACK)
    assert codes(report) == ([] if expected is None else ["BEHIND_SCHEDULE"])


def test_behind_schedule_reason():
    reason = only_reason(assess(on_day(52, 0.40)))
    assert reason.code == "BEHIND_SCHEDULE"
    assert reason.health is Health.AT_RISK
    assert reason.message == "behind schedule: 40% done at 52% of the time"
    assert reason.value == pytest.approx(0.12)
    assert reason.threshold == 0.10


def test_behind_schedule_caps_the_elapsed_share():
    reason = only_reason(assess(on_day(130, 0.5)))
    assert reason.message == "behind schedule: 50% done at 100% of the time"
    assert reason.health is Health.OFF_TRACK
    assert reason.value == pytest.approx(0.5)
    assert reason.threshold == 0.25


@pytest.mark.parametrize(
    "changes",
    [
        {"start_date": None},
        {"target_end_date": None},
        {"target_end_date": START},
        {"target_end_date": START - timedelta(days=1)},
        {"today": START},
        {"today": START - timedelta(days=3)},
    ],
)
def test_behind_schedule_needs_a_plan_that_has_begun(changes):
    assert assess(replace(on_day(90, 0.0), **changes)).reasons == []


# OVERDUE_TASKS


@pytest.mark.parametrize(
    ("overdue", "expected", "message"),
    [
        (0, None, None),
        (1, Health.AT_RISK, "1 overdue task"),
        (4, Health.AT_RISK, "4 overdue tasks"),
        (5, Health.OFF_TRACK, "5 overdue tasks"),
        (6, Health.OFF_TRACK, "6 overdue tasks"),
    ],
)
def test_overdue_tasks(overdue, expected, message):
    report = assess(facts(overdue_tasks=overdue, open_tasks=10))
    if expected is None:
        assert report.reasons == []
        return
    reason = only_reason(report)
    assert (reason.code, reason.health, reason.message) == ("OVERDUE_TASKS", expected, message)
    assert reason.value == overdue
    assert reason.threshold == (5 if expected is Health.OFF_TRACK else 1)


@pytest.mark.parametrize(("overdue", "expected"), [(2, None), (3, Health.AT_RISK), (7, Health.AT_RISK), (8, Health.OFF_TRACK)])
def test_overdue_tasks_with_other_thresholds(overdue, expected):
    thresholds = HealthThresholds(overdue_at_risk=3, overdue_off_track=8)
    report = assess(facts(overdue_tasks=overdue), thresholds)
    assert report.health is (expected or Health.ON_TRACK)


# LATE_FORECAST

TARGET = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("slip", "expected", "message"),
    [
        (-3, None, None),
        (0, None, None),
        (1, Health.AT_RISK, "critical path ends 1 day after the target end"),
        (5, Health.AT_RISK, "critical path ends 5 days after the target end"),
        (6, Health.OFF_TRACK, "critical path ends 6 days after the target end"),
    ],
)
def test_late_forecast(slip, expected, message):
    report = assess(facts(target_end_date=TARGET, forecast_end_date=TARGET + timedelta(days=slip)))
    if expected is None:
        assert report.reasons == []
        return
    reason = only_reason(report)
    assert (reason.code, reason.health, reason.message) == ("LATE_FORECAST", expected, message)
    assert reason.value == slip
    assert reason.threshold == (5.0 if expected is Health.OFF_TRACK else 0.0)


def test_late_forecast_needs_both_dates():
    late = TARGET + timedelta(days=30)
    assert assess(facts(target_end_date=None, forecast_end_date=late)).reasons == []
    assert assess(facts(target_end_date=TARGET, forecast_end_date=None)).reasons == []


# OVER_BUDGET


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ("90", None),
        ("104.99", None),
        ("105", None),  # exactly 5% over: at the threshold
        ("105.01", Health.AT_RISK),
        ("115", Health.AT_RISK),  # exactly 15% over
        ("115.01", Health.OFF_TRACK),
    ],
)
def test_over_budget_thresholds(actual, expected):
    report = assess(facts(planned_budget=Decimal(100), actual_cost=Decimal(actual)))
    assert report.health is (expected or Health.ON_TRACK)
    assert codes(report) == ([] if expected is None else ["OVER_BUDGET"])


def test_over_budget_reason():
    reason = only_reason(assess(facts(planned_budget=Decimal("2500.00"), actual_cost=Decimal("2950.00"))))
    assert reason.code == "OVER_BUDGET"
    assert reason.health is Health.OFF_TRACK
    assert reason.message == "cost 18% over budget"
    assert reason.value == pytest.approx(0.18)
    assert reason.threshold == 0.15


@pytest.mark.parametrize("planned", [None, Decimal(0), Decimal(-10)])
def test_over_budget_needs_a_budget(planned):
    assert assess(facts(planned_budget=planned, actual_cost=Decimal(1000))).reasons == []


# PAST_TARGET_END


def test_past_target_end():
    reason = only_reason(assess(facts(target_end_date=TODAY - timedelta(days=4), open_tasks=7)))
    assert reason.code == "PAST_TARGET_END"
    assert reason.health is Health.OFF_TRACK
    assert reason.message == "past the target end by 4 days with 7 open tasks"
    assert (reason.value, reason.threshold) == (4, 0)


def test_past_target_end_singular():
    reason = only_reason(assess(facts(target_end_date=TODAY - timedelta(days=1), open_tasks=1)))
    assert reason.message == "past the target end by 1 day with 1 open task"


@pytest.mark.parametrize(
    "changes",
    [
        {"target_end_date": None},
        {"target_end_date": TODAY},
        {"target_end_date": TODAY + timedelta(days=2)},
        {"open_tasks": 0},
    ],
)
def test_past_target_end_needs_open_work_after_the_target(changes):
    late = facts(target_end_date=TODAY - timedelta(days=4), open_tasks=7)
    assert assess(replace(late, **changes)).reasons == []


# Combining reasons


def test_the_worst_reason_wins():
    report = assess(facts(overdue_tasks=1, planned_budget=Decimal(100), actual_cost=Decimal(120)))
    assert report.health is Health.OFF_TRACK
    assert codes(report) == ["OVER_BUDGET", "OVERDUE_TASKS"]


def test_reasons_at_the_same_health_keep_the_order_of_the_rules():
    report = assess(
        facts(
            planned_budget=Decimal(100),
            actual_cost=Decimal(110),
            forecast_end_date=PLAN["target_end_date"] + timedelta(days=2),
            overdue_tasks=2,
            today=START + timedelta(days=60),
            progress=0.45,
            **PLAN,
        )
    )
    assert report.health is Health.AT_RISK
    assert codes(report) == ["BEHIND_SCHEDULE", "OVERDUE_TASKS", "LATE_FORECAST", "OVER_BUDGET"]
    assert {reason.health for reason in report.reasons} == {Health.AT_RISK}


def test_reasons_are_worst_first_then_in_rule_order():
    end = START + timedelta(days=100)
    report = assess(
        facts(
            today=end + timedelta(days=3),  # all the time used: OFF_TRACK when under 75% done
            progress=0.7,
            open_tasks=4,
            overdue_tasks=3,  # AT_RISK
            forecast_end_date=end + timedelta(days=9),  # OFF_TRACK
            planned_budget=Decimal(100),
            actual_cost=Decimal(107),  # AT_RISK
            **PLAN,
        )
    )
    assert report.health is Health.OFF_TRACK
    assert codes(report) == ["BEHIND_SCHEDULE", "LATE_FORECAST", "PAST_TARGET_END", "OVERDUE_TASKS", "OVER_BUDGET"]


# Monotonicity

dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
money = st.decimals(min_value=0, max_value=10_000, places=2)


@st.composite
def thresholds(draw: st.DrawFn) -> HealthThresholds:
    overdue = sorted(draw(st.lists(st.integers(1, 20), min_size=2, max_size=2)))
    gap = sorted(draw(st.lists(st.floats(0, 1), min_size=2, max_size=2)))
    slip = sorted(draw(st.lists(st.floats(0, 30), min_size=2, max_size=2)))
    cost = sorted(draw(st.lists(st.floats(0, 1), min_size=2, max_size=2)))
    return HealthThresholds(gap[0], gap[1], overdue[0], overdue[1], slip[0], slip[1], cost[0], cost[1])


@settings(database=None)
@given(
    base=st.builds(
        ProjectFacts,
        today=dates,
        start_date=st.none() | dates,
        target_end_date=st.none() | dates,
        progress=st.floats(0, 1),
        overdue_tasks=st.just(0),
        open_tasks=st.integers(0, 50),
        forecast_end_date=st.none() | dates,
        planned_budget=st.none() | money,
        actual_cost=money,
    ),
    overdue=st.lists(st.integers(0, 30), min_size=2, max_size=2).map(sorted),
    rules=st.none() | thresholds(),
)
def test_more_overdue_tasks_never_give_a_better_health(base, overdue, rules):
    fewer, more = (replace(base, overdue_tasks=count) for count in overdue)
    chosen = () if rules is None else (rules,)
    assert assess(more, *chosen).health.rank >= assess(fewer, *chosen).health.rank


@pytest.mark.parametrize("rule", ["schedule_gap", "overdue", "slip_days", "cost_over"])
def test_an_at_risk_threshold_past_its_off_track_one_stops_the_start(monkeypatch, rule):
    monkeypatch.setenv(f"MCGRAPH_HEALTH_{rule.upper()}_AT_RISK", "0.9" if rule != "overdue" else "9")
    monkeypatch.setenv(f"MCGRAPH_HEALTH_{rule.upper()}_OFF_TRACK", "0.5" if rule != "overdue" else "5")
    with pytest.raises(SettingsError, match=f"MCGRAPH_HEALTH_{rule.upper()}_AT_RISK: expected a number no larger than"):
        load_settings()
