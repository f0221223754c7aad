"""The Critical Path Method over task dependencies.

All times are in days from the project start, which is 0. A forward pass in
topological order gives each task its earliest start and finish; a backward pass
from the project finish gives its latest start and finish. A task whose total
float (slack) is zero is critical: delaying it delays the project.

How a link ``p -> s`` with lag ``L`` constrains the two tasks:

====  ===========================  ==========================
type  forward pass                 backward pass
====  ===========================  ==========================
FS    ``ES(s) >= EF(p) + L``        ``LF(p) <= LS(s) - L``
SS    ``ES(s) >= ES(p) + L``        ``LS(p) <= LS(s) - L``
FF    ``EF(s) >= EF(p) + L``        ``LF(p) <= LF(s) - L``
SF    ``EF(s) >= ES(p) + L``        ``LS(p) <= LF(s) - L``
====  ===========================  ==========================

A negative lag is a lead. No task starts before 0 or before its ``not_before``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from mcgraph.db.models.enums import DependencyType

TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class ScheduleTask:
    id: int
    duration: float
    """In days; callers convert hours of estimate to days."""
    not_before: float = 0.0
    """The earliest allowed start, as days from the project start."""

    def __post_init__(self) -> None:
        if self.duration < 0:
            raise ValueError(f"task {self.id} has a negative duration ({self.duration}); give a duration of 0 or more days")


@dataclass(frozen=True, slots=True)
class ScheduleLink:
    predecessor_id: int
    successor_id: int
    type: DependencyType
    lag: float = 0.0
    """In days; negative for a lead."""


@dataclass(frozen=True, slots=True)
class TaskTimes:
    id: int
    earliest_start: float
    earliest_finish: float
    latest_start: float
    latest_finish: float
    slack: float
    """Total float: ``latest_start - earliest_start``."""
    critical: bool
    """The slack is zero (within ``TOLERANCE``)."""


@dataclass(frozen=True, slots=True)
class Schedule:
    times: dict[int, TaskTimes]
    finish: float
    """The project finish: the largest earliest finish, 0.0 when there are no tasks."""
    critical_path: list[int]
    """The critical tasks along one driving chain, from a start task to the finishing task."""


class DependencyCycle(ValueError):
    """The links form a cycle, so no task on it can be scheduled."""

    cycle: list[int]

    def __init__(self, cycle: list[int]) -> None:
        self.cycle = cycle
        path = " -> ".join(str(task_id) for task_id in cycle)
        super().__init__(f"the dependencies form a cycle: {path}; remove one of these links")


def find_cycle(links: Iterable[ScheduleLink], adding: ScheduleLink | None = None) -> list[int] | None:
    """The cycle that the links (plus ``adding``, the link about to be created) form, or None.

    The cycle lists task ids in the direction of the links, the first repeated at the
    end, e.g. ``[3, 5, 7, 3]``. With ``adding``, only a cycle through that link counts:
    the answer starts with its predecessor and is the shortest such cycle.
    """
    successors: dict[int, set[int]] = defaultdict(set)
    for link in links:
        successors[link.predecessor_id].add(link.successor_id)
    if adding is None:
        return _any_cycle(successors)
    path = _shortest_path(successors, adding.successor_id, adding.predecessor_id)
    return None if path is None else [adding.predecessor_id, *path]


def _any_cycle(successors: dict[int, set[int]]) -> list[int] | None:
    """Iterative depth-first search; a link back to a task on the current path closes a cycle."""
    done: set[int] = set()
    for root in sorted(successors):
        if root in done:
            continue
        path = [root]
        position = {root: 0}
        pending = [iter(sorted(successors[root]))]
        while pending:
            following = next(pending[-1], None)
            if following is None:
                finished = path.pop()
                del position[finished]
                done.add(finished)
                pending.pop()
            elif following in position:
                return [*path[position[following] :], following]
            elif following not in done:
                position[following] = len(path)
                path.append(following)
                pending.append(iter(sorted(successors.get(following, ()))))
    return None


def _shortest_path(successors: dict[int, set[int]], start: int, goal: int) -> list[int] | None:
    """The ids from ``start`` to ``goal`` along the links, both included, or None."""
    came_from: dict[int, int | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current == goal:
            path = [current]
            while (previous := came_from[path[-1]]) is not None:
                path.append(previous)
            return path[::-1]
        for following in sorted(successors.get(current, ())):
            if following not in came_from:
                came_from[following] = current
                queue.append(following)
    return None


def compute_schedule(tasks: Iterable[ScheduleTask], links: Iterable[ScheduleLink]) -> Schedule:
    """Forward and backward pass. Raises DependencyCycle when the links form a cycle.

    Links naming a task that is not in ``tasks`` are ignored.
    """
    forward = _forward_pass(tasks, links)
    by_id, incoming, outgoing, order = forward.by_id, forward.incoming, forward.outgoing, forward.order
    early_start, early_finish, finish = forward.early_start, forward.early_finish, forward.finish

    late_start: dict[int, float] = {}
    late_finish: dict[int, float] = {}
    for task_id in reversed(order):
        task = by_id[task_id]
        end = finish
        for link in outgoing[task_id]:
            end = min(end, _latest_finish_bound(link, task.duration, late_start, late_finish))
        late_finish[task_id] = end
        late_start[task_id] = end - task.duration

    times = {}
    for task_id in order:
        slack = late_start[task_id] - early_start[task_id]
        times[task_id] = TaskTimes(
            id=task_id,
            earliest_start=early_start[task_id],
            earliest_finish=early_finish[task_id],
            latest_start=late_start[task_id],
            latest_finish=late_finish[task_id],
            slack=slack,
            critical=abs(slack) <= TOLERANCE,
        )
    path = _critical_path(times, incoming, by_id, early_start, early_finish)
    return Schedule(times=times, finish=finish, critical_path=path)


OFF_LOOP_TASKS = 2_000
"""From this many tasks a schedule is computed in a worker thread (:func:`compute_schedule_off_loop`)."""


async def compute_schedule_off_loop(tasks: Iterable[ScheduleTask], links: Iterable[ScheduleLink]) -> Schedule:
    """:func:`compute_schedule`, in a worker thread when the plan is large (a 10,000-task
    project takes about a second), so that the event loop, and ``/healthz`` with it, keeps
    answering while it runs."""
    tasks, links = list(tasks), list(links)
    if len(tasks) < OFF_LOOP_TASKS:
        return compute_schedule(tasks, links)
    return await asyncio.to_thread(compute_schedule, tasks, links)


def schedule_finish(tasks: Iterable[ScheduleTask], links: Iterable[ScheduleLink]) -> float:
    """When the last task finishes, in days: :func:`compute_schedule`'s ``finish`` without
    its backward pass (the forecast of a project's end needs only this)."""
    return _forward_pass(tasks, links).finish


@dataclass(frozen=True, slots=True)
class _Forward:
    by_id: dict[int, ScheduleTask]
    incoming: dict[int, list[ScheduleLink]]
    outgoing: dict[int, list[ScheduleLink]]
    order: list[int]
    early_start: dict[int, float]
    early_finish: dict[int, float]
    finish: float


def _forward_pass(tasks: Iterable[ScheduleTask], links: Iterable[ScheduleLink]) -> _Forward:
    """The links between the tasks, their order, and each task's earliest start and finish.
    Raises DependencyCycle when the links form a cycle; links naming a task that is not
    in ``tasks`` are ignored."""
    by_id = {task.id: task for task in tasks}
    kept = [link for link in links if link.predecessor_id in by_id and link.successor_id in by_id]
    incoming: dict[int, list[ScheduleLink]] = defaultdict(list)
    outgoing: dict[int, list[ScheduleLink]] = defaultdict(list)
    for link in kept:
        incoming[link.successor_id].append(link)
        outgoing[link.predecessor_id].append(link)
    order = _topological_order(by_id, incoming, outgoing)
    if len(order) < len(by_id):
        raise DependencyCycle(find_cycle(kept) or [])

    early_start: dict[int, float] = {}
    early_finish: dict[int, float] = {}
    for task_id in order:
        task = by_id[task_id]
        start = max(0.0, task.not_before)
        for link in incoming[task_id]:
            start = max(start, _earliest_start_bound(link, task.duration, early_start, early_finish))
        early_start[task_id] = start
        early_finish[task_id] = start + task.duration
    finish = max(early_finish.values(), default=0.0)
    return _Forward(by_id, incoming, outgoing, order, early_start, early_finish, finish)


def _topological_order(
    by_id: dict[int, ScheduleTask],
    incoming: dict[int, list[ScheduleLink]],
    outgoing: dict[int, list[ScheduleLink]],
) -> list[int]:
    """Kahn's algorithm; tasks on a cycle are left out."""
    waiting_on = {task_id: len(incoming[task_id]) for task_id in by_id}
    ready = deque(task_id for task_id, count in waiting_on.items() if count == 0)
    order = []
    while ready:
        task_id = ready.popleft()
        order.append(task_id)
        for link in outgoing[task_id]:
            waiting_on[link.successor_id] -= 1
            if waiting_on[link.successor_id] == 0:
                ready.append(link.successor_id)
    return order


def _earliest_start_bound(
    link: ScheduleLink, duration: float, early_start: dict[int, float], early_finish: dict[int, float]
) -> float:
    """The earliest start that ``link`` allows its successor, which lasts ``duration``."""
    match link.type:
        case DependencyType.FS:
            return early_finish[link.predecessor_id] + link.lag
        case DependencyType.SS:
            return early_start[link.predecessor_id] + link.lag
        case DependencyType.FF:
            return early_finish[link.predecessor_id] + link.lag - duration
        case DependencyType.SF:
            return early_start[link.predecessor_id] + link.lag - duration
    raise ValueError(f"unknown dependency type {link.type!r}")


def _latest_finish_bound(
    link: ScheduleLink, duration: float, late_start: dict[int, float], late_finish: dict[int, float]
) -> float:
    """The latest finish that ``link`` allows its predecessor, which lasts ``duration``."""
    match link.type:
        case DependencyType.FS:
            return late_start[link.successor_id] - link.lag
        case DependencyType.SS:
            return late_start[link.successor_id] - link.lag + duration
        case DependencyType.FF:
            return late_finish[link.successor_id] - link.lag
        case DependencyType.SF:
            return late_finish[link.successor_id] - link.lag + duration
    raise ValueError(f"unknown dependency type {link.type!r}")


def _critical_path(
    times: dict[int, TaskTimes],
    incoming: dict[int, list[ScheduleLink]],
    by_id: dict[int, ScheduleTask],
    early_start: dict[int, float],
    early_finish: dict[int, float],
) -> list[int]:
    """Walk back from the finishing task through critical predecessors whose links drive it."""
    critical = [t for t in times.values() if t.critical]
    if not critical:
        return []
    current = min(critical, key=lambda t: (-t.earliest_finish, t.id)).id
    path = [current]
    while True:
        start = early_start[current]
        duration = by_id[current].duration
        driving = [
            link.predecessor_id
            for link in incoming[current]
            if times[link.predecessor_id].critical
            and abs(start - _earliest_start_bound(link, duration, early_start, early_finish)) <= TOLERANCE
        ]
        if not driving:
            return path[::-1]
        current = min(driving)
        path.append(current)
