"""The sums of a sprint: burndown, scope added after the start, velocity.

Plain functions over :class:`Member` values, so they are tested without a database.
Days are UTC calendar days; "by the end of a day" means at any time on that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True, slots=True)
class Member:
    """A task's stay in a sprint, as the sprint counts it.

    ``points`` is the size the sprint counts; ``completed_at`` when the task was done,
    if it is done now.
    """

    task_id: int
    points: float
    added_at: datetime
    removed_at: datetime | None = None
    completed_at: datetime | None = None

    def in_sprint_on(self, day: date) -> bool:
        """Whether the task was in the sprint at the end of ``day``."""
        return self.added_at.date() <= day and (self.removed_at is None or self.removed_at.date() > day)

    def done_by(self, day: date) -> bool:
        return self.completed_at is not None and self.completed_at.date() <= day

    @property
    def current(self) -> bool:
        return self.removed_at is None

    @property
    def done(self) -> bool:
        return self.completed_at is not None


@dataclass(frozen=True, slots=True)
class BurndownPoint:
    """One day of a burndown: what was left at its end (None for days still to come)."""

    day: date
    remaining: float | None
    ideal: float


@dataclass(frozen=True, slots=True)
class Velocity:
    """The average completed points of the last completed sprints (None without any)."""

    average: float | None
    completed: list[float]


def committed_points(members: Iterable[Member]) -> float:
    """The points of the tasks in the sprint now: what a start commits to."""
    return sum(m.points for m in members if m.current)


def completed_points(members: Iterable[Member]) -> float:
    """The points of the sprint's tasks that are done."""
    return sum(m.points for m in members if m.current and m.done)


def scope_added(members: Iterable[Member], started_at: datetime | None) -> float:
    """Points of the tasks added after the start that are still in the sprint."""
    if started_at is None:
        return 0.0
    return sum(m.points for m in members if m.current and m.added_at > started_at)


def ideal_line(committed: float, start: date, end: date) -> list[float]:
    """A straight line from ``committed`` on the first day to 0 on the last."""
    days = (end - start).days + 1
    if days <= 1:
        return [0.0] * max(days, 0)
    return [committed * (1 - i / (days - 1)) for i in range(days)]


def burndown(members: Sequence[Member], start: date, end: date, committed: float, as_of: date) -> list[BurndownPoint]:
    """Each day from ``start`` to ``end``: the points of tasks in the sprint at the day's
    end that were not done by then; days after ``as_of`` have no remaining yet.

    A task added mid-sprint counts from the day it was added, a removed one stops
    counting on the day it was removed.
    """
    ideal = ideal_line(committed, start, end)
    points = []
    for i, value in enumerate(ideal):
        day = start + timedelta(days=i)
        remaining = None
        if day <= as_of:
            remaining = sum(m.points for m in members if m.in_sprint_on(day) and not m.done_by(day))
        points.append(BurndownPoint(day, remaining, value))
    return points


def velocity(completed: Sequence[float], last: int = 3) -> Velocity:
    """The average of the last ``last`` values of ``completed`` (completed points of the
    completed sprints, oldest first)."""
    window = list(completed[-last:]) if last > 0 else []
    return Velocity(sum(window) / len(window) if window else None, window)
