"""Flow metrics computed from the history of task transitions, as plain functions.

Every duration is in hours; days are UTC calendar days.

* lead time: from a task's creation to its entry into done, for tasks done now;
* cycle time: from its first entry into an IN_PROGRESS state to its entry into done,
  for tasks done now that went through one;
* blocked time: the total time tasks spent in BLOCKED states (until ``now`` for a task
  still blocked);
* throughput: completions (entries into a DONE state) per day;
* cumulative flow: per day, how many tasks were in each state at the end of the day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from mcgraph.plugins import StateCategory

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Move:
    """A task entering ``to_state`` at ``at``; ``from_state`` None when it was created.

    ``seq`` orders moves made at the same instant (the event id).
    """

    task_id: int
    from_state: str | None
    to_state: str
    category: StateCategory
    at: datetime
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Summary:
    """Durations in hours: their mean, 85th percentile (nearest rank) and number."""

    average: float | None
    p85: float | None
    count: int


def histories(moves: Iterable[Move]) -> dict[int, list[Move]]:
    """Each task's moves, in order."""
    by_task: dict[int, list[Move]] = defaultdict(list)
    for move in sorted(moves, key=lambda m: (m.at, m.seq)):
        by_task[move.task_id].append(move)
    return dict(by_task)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / HOUR


def lead_times(moves: Iterable[Move]) -> list[float]:
    """Hours from creation to done, of each task done now whose creation is known."""
    found = []
    for history in histories(moves).values():
        last = history[-1]
        if last.category is StateCategory.DONE and history[0].from_state is None:
            found.append(_hours(history[0].at, last.at))
    return found


def cycle_times(moves: Iterable[Move]) -> list[float]:
    """Hours from the first start of work to done, of each task done now that was started."""
    found = []
    for history in histories(moves).values():
        last = history[-1]
        started = next((m.at for m in history if m.category is StateCategory.IN_PROGRESS), None)
        if last.category is StateCategory.DONE and started is not None:
            found.append(_hours(started, last.at))
    return found


def blocked_hours(moves: Iterable[Move], now: datetime) -> float:
    """Total hours all tasks spent in BLOCKED states, up to ``now``."""
    total = 0.0
    for history in histories(moves).values():
        for move, following in zip(history, [*history[1:], None], strict=True):
            if move.category is StateCategory.BLOCKED:
                total += max(0.0, _hours(move.at, following.at if following else now))
    return total


def summarize(hours: Sequence[float]) -> Summary:
    """Mean and 85th percentile (the smallest value at least 85% of values do not exceed)."""
    if not hours:
        return Summary(None, None, 0)
    ordered = sorted(hours)
    rank = math.ceil(0.85 * len(ordered))
    return Summary(sum(ordered) / len(ordered), ordered[rank - 1], len(ordered))


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def throughput(moves: Iterable[Move], start: date, end: date) -> list[tuple[date, int]]:
    """For each day from ``start`` to ``end``: how many tasks entered a DONE state."""
    done: dict[date, int] = defaultdict(int)
    for move in moves:
        if move.category is StateCategory.DONE:
            done[move.at.astimezone(UTC).date()] += 1
    return [(day, done[day]) for day in days(start, end)]


def cumulative_flow(
    moves: Iterable[Move], start: date, end: date, states: Sequence[str]
) -> list[tuple[date, dict[str, int]]]:
    """For each day from ``start`` to ``end``: the count of tasks per state at its end.

    Every state of ``states`` is listed, in that order, with zero when empty; tasks not
    yet created that day are not counted.
    """
    ordered = sorted(moves, key=lambda m: (m.at, m.seq))
    current: dict[int, str] = {}
    index = 0
    result = []
    for day in days(start, end):
        day_end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        while index < len(ordered) and ordered[index].at < day_end:
            current[ordered[index].task_id] = ordered[index].to_state
            index += 1
        counts = dict.fromkeys(states, 0)
        for state in current.values():
            if state in counts:
                counts[state] += 1
        result.append((day, counts))
    return result
