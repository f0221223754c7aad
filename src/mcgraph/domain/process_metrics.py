"""Where the waste is in a repeated process: run and step metrics, and process health.

A process owner documents its steps once; each time the steps are carried out is a
*run*. :func:`compute_metrics` turns :class:`RunRecord` and :class:`StepRecord` rows
into :class:`ProcessMetrics` for a period, and :func:`assess_process` grades those
metrics into a :class:`ProcessHealthReport`.

Times are aware datetimes compared as instants. The period is half-open: a time is
*in the period* when ``period_start <= time < period_end``. Calendar buckets use UTC
dates.

Which records count
    With ``version``, only the runs of that process version and the step records of
    those runs. A step record whose run is not among ``runs`` is ignored, since its
    version and state cannot be known.

Run counts
    ``runs_started``: runs started in the period, whatever their state.
    ``runs_completed``: runs in state ``completed`` whose ``completed_at`` is in the
    period, including runs started before it. ``runs_cancelled`` and ``runs_failed``:
    runs in that state that ended (``completed_at``) in the period, or, with no end
    time recorded, that started in it. ``runs_running``: runs still ``running`` that
    started in the period.

Cycle time and on-time rate
    A run's cycle time is ``completed_at - started_at``; only runs completed in the
    period have one (never cancelled, failed or running runs). ``median_cycle_time`` is
    the middle value, or the mean of the two middle values for an even count.
    ``p90_cycle_time`` uses the nearest-rank method: the ``ceil(0.9 * n)``-th smallest
    of ``n`` cycle times, never interpolated (the 9th of 10, the largest of 3).
    ``on_time_rate``: of the runs completed in the period that have a ``due_at``, the
    share with ``completed_at <= due_at`` (finishing at the due time is on time).
    ``runs_with_due`` and ``runs_on_time`` are its denominator and numerator. Every
    rate or median is ``None`` when there is nothing to measure.

Step metrics
    A step record has *finished in the period* when its ``outcome`` is set and not
    ``skipped`` and its ``finished_at`` is in the period; each step is expected once
    per run. ``steps`` has one entry per step key among the counted step records,
    finished or not (a step that never finished has ``runs`` 0 and ``None`` metrics),
    ordered by the smallest ``position`` seen for the key, then by key. Its name is the
    one in the newest run (highest version, then highest run id). Over the records that
    finished in the period: ``runs`` counts them; ``median_duration`` is the median of
    ``finished_at - started_at`` (``finished_at - ready_at`` when the start is
    unknown); ``median_wait`` the median of ``started_at - ready_at`` where both are
    known; ``late_share`` the share with ``finished_at > due_at`` of those with a due
    time; ``rejection_rate`` is ``rejections / (approvals + rejections)``, counting every
    rejection of every round (a rejection that sends the run back counts too), ``None`` for a
    step without decisions (not an approval step).

Bottleneck
    The step with the largest ``median_wait + median_duration`` (a missing wait counts
    as zero), the earlier position on a tie; ``None`` when no step has a duration.
    ``share_of_cycle_time`` divides that time by the median cycle time, so it may pass
    1.0 (a step's median need not fit in the run's); it is 0.0 when there is no cycle
    time. Message: ``Background check takes 3.0 days (median), 1.5 days waiting; 92% of
    the cycle time``; the waiting and share parts are left out when unknown. Durations
    read in days with one decimal from one day up, else in hours (``5.5 hours``).

Trend
    One :class:`TrendPoint` per bucket, oldest first: ISO weeks (starting on Monday)
    or calendar months, from the bucket holding ``period_start`` to the one holding
    the last instant before ``period_end``, empty buckets included. Each point counts
    and measures as above over the part of its bucket inside the period, so the points'
    ``runs_started`` and ``runs_completed`` add up to the period's.

Process health
    With fewer than ``min_runs`` runs completed in the period, :func:`assess_process`
    says ON_TRACK with no reasons (not enough data). Otherwise each rule below gives
    reasons; a reason's ``threshold`` is the one it crossed, in the unit of its
    ``value``. Comparisons allow 1e-9, so that 0.90 - 0.75 counts as exactly 0.15.

    ``LOW_ON_TIME_RATE``: ``on_time_rate`` below ``on_time_off_track`` is OFF_TRACK,
    else below ``on_time_at_risk`` is AT_RISK. ``value``: the rate. Message: ``on time
    in 55% of runs (11 of 20)``.

    ``WORSENING_TREND``: needs 8 trend points with an on-time rate (non-empty
    buckets). The rate of the last 4 of them and of the 4 before each weigh every
    point by its ``runs_completed``; a fall of strictly more than
    ``trend_drop_at_risk`` is AT_RISK. ``value``: the fall (0.3 for 30 points).
    Message: ``on-time rate fell from 90% to 60%``.

    ``STEP_LATE``: one reason per step finished in at least ``min_runs`` runs and late
    in strictly more than half of them; AT_RISK. ``value``: its ``late_share``;
    ``threshold``: 0.5. Message: ``Background check finished late in 70% of runs``.

    The report's health is the worst of its reasons' (ON_TRACK when there are none),
    and its reasons are listed worst first, then in the order of the rules above.
    Percentages in messages are rounded to whole numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from mcgraph.db.models.enums import Health

TOLERANCE = 1e-9
TREND_WINDOW = 4
"""Non-empty trend buckets on each side of the WORSENING_TREND comparison."""
STEP_LATE_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: int
    version: int
    """The process version number the run used."""
    state: str
    """``running``, ``completed``, ``cancelled`` or ``failed``."""
    started_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    """When the run ended, whatever its state."""


@dataclass(frozen=True, slots=True)
class StepRecord:
    run_id: int
    step_key: str
    step_name: str
    position: int
    """Order of the step in its version."""
    ready_at: datetime | None
    """When its predecessors had finished."""
    started_at: datetime | None
    finished_at: datetime | None
    due_at: datetime | None
    outcome: str | None
    """``done``, ``approved``, ``rejected``, ``skipped``, or ``None`` while unfinished."""
    rejections: int = 0
    """An approval step's rejections over all its rounds (a rejection may send a run back)."""


@dataclass(frozen=True, slots=True)
class StepMetrics:
    step_key: str
    step_name: str
    runs: int
    median_duration: timedelta | None
    median_wait: timedelta | None
    late_share: float | None
    rejection_rate: float | None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    period_start: date
    """The Monday of the ISO week, or the 1st of the month."""
    runs_started: int
    runs_completed: int
    median_cycle_time: timedelta | None
    on_time_rate: float | None


@dataclass(frozen=True, slots=True)
class Bottleneck:
    step_key: str
    step_name: str
    median_duration: timedelta
    median_wait: timedelta | None
    share_of_cycle_time: float
    message: str


@dataclass(frozen=True, slots=True)
class ProcessMetrics:
    period_start: datetime
    period_end: datetime
    runs_started: int
    runs_completed: int
    runs_cancelled: int
    runs_failed: int
    runs_running: int
    median_cycle_time: timedelta | None
    p90_cycle_time: timedelta | None
    on_time_rate: float | None
    steps: list[StepMetrics]
    bottleneck: Bottleneck | None
    trend: list[TrendPoint]
    runs_with_due: int = 0
    """Runs completed in the period that have a due time: the on-time rate's denominator."""
    runs_on_time: int = 0
    """Of those, the runs completed by their due time."""


@dataclass(frozen=True, slots=True)
class ProcessHealthThresholds:
    on_time_at_risk: float = 0.8
    on_time_off_track: float = 0.6
    trend_drop_at_risk: float = 0.15
    """Fall of the on-time rate, as a share (0.15 for 15 points)."""
    min_runs: int = 3


@dataclass(frozen=True, slots=True)
class ProcessHealthReason:
    code: str
    health: Health
    message: str
    value: float
    threshold: float


@dataclass(frozen=True, slots=True)
class ProcessHealthReport:
    health: Health
    reasons: list[ProcessHealthReason]
    """Worst first, then in rule order."""


def compute_metrics(
    runs: Iterable[RunRecord],
    steps: Iterable[StepRecord],
    *,
    period_start: datetime,
    period_end: datetime,
    bucket: Literal["week", "month"] = "week",
    version: int | None = None,
) -> ProcessMetrics:
    """Metrics over runs in the period; with ``version``, only that version's runs (and their steps)."""
    if period_end <= period_start:
        raise ValueError(f"period_end ({period_end}) must be after period_start ({period_start})")
    if bucket not in ("week", "month"):
        raise ValueError(f"bucket must be 'week' or 'month', not {bucket!r}")
    counted = {run.run_id: run for run in runs if version is None or run.version == version}
    figures = _run_figures(counted.values(), period_start, period_end)
    step_metrics = _step_metrics(counted, steps, period_start, period_end)
    median_cycle_time = _median(figures.cycle_times)
    within = _in(period_start, period_end)
    return ProcessMetrics(
        period_start=period_start,
        period_end=period_end,
        runs_started=figures.started,
        runs_completed=len(figures.cycle_times),
        runs_cancelled=sum(run.state == "cancelled" and within(_end(run)) for run in counted.values()),
        runs_failed=sum(run.state == "failed" and within(_end(run)) for run in counted.values()),
        runs_running=sum(run.state == "running" and within(run.started_at) for run in counted.values()),
        median_cycle_time=median_cycle_time,
        p90_cycle_time=_p90(figures.cycle_times),
        on_time_rate=_share(figures.on_time, figures.with_due),
        steps=step_metrics,
        bottleneck=_bottleneck(step_metrics, median_cycle_time),
        trend=_trend(list(counted.values()), period_start, period_end, bucket),
        runs_with_due=figures.with_due,
        runs_on_time=figures.on_time,
    )


@dataclass(frozen=True, slots=True)
class _RunFigures:
    started: int
    cycle_times: list[timedelta]
    """Of the runs completed, sorted."""
    with_due: int
    on_time: int


def _run_figures(runs: Iterable[RunRecord], start: datetime, end: datetime) -> _RunFigures:
    """Runs started, and what the runs completed measure, in [start, end)."""
    within = _in(start, end)
    started, cycle_times, with_due, on_time = 0, [], 0, 0
    for run in runs:
        started += within(run.started_at)
        if run.state != "completed" or run.completed_at is None or not within(run.completed_at):
            continue
        cycle_times.append(run.completed_at - run.started_at)
        if run.due_at is not None:
            with_due += 1
            on_time += run.completed_at <= run.due_at
    return _RunFigures(started, sorted(cycle_times), with_due, on_time)


def _in(start: datetime, end: datetime) -> Callable[[datetime | None], bool]:
    return lambda moment: moment is not None and start <= moment < end


def _end(run: RunRecord) -> datetime:
    return run.completed_at if run.completed_at is not None else run.started_at


def _p90(values: Sequence[timedelta]) -> timedelta | None:
    """Nearest rank: the ceil(0.9 * n)-th smallest of sorted ``values``, in integers."""
    return values[(9 * len(values) + 9) // 10 - 1] if values else None


def _median(values: Sequence[timedelta]) -> timedelta | None:
    """The median of sorted ``values``: the mean of the two middle ones for an even count."""
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _step_metrics(
    runs: dict[int, RunRecord], steps: Iterable[StepRecord], start: datetime, end: datetime
) -> list[StepMetrics]:
    within = _in(start, end)
    finished: dict[str, list[StepRecord]] = {}
    position: dict[str, int] = {}
    name: dict[str, tuple[tuple[int, int], str]] = {}
    for step in steps:
        run = runs.get(step.run_id)
        if run is None:
            continue
        key = step.step_key
        position[key] = min(position.get(key, step.position), step.position)
        if key not in name or (run.version, run.run_id) >= name[key][0]:
            name[key] = ((run.version, run.run_id), step.step_name)
        done = finished.setdefault(key, [])
        if step.outcome not in (None, "skipped") and within(step.finished_at):
            done.append(step)
    ordered = sorted(finished, key=lambda key: (position[key], key))
    return [_one_step(key, name[key][1], finished[key]) for key in ordered]


def _one_step(key: str, name: str, done: list[StepRecord]) -> StepMetrics:
    durations, waits, with_due, late = [], [], 0, 0
    for step in done:
        assert step.finished_at is not None
        begun = step.started_at if step.started_at is not None else step.ready_at
        if begun is not None:
            durations.append(step.finished_at - begun)
        if step.started_at is not None and step.ready_at is not None:
            waits.append(step.started_at - step.ready_at)
        if step.due_at is not None:
            with_due += 1
            late += step.finished_at > step.due_at
    approved = sum(step.outcome == "approved" for step in done)
    rejected = sum(max(step.rejections, step.outcome == "rejected") for step in done)
    return StepMetrics(
        step_key=key,
        step_name=name,
        runs=len(done),
        median_duration=_median(sorted(durations)),
        median_wait=_median(sorted(waits)),
        late_share=_share(late, with_due),
        rejection_rate=_share(rejected, approved + rejected),
    )


def _time_in_step(step: StepMetrics) -> timedelta:
    assert step.median_duration is not None
    return step.median_duration + (step.median_wait or timedelta())


def _bottleneck(steps: list[StepMetrics], cycle_time: timedelta | None) -> Bottleneck | None:
    timed = [step for step in steps if step.median_duration is not None]
    if not timed:
        return None
    top = max(timed, key=_time_in_step)  # the first of equals: steps are in position order
    assert top.median_duration is not None
    share = _time_in_step(top) / cycle_time if cycle_time else 0.0
    message = f"{top.step_name} takes {_duration(top.median_duration)} (median)"
    if top.median_wait is not None:
        message += f", {_duration(top.median_wait)} waiting"
    if cycle_time:
        message += f"; {round(share * 100)}% of the cycle time"
    return Bottleneck(top.step_key, top.step_name, top.median_duration, top.median_wait, share, message)


def _duration(span: timedelta) -> str:
    days = span / timedelta(days=1)
    return f"{days:.1f} days" if days >= 1 else f"{span / timedelta(hours=1):.1f} hours"


def _trend(runs: list[RunRecord], start: datetime, end: datetime, bucket: str) -> list[TrendPoint]:
    first = _bucket_start(start.astimezone(UTC).date(), bucket)
    last = _bucket_start((end - timedelta(microseconds=1)).astimezone(UTC).date(), bucket)
    points = []
    day = first
    while day <= last:
        following = _next_bucket(day, bucket)
        figures = _run_figures(runs, max(start, _midnight(day)), min(end, _midnight(following)))
        point = TrendPoint(
            period_start=day,
            runs_started=figures.started,
            runs_completed=len(figures.cycle_times),
            median_cycle_time=_median(figures.cycle_times),
            on_time_rate=_share(figures.on_time, figures.with_due),
        )
        points.append(point)
        day = following
    return points


def _bucket_start(day: date, bucket: str) -> date:
    return day - timedelta(days=day.weekday()) if bucket == "week" else day.replace(day=1)


def _next_bucket(day: date, bucket: str) -> date:
    if bucket == "week":
        return day + timedelta(days=7)
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def assess_process(
    metrics: ProcessMetrics, thresholds: ProcessHealthThresholds = ProcessHealthThresholds()
) -> ProcessHealthReport:
    """Apply the process health rules to ``metrics``; the report says how healthy and why."""
    if metrics.runs_completed < thresholds.min_runs:
        return ProcessHealthReport(Health.ON_TRACK, [])
    found = [reason for rule in _RULES for reason in rule(metrics, thresholds)]
    found.sort(key=lambda reason: -reason.health.rank)
    return ProcessHealthReport(found[0].health if found else Health.ON_TRACK, found)


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _low_on_time_rate(metrics: ProcessMetrics, thresholds: ProcessHealthThresholds) -> list[ProcessHealthReason]:
    rate = metrics.on_time_rate
    if rate is None:
        return []
    if rate < thresholds.on_time_off_track - TOLERANCE:
        health, threshold = Health.OFF_TRACK, thresholds.on_time_off_track
    elif rate < thresholds.on_time_at_risk - TOLERANCE:
        health, threshold = Health.AT_RISK, thresholds.on_time_at_risk
    else:
        return []
    message = f"on time in {_percent(rate)} of runs"
    if metrics.runs_with_due:
        message += f" ({metrics.runs_on_time} of {metrics.runs_with_due})"
    return [ProcessHealthReason("LOW_ON_TIME_RATE", health, message, rate, threshold)]


def _pooled_rate(points: list[TrendPoint]) -> float:
    on_time = sum((point.on_time_rate or 0.0) * point.runs_completed for point in points)
    return on_time / sum(point.runs_completed for point in points)


def _worsening_trend(metrics: ProcessMetrics, thresholds: ProcessHealthThresholds) -> list[ProcessHealthReason]:
    rated = [point for point in metrics.trend if point.on_time_rate is not None]
    if len(rated) < 2 * TREND_WINDOW:
        return []
    before = _pooled_rate(rated[-2 * TREND_WINDOW : -TREND_WINDOW])
    recent = _pooled_rate(rated[-TREND_WINDOW:])
    drop = before - recent
    if drop <= thresholds.trend_drop_at_risk + TOLERANCE:
        return []
    message = f"on-time rate fell from {_percent(before)} to {_percent(recent)}"
    return [ProcessHealthReason("WORSENING_TREND", Health.AT_RISK, message, drop, thresholds.trend_drop_at_risk)]


def _late_steps(metrics: ProcessMetrics, thresholds: ProcessHealthThresholds) -> list[ProcessHealthReason]:
    return [
        ProcessHealthReason(
            "STEP_LATE",
            Health.AT_RISK,
            f"{step.step_name} finished late in {_percent(step.late_share)} of runs",
            step.late_share,
            STEP_LATE_SHARE,
        )
        for step in metrics.steps
        if step.late_share is not None
        and step.runs >= thresholds.min_runs
        and step.late_share > STEP_LATE_SHARE + TOLERANCE
    ]


_RULES: tuple[Callable[[ProcessMetrics, ProcessHealthThresholds], list[ProcessHealthReason]], ...] = (
    _low_on_time_rate,
    _worsening_trend,
    _late_steps,
)
