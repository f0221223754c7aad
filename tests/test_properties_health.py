"""Properties of the default project health rules, with thresholds taken from Settings.

``expected`` restates each rule of :mod:`mcgraph.domain.health`'s docstring on its own,
so a reason that fires without its rule, or a rule that fires without its reason, or
the wrong threshold reported, shows up as a difference.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from mcgraph.db.models.enums import Health
from mcgraph.domain.health import HealthThresholds, ProjectFacts, assess
from mcgraph.domain.health_refresh import thresholds
from mcgraph.settings import Settings

RULES = ["BEHIND_SCHEDULE", "OVERDUE_TASKS", "LATE_FORECAST", "OVER_BUDGET", "PAST_TARGET_END"]
AT_RISK, OFF_TRACK = Health.AT_RISK, Health.OFF_TRACK

dates = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))
money = st.integers(0, 1_000_000).map(lambda cents: Decimal(cents) / 100)
facts = st.builds(
    ProjectFacts,
    today=dates,
    start_date=st.none() | dates,
    target_end_date=st.none() | dates,
    progress=st.floats(0, 1) | st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    overdue_tasks=st.integers(0, 12),
    open_tasks=st.integers(0, 12),
    forecast_end_date=st.none() | dates,
    planned_budget=st.none() | st.just(Decimal(0)) | money,
    actual_cost=money,
)


def pair(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(values, min_size=2, max_size=2).map(sorted)


@st.composite
def settings(draw: st.DrawFn) -> Settings:
    """Settings within their declared bounds, each at-risk threshold at most its off-track one."""
    # Shares to a hundredth of a percent, as anyone writes them (and as Decimal holds them exactly).
    share = st.integers(0, 10_000).map(lambda n: n / 10_000) | st.sampled_from([0.0, 0.05, 0.1, 0.15, 0.25, 1.0])
    gap, overdue = draw(pair(share)), draw(pair(st.integers(1, 10)))
    slip = draw(pair(st.integers(0, 20).map(float) | st.floats(0, 20)))
    cost = draw(pair(share | st.integers(0, 30_000).map(lambda n: n / 10_000)))
    return Settings(
        health_schedule_gap_at_risk=gap[0],
        health_schedule_gap_off_track=gap[1],
        health_overdue_at_risk=overdue[0],
        health_overdue_off_track=overdue[1],
        health_slip_days_at_risk=slip[0],
        health_slip_days_off_track=slip[1],
        health_cost_over_at_risk=cost[0],
        health_cost_over_off_track=cost[1],
    )


def graded(at_risk: float, off_track: float, past) -> tuple[Health, float] | None:
    if past(off_track):
        return OFF_TRACK, off_track
    return (AT_RISK, at_risk) if past(at_risk) else None


def expected(f: ProjectFacts, s: Settings) -> dict[str, tuple[Health, float]]:
    """Each rule's (health, threshold crossed), straight from the settings and the docstring."""
    fired: dict[str, tuple[Health, float] | None] = {}
    start, end = f.start_date, f.target_end_date
    if start and end and end > start and f.today > start:
        gap = min(1.0, (f.today - start) / (end - start)) - f.progress
        fired["BEHIND_SCHEDULE"] = graded(s.health_schedule_gap_at_risk, s.health_schedule_gap_off_track, lambda t: gap > t + 1e-9)
    fired["OVERDUE_TASKS"] = graded(s.health_overdue_at_risk, s.health_overdue_off_track, lambda t: f.overdue_tasks >= t)
    if f.forecast_end_date and end:
        slip = (f.forecast_end_date - end).days
        fired["LATE_FORECAST"] = graded(s.health_slip_days_at_risk, s.health_slip_days_off_track, lambda t: slip > t)
    if f.planned_budget:
        over = (f.actual_cost - f.planned_budget) / f.planned_budget
        fired["OVER_BUDGET"] = graded(s.health_cost_over_at_risk, s.health_cost_over_off_track, lambda t: over > Decimal(str(t)))
    if end and f.today > end and f.open_tasks > 0:
        fired["PAST_TARGET_END"] = (OFF_TRACK, 0.0)
    return {code: grade for code, grade in fired.items() if grade is not None}


def by_rule(f: ProjectFacts, limits: HealthThresholds) -> dict[str, Health]:
    return {reason.code: reason.health for reason in assess(f, limits).reasons}


@given(facts, settings())
def test_reasons_are_exactly_the_rules_that_fired_worst_first(f, s):
    report = assess(f, thresholds(s))
    want = expected(f, s)

    assert {r.code: (r.health, r.threshold) for r in report.reasons} == want
    assert len(report.reasons) == len(want)
    assert [r.code for r in report.reasons] == sorted(want, key=lambda code: (-want[code][0].rank, RULES.index(code)))
    assert report.health == max((r.health for r in report.reasons), key=lambda h: h.rank, default=Health.ON_TRACK)
    assert (report.health is Health.ON_TRACK) == (report.reasons == [])
    assert all(r.message for r in report.reasons)


@st.composite
def worse(draw: st.DrawFn, f: ProjectFacts) -> ProjectFacts:
    """``f`` with some measures made worse: later, less done, more overdue or open, dearer."""
    later = timedelta(days=draw(st.integers(0, 60)))
    return replace(
        f,
        today=f.today + later if draw(st.booleans()) else f.today,
        progress=draw(st.floats(0, f.progress)),
        overdue_tasks=f.overdue_tasks + draw(st.integers(0, 6)),
        open_tasks=f.open_tasks + draw(st.integers(0, 6)),
        forecast_end_date=f.forecast_end_date and f.forecast_end_date + timedelta(days=draw(st.integers(0, 30))),
        actual_cost=f.actual_cost + draw(money),
    )


@given(facts, settings(), st.data())
def test_worse_measures_never_give_a_better_health_by_any_rule(f, s, data):
    limits = thresholds(s)
    bad = data.draw(worse(f))

    before, after = by_rule(f, limits), by_rule(bad, limits)

    assert assess(bad, limits).health.rank >= assess(f, limits).health.rank
    for code, health in before.items():
        assert code in after and after[code].rank >= health.rank, code


@given(facts, settings(), st.data())
def test_lower_thresholds_never_give_a_better_health(f, s, data):
    field = data.draw(st.sampled_from([name for name in Settings.model_fields if name.startswith("health_") and "seconds" not in name]))
    value = getattr(s, field)
    lower = data.draw(st.integers(1, value) if isinstance(value, int) else st.floats(0, value))
    stricter = s.model_copy(update={field: lower})

    assert assess(f, thresholds(stricter)).health.rank >= assess(f, thresholds(s)).health.rank


# Each threshold of the settings, exactly at its boundary and one step past it.

START = date(2026, 1, 1)
PLAN = {"start_date": START, "target_end_date": START + timedelta(days=100)}
CALM = ProjectFacts(START, None, None, 0.0, 0, 0, None, None, Decimal(0))


@given(settings())
def test_overdue_tasks_count_from_the_threshold_itself(s):
    limits = thresholds(s)
    at_risk, off_track = s.health_overdue_at_risk, s.health_overdue_off_track

    assert "OVERDUE_TASKS" not in by_rule(replace(CALM, overdue_tasks=at_risk - 1), limits)
    assert by_rule(replace(CALM, overdue_tasks=at_risk), limits)["OVERDUE_TASKS"] == (OFF_TRACK if at_risk == off_track else AT_RISK)
    assert by_rule(replace(CALM, overdue_tasks=off_track - 1), limits).get("OVERDUE_TASKS") in (None, AT_RISK)
    assert by_rule(replace(CALM, overdue_tasks=off_track), limits)["OVERDUE_TASKS"] == OFF_TRACK


@given(settings(), st.integers(1, 100))
def test_a_schedule_gap_counts_only_past_the_threshold(s, elapsed_days):
    limits = thresholds(s)
    today = START + timedelta(days=elapsed_days)
    elapsed = elapsed_days / 100

    for name, health in (("health_schedule_gap_at_risk", AT_RISK), ("health_schedule_gap_off_track", OFF_TRACK)):
        threshold = getattr(s, name)
        assume(threshold <= elapsed - 1e-6)
        at = replace(CALM, today=today, progress=elapsed - threshold, **PLAN)
        past = replace(at, progress=elapsed - threshold - 1e-6)
        assert by_rule(at, limits).get("BEHIND_SCHEDULE", Health.ON_TRACK).rank < health.rank
        assert by_rule(past, limits)["BEHIND_SCHEDULE"].rank >= health.rank


@given(settings())
def test_a_late_forecast_counts_only_past_the_threshold(s):
    limits = thresholds(s)
    end = PLAN["target_end_date"]

    for name, health in (("health_slip_days_at_risk", AT_RISK), ("health_slip_days_off_track", OFF_TRACK)):
        days = math.floor(getattr(s, name))  # the threshold itself when it is whole
        at = replace(CALM, forecast_end_date=end + timedelta(days=days), **PLAN)
        past = replace(at, forecast_end_date=end + timedelta(days=days + 1))
        assert by_rule(at, limits).get("LATE_FORECAST", Health.ON_TRACK).rank < health.rank
        assert by_rule(past, limits)["LATE_FORECAST"].rank >= health.rank


@given(settings(), st.integers(1, 100_000).map(Decimal))
def test_a_cost_overrun_counts_only_past_the_threshold(s, planned):
    limits = thresholds(s)

    for name, health in (("health_cost_over_at_risk", AT_RISK), ("health_cost_over_off_track", OFF_TRACK)):
        share = Decimal(str(getattr(s, name)))
        at = replace(CALM, planned_budget=planned, actual_cost=planned * (1 + share))
        past = replace(at, actual_cost=at.actual_cost + Decimal("0.01"))
        assert by_rule(at, limits).get("OVER_BUDGET", Health.ON_TRACK).rank < health.rank
        assert by_rule(past, limits)["OVER_BUDGET"].rank >= health.rank


@given(st.integers(1, 400), st.integers(0, 20))
def test_past_the_target_end_is_off_track_from_the_next_day_while_work_is_open(days_after, open_tasks):
    end = PLAN["target_end_date"]
    on_the_day = replace(CALM, today=end, open_tasks=open_tasks, **PLAN)
    after = replace(on_the_day, today=end + timedelta(days=days_after))

    assert "PAST_TARGET_END" not in by_rule(on_the_day, HealthThresholds())
    assert by_rule(after, HealthThresholds()).get("PAST_TARGET_END") == (OFF_TRACK if open_tasks else None)
