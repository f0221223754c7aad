from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcgraph.db.models.enums import Health
from mcgraph.domain.process_metrics import (
    Bottleneck,
    ProcessHealthThresholds,
    ProcessMetrics,
    RunRecord,
    StepMetrics,
    StepRecord,
    TrendPoint,
    assess_process,
    compute_metrics,
)

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
FOUR_WEEKS = {"period_start": MONDAY, "period_end": MONDAY + timedelta(weeks=4)}


def hours(count: float) -> timedelta:
    return timedelta(hours=count)


def days(count: float) -> timedelta:
    return timedelta(days=count)


# The process: key, name, and the step's due time in hours after the run's start.
STEPS = (
    ("collect", "Collect documents", 8),
    ("check", "Background check", 96),
    ("approve", "Manager approval", 120),
)


def completed_run(
    run_id: int, start: datetime, timings: list[tuple[float, float, str]], *, version: int = 1, due_hours: float = 132
) -> tuple[RunRecord, list[StepRecord]]:
    """A completed run whose steps follow one another; ``timings`` are (wait, duration, outcome) in hours."""
    records, clock = [], start
    for position, ((key, name, due), (wait, duration, outcome)) in enumerate(zip(STEPS, timings, strict=True), 1):
        started = clock + hours(wait)
        finished = started + hours(duration)
        records.append(StepRecord(run_id, key, name, position, clock, started, finished, start + hours(due), outcome))
        clock = finished
    return RunRecord(run_id, version, "completed", start, start + hours(due_hours), clock), records


def step(run_id: int, key: str = "collect", *, position: int = 1, name: str = "Collect documents", **times) -> StepRecord:
    fields = {"ready_at": None, "started_at": None, "finished_at": None, "due_at": None, "outcome": None} | times
    return StepRecord(run_id, key, name, position, **fields)


# The hand-computed example, in hours (wait + duration per step; every run is due 132 hours after its start):
#
#   run  starts          collect    check       approve          cycle  completes       on time
#   1    Mon 03-02 09:00 1 + 4      24 + 48     2 + 3  approved   82    Thu 03-05 19:00  yes
#   2    Tue 03-03 09:00 2 + 6      12 + 84     4 + 5  rejected  113    Sun 03-08 02:00  yes
#   3    Mon 03-09 09:00 1 + 5      48 + 60     6 + 1  approved  121    Sat 03-14 10:00  yes
#   4    Wed 03-11 09:00 3 + 8      48 + 96     2 + 10 approved  167    Wed 03-18 08:00  no
#   5    Thu 03-12 09:00 cancelled on 03-13; its collect step was skipped
#   6    Mon 03-16 09:00 failed on 03-17; its collect step never finished
#   7    Wed 03-18 09:00 still running; its collect step has started
#
# Runs: 7 started, 4 completed, 1 cancelled, 1 failed, 1 running.
# Cycle times sorted 82, 113, 121, 167: median (113 + 121) / 2 = 117 h; p90 is the ceil(0.9 * 4) = 4th, 167 h.
# On time: 3 of 4 = 0.75.
# collect: durations 4 5 6 8 -> 5.5 h; waits 1 1 2 3 -> 1.5 h; due at +8 h, finished at +5 +8 +6 +11: late once, 0.25
#          (run 2 finishes exactly at its due time, which is on time).
# check:   durations 48 60 84 96 -> 72 h (3.0 days); waits 12 24 48 48 -> 36 h (1.5 days);
#          due at +96 h, finished at +77 +104 +114 +155: late 3 times, 0.75.
# approve: durations 1 3 5 10 -> 4 h; waits 2 2 4 6 -> 3 h; due at +120 h, finished at +82 +113 +121 +167: 0.5;
#          rejection rate 1 rejected / (3 approved + 1 rejected) = 0.25.
# Bottleneck: check, 36 + 72 = 108 h of the 117 h median cycle time = 92%.
# Weekly trend: 03-02 (2 started, runs 1 and 2 completed: median 97.5 h, on time 1.0); 03-09 (3 started, run 3:
# 121 h, 1.0); 03-16 (2 started, run 4: 167 h, 0.0); 03-23 empty.


def example() -> tuple[list[RunRecord], list[StepRecord]]:
    plan = [
        (MONDAY + hours(9), [(1, 4, "done"), (24, 48, "done"), (2, 3, "approved")]),
        (MONDAY + days(1) + hours(9), [(2, 6, "done"), (12, 84, "done"), (4, 5, "rejected")]),
        (MONDAY + days(7) + hours(9), [(1, 5, "done"), (48, 60, "done"), (6, 1, "approved")]),
        (MONDAY + days(9) + hours(9), [(3, 8, "done"), (48, 96, "done"), (2, 10, "approved")]),
    ]
    runs, steps = [], []
    for run_id, (start, timings) in enumerate(plan, 1):
        run, records = completed_run(run_id, start, timings)
        runs.append(run)
        steps.extend(records)
    cancelled_at, failed_at, running_at = (MONDAY + days(day) + hours(9) for day in (10, 14, 16))
    runs += [
        RunRecord(5, 1, "cancelled", cancelled_at, cancelled_at + hours(132), cancelled_at + days(1)),
        RunRecord(6, 1, "failed", failed_at, failed_at + hours(132), failed_at + days(1)),
        RunRecord(7, 1, "running", running_at, running_at + hours(132), None),
    ]
    steps += [
        step(5, ready_at=cancelled_at, finished_at=cancelled_at + hours(1), outcome="skipped"),
        step(6, ready_at=failed_at, started_at=failed_at + hours(1)),
        step(7, ready_at=running_at, started_at=running_at + hours(1)),
    ]
    return runs, steps


def test_hand_computed_example():
    metrics = compute_metrics(*example(), **FOUR_WEEKS)

    assert (metrics.runs_started, metrics.runs_completed) == (7, 4)
    assert (metrics.runs_cancelled, metrics.runs_failed, metrics.runs_running) == (1, 1, 1)
    assert metrics.median_cycle_time == hours(117)
    assert metrics.p90_cycle_time == hours(167)
    assert metrics.on_time_rate == 0.75
    assert (metrics.runs_on_time, metrics.runs_with_due) == (3, 4)
    assert metrics.steps == [
        StepMetrics("collect", "Collect documents", 4, hours(5.5), hours(1.5), 0.25, None),
        StepMetrics("check", "Background check", 4, hours(72), hours(36), 0.75, None),
        StepMetrics("approve", "Manager approval", 4, hours(4), hours(3), 0.5, 0.25),
    ]
    assert metrics.bottleneck == Bottleneck(
        "check",
        "Background check",
        hours(72),
        hours(36),
        pytest.approx(108 / 117),
        "Background check takes 3.0 days (median), 1.5 days waiting; 92% of the cycle time",
    )
    assert metrics.trend == [
        TrendPoint(date(2026, 3, 2), 2, 2, hours(97.5), 1.0),
        TrendPoint(date(2026, 3, 9), 3, 1, hours(121), 1.0),
        TrendPoint(date(2026, 3, 16), 2, 1, hours(167), 0.0),
        TrendPoint(date(2026, 3, 23), 0, 0, None, None),
    ]


def test_hand_computed_example_health():
    report = assess_process(compute_metrics(*example(), **FOUR_WEEKS))
    assert report.health is Health.AT_RISK
    assert [(reason.code, reason.message) for reason in report.reasons] == [
        ("LOW_ON_TIME_RATE", "on time in 75% of runs (3 of 4)"),
        ("STEP_LATE", "Background check finished late in 75% of runs"),
    ]


@pytest.mark.parametrize(("count", "rank"), [(1, 1), (3, 3), (9, 9), (10, 9), (11, 10), (20, 18), (21, 19)])
def test_p90_is_the_nearest_rank(count, rank):
    runs = [RunRecord(i, 1, "completed", MONDAY, None, MONDAY + hours(i)) for i in range(1, count + 1)]
    metrics = compute_metrics(runs, [], **FOUR_WEEKS)
    assert metrics.p90_cycle_time == hours(rank)
    assert metrics.on_time_rate is None


P0, P1 = MONDAY, MONDAY + timedelta(weeks=1)
WEEK = {"period_start": P0, "period_end": P1}
TICK = timedelta(microseconds=1)


def test_period_boundaries():
    runs = [
        RunRecord(1, 1, "completed", P0 - days(2), P0 + days(2), P0 + days(1)),  # completed in, started before
        RunRecord(2, 1, "completed", P0, None, P1),  # starts at the start: in; completes at the end: out
        RunRecord(3, 1, "running", P1, None, None),  # starts at the end: out
        RunRecord(4, 1, "running", P0 - hours(1), None, None),  # running, but started before
        RunRecord(5, 1, "cancelled", P0 - days(3), None, P0 + hours(2)),  # ended in the period
        RunRecord(6, 1, "cancelled", P0 + days(1), None, None),  # no end time: started in the period
        RunRecord(7, 1, "failed", P0 + days(1), None, P1 + hours(1)),  # ended after the period
        RunRecord(8, 1, "completed", P1 - hours(1), None, P1 + hours(1)),
    ]
    metrics = compute_metrics(runs, [], **WEEK)
    assert metrics.runs_started == 4  # runs 2, 6, 7 and 8
    assert (metrics.runs_completed, metrics.runs_cancelled, metrics.runs_failed, metrics.runs_running) == (1, 2, 0, 0)
    assert metrics.median_cycle_time == metrics.p90_cycle_time == days(3)
    assert metrics.on_time_rate == 1.0
    assert metrics.trend == [TrendPoint(date(2026, 3, 2), 4, 1, days(3), 1.0)]


def test_a_run_completed_exactly_at_its_due_time_is_on_time():
    due = P0 + days(2)
    runs = [
        RunRecord(1, 1, "completed", P0, due, due),  # ends at its due time: on time
        RunRecord(2, 1, "completed", P0, due, due + TICK),  # a microsecond later: late
    ]
    metrics = compute_metrics(runs, [], **WEEK)
    assert (metrics.runs_with_due, metrics.runs_on_time) == (2, 1)
    assert metrics.on_time_rate == 0.5
    assert metrics.trend[0].on_time_rate == 0.5


def test_cancelled_failed_and_running_runs_have_no_cycle_time():
    runs = [
        RunRecord(1, 1, "cancelled", P0, P0, P0 + hours(1)),
        RunRecord(2, 1, "failed", P0, P0, P0 + hours(2)),
        RunRecord(3, 1, "running", P0, P0, None),
    ]
    metrics = compute_metrics(runs, [], **WEEK)
    assert (metrics.runs_started, metrics.runs_completed) == (3, 0)
    assert (metrics.runs_cancelled, metrics.runs_failed, metrics.runs_running) == (1, 1, 1)
    assert metrics.median_cycle_time is metrics.p90_cycle_time is metrics.on_time_rate is None


def test_steps_count_when_they_finish_in_the_period():
    runs = [RunRecord(1, 1, "running", P0 - days(1), None, None)]
    steps = [
        step(1, "early", position=1, name="Early", ready_at=P0 - days(1), finished_at=P0 - TICK, outcome="done"),
        step(1, "edge", position=2, name="Edge", ready_at=P0 - hours(5), finished_at=P0, outcome="done"),
        step(1, "late", position=3, name="Late", ready_at=P0, finished_at=P1, outcome="done"),
        step(2, "orphan", position=0, name="Orphan", ready_at=P0, finished_at=P0 + hours(1), outcome="done"),
    ]
    metrics = compute_metrics(runs, steps, **WEEK)
    assert metrics.steps == [
        StepMetrics("early", "Early", 0, None, None, None, None),
        StepMetrics("edge", "Edge", 1, hours(5), None, None, None),
        StepMetrics("late", "Late", 0, None, None, None, None),
    ]
    # No run completed in the period: no share of the cycle time to give.
    assert metrics.bottleneck == Bottleneck("edge", "Edge", hours(5), None, 0.0, "Edge takes 5.0 hours (median)")


def test_version_filter():
    runs = [
        RunRecord(1, 1, "completed", P0, None, P0 + days(2)),
        RunRecord(2, 1, "running", P0, None, None),
        RunRecord(3, 2, "completed", P0 + days(1), None, P0 + days(2)),
    ]
    done = {"ready_at": P0, "started_at": P0 + hours(1), "finished_at": P0 + hours(3), "outcome": "done"}
    steps = [
        step(1, "check", position=2, name="Check", **done),
        step(1, "legacy", position=1, name="Legacy step", **done),
        step(3, "check", position=1, name="Background check", **done),
    ]
    only_2 = compute_metrics(runs, steps, version=2, **WEEK)
    assert (only_2.runs_started, only_2.runs_completed, only_2.runs_running) == (1, 1, 0)
    assert only_2.median_cycle_time == days(1)
    assert [(s.step_key, s.step_name, s.runs) for s in only_2.steps] == [("check", "Background check", 1)]

    every = compute_metrics(runs, steps, **WEEK)
    assert (every.runs_started, every.runs_completed, every.runs_running) == (3, 2, 1)
    assert every.median_cycle_time == days(1.5)
    # "check" is at position 1 in version 2 and named as there; "legacy" ties at position 1 and sorts after by key.
    assert [(s.step_key, s.step_name, s.runs) for s in every.steps] == [
        ("check", "Background check", 2),
        ("legacy", "Legacy step", 1),
    ]
    assert compute_metrics(runs, steps, version=3, **WEEK).runs_started == 0


def test_weekly_trend_from_mid_week_across_the_new_year():
    start, end = datetime(2025, 12, 24, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC)  # Wednesday to Monday
    runs = [
        RunRecord(1, 1, "completed", datetime(2025, 12, 23, tzinfo=UTC), None, datetime(2025, 12, 30, tzinfo=UTC)),
        RunRecord(2, 1, "running", datetime(2026, 1, 11, 23, tzinfo=UTC), None, None),
        RunRecord(3, 1, "running", end, None, None),
    ]
    metrics = compute_metrics(runs, [], period_start=start, period_end=end)
    assert metrics.trend == [
        TrendPoint(date(2025, 12, 22), 0, 0, None, None),  # run 1 started on the Tuesday, before the period
        TrendPoint(date(2025, 12, 29), 0, 1, days(7), None),
        TrendPoint(date(2026, 1, 5), 1, 0, None, None),
    ]


def test_monthly_trend_with_empty_months():
    jan_10, jan_20, jan_25 = (datetime(2026, 1, day, tzinfo=UTC) for day in (10, 20, 25))
    last_hour_of_january, feb_1 = datetime(2026, 1, 31, 23, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    runs = [
        RunRecord(1, 1, "completed", jan_10, jan_25, jan_20),
        RunRecord(2, 1, "completed", last_hour_of_january, feb_1, feb_1 + hours(1)),  # late, in February
        RunRecord(3, 1, "running", datetime(2026, 4, 5, tzinfo=UTC), None, None),
        RunRecord(4, 1, "running", datetime(2026, 4, 10, tzinfo=UTC), None, None),
    ]
    period = {"period_start": datetime(2026, 1, 15, tzinfo=UTC), "period_end": datetime(2026, 4, 10, tzinfo=UTC)}
    metrics = compute_metrics(runs, [], bucket="month", **period)
    assert metrics.trend == [
        TrendPoint(date(2026, 1, 1), 1, 1, days(10), 1.0),
        TrendPoint(date(2026, 2, 1), 0, 1, hours(2), 0.0),
        TrendPoint(date(2026, 3, 1), 0, 0, None, None),
        TrendPoint(date(2026, 4, 1), 1, 0, None, None),
    ]
    december = compute_metrics(
        [], [], bucket="month", period_start=datetime(2025, 12, 15, tzinfo=UTC), period_end=datetime(2026, 1, 5, tzinfo=UTC)
    )
    assert [point.period_start for point in december.trend] == [date(2025, 12, 1), date(2026, 1, 1)]


def test_bad_arguments_say_what_to_fix():
    with pytest.raises(ValueError, match="period_end .* must be after period_start"):
        compute_metrics([], [], period_start=P1, period_end=P0)
    with pytest.raises(ValueError, match="bucket must be 'week' or 'month', not 'day'"):
        compute_metrics([], [], bucket="day", **WEEK)  # type: ignore[arg-type]


def one_step_metrics(*records: StepRecord) -> ProcessMetrics:
    return compute_metrics([RunRecord(1, 1, "completed", P0, None, P0 + days(4))], list(records), **WEEK)


@pytest.mark.parametrize(
    ("duration", "words"),
    [(hours(5.5), "5.5 hours"), (hours(23), "23.0 hours"), (days(1), "1.0 days"), (hours(60), "2.5 days")],
)
def test_bottleneck_durations_read_in_days_or_hours(duration, words):
    metrics = one_step_metrics(step(1, ready_at=P0, finished_at=P0 + duration, outcome="done"))
    assert metrics.bottleneck is not None
    assert metrics.bottleneck.message.startswith(f"Collect documents takes {words} (median); ")


def test_bottleneck_ties_go_to_the_earlier_step_and_may_pass_the_cycle_time():
    metrics = one_step_metrics(
        step(1, "b", position=2, name="B", ready_at=P0, started_at=P0 + days(2), finished_at=P0 + days(5), outcome="done"),
        step(1, "a", position=1, name="A", ready_at=P0, started_at=P0 + days(4), finished_at=P0 + days(5), outcome="done"),
    )
    assert metrics.bottleneck == Bottleneck(
        "a", "A", days(1), days(4), 1.25, "A takes 1.0 days (median), 4.0 days waiting; 125% of the cycle time"
    )


def test_no_finished_steps_no_bottleneck():
    metrics = one_step_metrics(step(1, ready_at=P0, started_at=P0 + hours(1)))
    assert metrics.bottleneck is None
    assert metrics.steps == [StepMetrics("collect", "Collect documents", 0, None, None, None, None)]


def test_rejection_rate_only_for_decisions():
    metrics = one_step_metrics(
        step(1, ready_at=P0, finished_at=P0 + hours(1), outcome="done"),
        step(1, ready_at=P0, finished_at=P0 + hours(1), outcome="skipped"),
        step(1, "ok", position=2, ready_at=P0, finished_at=P0 + hours(1), outcome="approved"),
        step(1, "ok", position=2, ready_at=P0, finished_at=P0 + hours(1), outcome="rejected"),
        step(1, "ok", position=2, ready_at=P0, finished_at=P0 + hours(1), outcome="rejected"),
    )
    assert [(s.runs, s.rejection_rate) for s in metrics.steps] == [(1, None), (3, pytest.approx(2 / 3))]


# assess_process

CALM = replace(compute_metrics([], [], **WEEK), runs_completed=20)


def metrics(**changes) -> ProcessMetrics:
    return replace(CALM, **changes)


def codes(report) -> list[str]:
    return [reason.code for reason in report.reasons]


def test_calm_metrics_are_on_track():
    assert assess_process(CALM).health is Health.ON_TRACK
    assert assess_process(CALM).reasons == []


@pytest.mark.parametrize(
    ("rate", "expected", "threshold"),
    [
        (None, None, None),
        (0.81, None, None),
        (0.8, None, None),  # at the threshold: not below it
        (0.79, Health.AT_RISK, 0.8),
        (0.6, Health.AT_RISK, 0.8),
        (0.59, Health.OFF_TRACK, 0.6),
        (0.0, Health.OFF_TRACK, 0.6),
    ],
)
def test_on_time_rate_thresholds(rate, expected, threshold):
    report = assess_process(metrics(on_time_rate=rate))
    assert report.health is (expected or Health.ON_TRACK)
    assert [(r.code, r.health, r.threshold) for r in report.reasons] == (
        [] if expected is None else [("LOW_ON_TIME_RATE", expected, threshold)]
    )


def test_on_time_rate_reason():
    (reason,) = assess_process(metrics(on_time_rate=11 / 20, runs_on_time=11, runs_with_due=20)).reasons
    assert (reason.message, reason.value, reason.threshold) == ("on time in 55% of runs (11 of 20)", 0.55, 0.6)
    (reason,) = assess_process(metrics(on_time_rate=0.55)).reasons
    assert reason.message == "on time in 55% of runs"


def trend(*rates: float | None, runs: int = 10) -> list[TrendPoint]:
    return [
        TrendPoint(date(2026, 1, 5) + timedelta(weeks=i), runs, 0 if rate is None else runs, None, rate)
        for i, rate in enumerate(rates)
    ]


@pytest.mark.parametrize(
    ("recent", "worse"),
    [(0.9, False), (1.0, False), (0.75, False), (0.74, True), (0.2, True)],  # 0.9 - 0.75 is 0.15, the threshold
)
def test_trend_threshold(recent, worse):
    report = assess_process(metrics(trend=trend(*[0.9] * 4, *[recent] * 4)))
    assert codes(report) == (["WORSENING_TREND"] if worse else [])
    if worse:
        (reason,) = report.reasons
        assert reason.health is Health.AT_RISK
        assert reason.value == pytest.approx(0.9 - recent)
        assert reason.threshold == 0.15
        assert reason.message == f"on-time rate fell from 90% to {round(recent * 100)}%"


def test_trend_uses_the_last_eight_non_empty_buckets_weighted_by_runs():
    # The first point is older than the last eight non-empty ones; the mean of the four rates before would be 0.75.
    points = trend(0.0, 0.0, None, 1.0, None, 1.0, 1.0, 0.8, 0.8, None, 0.8, 0.8)
    points[1] = replace(points[1], runs_completed=1)  # before: (0 * 1 + 1 * 9 + 1 * 10 + 1 * 10) / 30
    points[3] = replace(points[3], runs_completed=9)
    (reason,) = assess_process(metrics(trend=points)).reasons
    assert reason.message == "on-time rate fell from 97% to 80%"
    assert reason.value == pytest.approx(29 / 30 - 0.8)
    # Seven non-empty buckets are not enough, however steep the fall.
    assert assess_process(metrics(trend=trend(1.0, 1.0, 1.0, None, 0.0, 0.0, 0.0, 0.0))).reasons == []


def late_step(share: float | None, runs: int = 10, name: str = "Background check") -> StepMetrics:
    return StepMetrics(name.lower(), name, runs, hours(1), None, share, None)


@pytest.mark.parametrize(
    ("step_metrics", "late"),
    [
        (late_step(None), False),
        (late_step(0.5), False),  # half: not more than half
        (late_step(0.51), True),
        (late_step(1.0, runs=2), False),  # fewer finished runs than min_runs
        (late_step(1.0, runs=3), True),
    ],
)
def test_step_late_threshold(step_metrics, late):
    report = assess_process(metrics(steps=[step_metrics]))
    assert codes(report) == (["STEP_LATE"] if late else [])
    if late:
        (reason,) = report.reasons
        assert (reason.health, reason.value, reason.threshold) == (Health.AT_RISK, step_metrics.late_share, 0.5)
        assert reason.message == f"Background check finished late in {round(step_metrics.late_share * 100)}% of runs"


@pytest.mark.parametrize(("completed", "expected"), [(0, Health.ON_TRACK), (2, Health.ON_TRACK), (3, Health.OFF_TRACK)])
def test_min_runs(completed, expected):
    report = assess_process(metrics(runs_completed=completed, on_time_rate=0.0, steps=[late_step(1.0)]))
    assert report.health is expected
    assert bool(report.reasons) is (expected is not Health.ON_TRACK)


def test_custom_thresholds():
    rules = ProcessHealthThresholds(on_time_at_risk=0.5, on_time_off_track=0.2, trend_drop_at_risk=0.5, min_runs=25)
    assert assess_process(metrics(on_time_rate=0.0), rules).reasons == []  # 20 runs < 25
    rules = replace(rules, min_runs=1)
    assert codes(assess_process(metrics(on_time_rate=0.4, trend=trend(*[0.9] * 4, *[0.5] * 4)), rules)) == [
        "LOW_ON_TIME_RATE"
    ]


def test_worst_reason_first_then_rule_order():
    steps = [late_step(0.7, name="Collect documents"), late_step(0.9, name="Background check")]
    worst = assess_process(metrics(on_time_rate=0.5, trend=trend(*[1.0] * 4, *[0.5] * 4), steps=steps))
    assert worst.health is Health.OFF_TRACK
    assert [(r.code, r.health) for r in worst.reasons] == [
        ("LOW_ON_TIME_RATE", Health.OFF_TRACK),
        ("WORSENING_TREND", Health.AT_RISK),
        ("STEP_LATE", Health.AT_RISK),
        ("STEP_LATE", Health.AT_RISK),
    ]
    assert [r.message for r in worst.reasons[2:]] == [
        "Collect documents finished late in 70% of runs",
        "Background check finished late in 90% of runs",
    ]
    at_risk = assess_process(metrics(on_time_rate=0.7, trend=trend(*[1.0] * 4, *[0.5] * 4), steps=steps[:1]))
    assert at_risk.health is Health.AT_RISK
    assert codes(at_risk) == ["LOW_ON_TIME_RATE", "WORSENING_TREND", "STEP_LATE"]


# Properties

STATES = ("running", "completed", "cancelled", "failed")
OUTCOMES = (None, "done", "approved", "rejected", "skipped")
offsets = st.integers(-3 * 24 * 60, 12 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes))
maybe_offset = st.none() | offsets


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[RunRecord], list[StepRecord]]:
    runs, steps = [], []
    for run_id in range(draw(st.integers(0, 12))):
        start = P0 + draw(offsets)
        state = draw(st.sampled_from(STATES))
        end = None if state == "running" else start + abs(draw(offsets))
        due = draw(maybe_offset)
        runs.append(RunRecord(run_id, draw(st.integers(1, 2)), state, start, None if due is None else start + due, end))
        for position, key in enumerate(("a", "b")):
            times = [draw(maybe_offset) for _ in range(4)]
            ready, started, finished, step_due = (None if t is None else start + t for t in times)
            outcome = draw(st.sampled_from(OUTCOMES))
            steps.append(StepRecord(run_id, key, key.upper(), position, ready, started, finished, step_due, outcome))
    return runs, steps


def between(value, values) -> bool:
    return min(values) <= value <= max(values)


@settings(database=None)
@given(history=histories(), version=st.none() | st.just(1), bucket=st.sampled_from(["week", "month"]))
def test_medians_lie_between_min_and_max_and_rates_within_0_and_1(history, version, bucket):
    runs, steps = history
    metrics = compute_metrics(runs, steps, bucket=bucket, version=version, **WEEK)

    counted = {run.run_id: run for run in runs if version is None or run.version == version}
    cycle_times = [
        run.completed_at - run.started_at
        for run in counted.values()
        if run.state == "completed" and P0 <= run.completed_at < P1
    ]
    assert metrics.runs_completed == len(cycle_times)
    if cycle_times:
        assert between(metrics.median_cycle_time, cycle_times)
        assert metrics.median_cycle_time <= metrics.p90_cycle_time <= max(cycle_times)
    else:
        assert metrics.median_cycle_time is None
    for s in metrics.steps:
        durations = [
            record.finished_at - (record.started_at or record.ready_at)
            for record in steps
            if record.run_id in counted
            and record.step_key == s.step_key
            and record.outcome not in (None, "skipped")
            and record.finished_at is not None
            and P0 <= record.finished_at < P1
            and (record.started_at or record.ready_at) is not None
        ]
        assert (s.median_duration is None) is (not durations)
        if durations:
            assert between(s.median_duration, durations)
    shares = [metrics.on_time_rate] + [p.on_time_rate for p in metrics.trend]
    shares += [share for s in metrics.steps for share in (s.late_share, s.rejection_rate)]
    assert all(0.0 <= share <= 1.0 for share in shares if share is not None)
    assert sum(p.runs_started for p in metrics.trend) == metrics.runs_started
    assert sum(p.runs_completed for p in metrics.trend) == metrics.runs_completed
    assert assess_process(metrics).health in Health
