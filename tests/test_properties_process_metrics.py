"""Properties of process metrics and process health on random run histories.

Times are written in assorted zones: the metrics compare instants and bucket by UTC
date, so the zone a time is written in must not matter.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from mcgraph.db.models.enums import Health
from mcgraph.domain.process_metrics import (
    ProcessHealthThresholds,
    ProcessMetrics,
    RunRecord,
    StepRecord,
    assess_process,
    compute_metrics,
)

P0 = datetime(2026, 1, 1, tzinfo=UTC)
ZONES = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=13)), ZoneInfo("Europe/Berlin")]
RULES = ["LOW_ON_TIME_RATE", "WORSENING_TREND", "STEP_LATE"]
COUNTS = ("runs_started", "runs_completed", "runs_cancelled", "runs_failed", "runs_running", "runs_with_due", "runs_on_time")

moments = st.builds(
    lambda minutes, zone: (P0 + timedelta(minutes=minutes)).astimezone(zone),
    st.integers(0, 200 * 24 * 60),
    st.sampled_from(ZONES),
)
spans = st.integers(0, 20 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes))


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[RunRecord], list[StepRecord]]:
    runs, steps = [], []
    for run_id in range(draw(st.integers(0, 14))):
        start = draw(moments)
        state = draw(st.sampled_from(["running", "completed", "completed", "cancelled", "failed"]))
        end = None if state == "running" else start + draw(spans)
        due = draw(st.none() | spans.map(lambda span: start + span))
        runs.append(RunRecord(run_id, draw(st.integers(1, 2)), state, start, due, end))
        for position, key in enumerate(draw(st.lists(st.sampled_from("abc"), unique=True))):
            ready, started, finished, step_due = (draw(st.none() | spans.map(lambda span: start + span)) for _ in range(4))
            outcome = draw(st.sampled_from([None, "done", "approved", "rejected", "skipped"]))
            steps.append(StepRecord(run_id, key, f"{key.upper()}{run_id}", position, ready, started, finished, step_due, outcome))
    return runs, steps


@st.composite
def periods(draw: st.DrawFn) -> tuple[datetime, datetime]:
    start = draw(moments)
    return start, start + draw(st.integers(1, 120 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes)))


@given(histories(), periods(), st.sampled_from(["week", "month"]))
def test_trend_buckets_cover_the_period_and_add_up_to_it(history, period, bucket):
    runs, steps = history
    start, end = period

    metrics = compute_metrics(runs, steps, period_start=start, period_end=end, bucket=bucket)

    days = [point.period_start for point in metrics.trend]
    assert days[0] <= start.astimezone(UTC).date() and (end - timedelta(microseconds=1)).astimezone(UTC).date() >= days[-1]
    for earlier, later in zip(days, days[1:]):
        if bucket == "week":
            assert earlier.weekday() == 0 and later - earlier == timedelta(days=7)
        else:
            assert earlier.day == later.day == 1 and (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month) == 1
    assert sum(point.runs_started for point in metrics.trend) == metrics.runs_started
    assert sum(point.runs_completed for point in metrics.trend) == metrics.runs_completed


@given(histories(), periods(), st.floats(0, 1))
def test_counts_of_two_adjacent_periods_add_up_to_the_whole(history, period, cut):
    runs, steps = history
    start, end = period
    middle = start + (end - start) * cut
    if not start < middle < end:
        middle = start + (end - start) / 2

    whole = compute_metrics(runs, steps, period_start=start, period_end=end)
    first = compute_metrics(runs, steps, period_start=start, period_end=middle)
    second = compute_metrics(runs, steps, period_start=middle, period_end=end)

    for name in COUNTS:
        assert getattr(first, name) + getattr(second, name) == getattr(whole, name), name


@given(histories(), periods(), st.randoms(use_true_random=False), st.sampled_from(ZONES))
def test_metrics_do_not_depend_on_the_order_of_records_or_the_zone_times_are_written_in(history, period, rng, zone):
    runs, steps = history
    start, end = period
    shuffled_runs, shuffled_steps = list(runs), list(steps)
    rng.shuffle(shuffled_runs)
    rng.shuffle(shuffled_steps)

    metrics = compute_metrics(runs, steps, period_start=start, period_end=end)
    again = compute_metrics(shuffled_runs, shuffled_steps, period_start=start.astimezone(zone), period_end=end.astimezone(zone))

    assert replace(again, period_start=start, period_end=end) == metrics


# Process health

thresholds = st.builds(
    lambda on_time, drop, min_runs: ProcessHealthThresholds(on_time[1], on_time[0], drop, min_runs),
    st.lists(st.integers(0, 100).map(lambda n: n / 100), min_size=2, max_size=2).map(sorted),
    st.integers(0, 50).map(lambda n: n / 100),
    st.integers(1, 5),
)


def metrics_of(history: tuple[list[RunRecord], list[StepRecord]]) -> ProcessMetrics:
    runs, steps = history
    return compute_metrics(runs, steps, period_start=P0, period_end=P0 + timedelta(days=240))


@given(histories().map(metrics_of), thresholds)
def test_health_is_the_worst_reason_listed_worst_first_and_needs_enough_runs(metrics, limits):
    report = assess_process(metrics, limits)

    if metrics.runs_completed < limits.min_runs:
        assert (report.health, report.reasons) == (Health.ON_TRACK, [])
        return
    assert report.health == max((r.health for r in report.reasons), key=lambda h: h.rank, default=Health.ON_TRACK)
    assert (report.health is Health.ON_TRACK) == (report.reasons == [])
    order = [(-r.health.rank, RULES.index(r.code)) for r in report.reasons]
    assert order == sorted(order)
    low = [r for r in report.reasons if r.code == "LOW_ON_TIME_RATE"]
    rate = metrics.on_time_rate
    assert bool(low) == (rate is not None and rate < limits.on_time_at_risk - 1e-9)
    if low:
        off = rate < limits.on_time_off_track - 1e-9
        assert (low[0].health, low[0].threshold) == ((Health.OFF_TRACK, limits.on_time_off_track) if off else (Health.AT_RISK, limits.on_time_at_risk))


@given(histories().map(metrics_of), thresholds, st.data())
def test_a_lower_on_time_rate_never_gives_a_better_health(metrics, limits, data):
    if metrics.on_time_rate is None:
        return
    lower = replace(metrics, on_time_rate=data.draw(st.floats(0, metrics.on_time_rate)))

    assert assess_process(lower, limits).health.rank >= assess_process(metrics, limits).health.rank


@given(st.integers(1, 40), st.data())
def test_an_on_time_rate_exactly_at_a_threshold_is_not_below_it(runs, data):
    on_time = data.draw(st.integers(0, runs))
    rate = on_time / runs
    at_threshold = ProcessHealthThresholds(on_time_at_risk=rate, on_time_off_track=rate, min_runs=1)
    metrics = replace(metrics_of(([], [])), runs_completed=runs, on_time_rate=rate, runs_with_due=runs, runs_on_time=on_time)

    assert assess_process(metrics, at_threshold).reasons == []
    one_more = ProcessHealthThresholds(on_time_at_risk=(on_time + 1) / runs, on_time_off_track=0.0, min_runs=1)
    assert [r.code for r in assess_process(metrics, one_more).reasons] == ["LOW_ON_TIME_RATE"]
