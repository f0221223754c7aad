"""Properties of the Critical Path Method and of the cycle rule, on random networks.

Task ids are drawn at random and do not follow the links' direction, so nothing here
relies on ids being in topological order.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.project_helpers import create_project, create_task, pk

from mcgraph.db import models as m
from mcgraph.db.engine import begin_write
from mcgraph.db.models import Role
from mcgraph.db.models.enums import DependencyType
from mcgraph.domain.errors import UserError, UserErrorCode
from mcgraph.domain.permissions import system_actor
from mcgraph.domain.tasks import add_dependency
from mcgraph.domain.unit import Unit
from mcgraph.domain.schedule import DependencyCycle, Schedule, ScheduleLink, ScheduleTask, compute_schedule, find_cycle

FS, SS, FF, SF = DependencyType.FS, DependencyType.SS, DependencyType.FF, DependencyType.SF
CLOSE = 1e-6
"""Float sums along a chain of up to 12 tasks stay well inside this."""

# Whole days give many exact ties (the hard cases for "driving" and "critical"); fractions the rest.
days = st.integers(0, 8).map(float) | st.floats(0, 30, allow_subnormal=False)
lags = st.integers(-4, 4).map(float) | st.floats(-10, 10, allow_subnormal=False)


@st.composite
def networks(draw: st.DrawFn, max_tasks: int = 12) -> tuple[list[ScheduleTask], list[ScheduleLink]]:
    """An acyclic network: links only go forward in a hidden order of random ids."""
    ids = draw(st.lists(st.integers(1, 10_000), max_size=max_tasks, unique=True))
    tasks = [ScheduleTask(i, draw(days), draw(st.just(0.0) | days)) for i in ids]
    links = []
    if len(ids) >= 2:
        for _ in range(draw(st.integers(0, 3 * len(ids)))):
            first, second = sorted(draw(st.lists(st.integers(0, len(ids) - 1), min_size=2, max_size=2, unique=True)))
            links.append(ScheduleLink(ids[first], ids[second], draw(st.sampled_from(DependencyType)), draw(lags)))
    return tasks, links


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[int], list[ScheduleLink]]:
    """Any directed graph on a few tasks, self-links included: cyclic or not."""
    ids = draw(st.lists(st.integers(1, 50), min_size=1, max_size=8, unique=True))
    pairs = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=14))
    return ids, [ScheduleLink(p, s, draw(st.sampled_from(DependencyType))) for p, s in pairs]


def reachable(links: list[ScheduleLink]) -> dict[int, set[int]]:
    """For each task, the tasks reachable from it by one link or more (transitive closure)."""
    closure: dict[int, set[int]] = {}
    for x in links:
        closure.setdefault(x.predecessor_id, set()).add(x.successor_id)
    changed = True
    while changed:
        changed = False
        for task_id, targets in closure.items():
            further = set().union(*(closure.get(t, set()) for t in targets)) - targets
            if further:
                targets |= further
                changed = True
    return closure


def distance(links: list[ScheduleLink], start: int, goal: int) -> int | None:
    """The fewest links from ``start`` to ``goal`` (0 when they are the same task), or None."""
    frontier, seen, steps = {start}, {start}, 0
    while frontier:
        if goal in frontier:
            return steps
        frontier = {x.successor_id for x in links if x.predecessor_id in frontier} - seen
        seen |= frontier
        steps += 1
    return None


def start_bound(schedule: Schedule, x: ScheduleLink, duration: float) -> float:
    """The earliest start that link ``x`` allows its successor, from the table in the module docstring."""
    p = schedule.times[x.predecessor_id]
    offset = {FS: p.earliest_finish, SS: p.earliest_start, FF: p.earliest_finish - duration, SF: p.earliest_start - duration}
    return offset[x.type] + x.lag


def delayed(tasks: list[ScheduleTask], task_id: int, start: float) -> list[ScheduleTask]:
    return [replace(t, not_before=start) if t.id == task_id else t for t in tasks]


def is_a_cycle_of(cycle: list[int], links: list[ScheduleLink]) -> bool:
    pairs = {(x.predecessor_id, x.successor_id) for x in links}
    return len(cycle) >= 2 and cycle[0] == cycle[-1] and all(pair in pairs for pair in zip(cycle, cycle[1:]))


# The forward pass


@given(networks())
def test_every_start_is_the_earliest_that_all_its_constraints_allow(network):
    tasks, links = network
    schedule = compute_schedule(tasks, links)
    by_id = {t.id: t for t in tasks}

    for task in tasks:
        bounds = [max(0.0, task.not_before)]
        bounds += [start_bound(schedule, x, task.duration) for x in links if x.successor_id == task.id]
        # respects every link with its lag, and is not later than the tightest of them
        assert schedule.times[task.id].earliest_start == pytest.approx(max(bounds), abs=CLOSE)
    for x in links:
        assert schedule.times[x.successor_id].earliest_start >= start_bound(schedule, x, by_id[x.successor_id].duration) - CLOSE
    assert schedule.finish == max((t.earliest_finish for t in schedule.times.values()), default=0.0)


@given(networks(), st.randoms(use_true_random=False))
def test_the_schedule_does_not_depend_on_the_order_of_tasks_and_links(network, rng):
    tasks, links = network
    shuffled_tasks, shuffled_links = list(tasks), list(links)
    rng.shuffle(shuffled_tasks)
    rng.shuffle(shuffled_links)

    assert compute_schedule(shuffled_tasks, shuffled_links) == compute_schedule(tasks, links)


# Slack and the critical path


@given(networks(), st.data())
def test_delaying_a_task_moves_the_finish_by_exactly_what_its_slack_cannot_absorb(network, data):
    tasks, links = network
    if not tasks:
        return
    schedule = compute_schedule(tasks, links)
    task = data.draw(st.sampled_from(tasks))
    times = schedule.times[task.id]
    delay = data.draw(st.floats(0, 20, allow_subnormal=False) | st.just(times.slack))

    later = compute_schedule(delayed(tasks, task.id, times.earliest_start + delay), links)

    assert later.finish == pytest.approx(schedule.finish + max(0.0, delay - times.slack), abs=CLOSE)
    if times.critical and delay > CLOSE:
        assert later.finish > schedule.finish


@given(networks())
def test_the_critical_path_is_a_chain_of_driving_links_from_a_free_start_to_the_finish(network):
    tasks, links = network
    schedule = compute_schedule(tasks, links)
    path = schedule.critical_path
    if not tasks:
        assert path == [] and schedule.finish == 0.0
        return
    by_id = {t.id: t for t in tasks}
    first = schedule.times[path[0]]

    assert len(set(path)) == len(path)
    assert all(schedule.times[task_id].critical for task_id in path)
    # nothing drives the first task: it starts as early as it is allowed to
    assert first.earliest_start == pytest.approx(max(0.0, by_id[path[0]].not_before), abs=CLOSE)
    for predecessor, successor in zip(path, path[1:]):
        start = schedule.times[successor].earliest_start
        driving = [
            x
            for x in links
            if (x.predecessor_id, x.successor_id) == (predecessor, successor)
            and start_bound(schedule, x, by_id[successor].duration) == pytest.approx(start, abs=CLOSE)
        ]
        assert driving, f"{predecessor} -> {successor} does not drive the start of {successor}"
    # so the chain, with its durations and lags, adds up to the project finish
    assert schedule.times[path[-1]].earliest_finish == schedule.finish


# Cycles


@given(graphs())
def test_a_schedule_is_refused_exactly_when_the_links_form_a_cycle(graph):
    ids, links = graph
    cyclic = any(task_id in targets for task_id, targets in reachable(links).items())
    found = find_cycle(links)

    assert (found is not None) == cyclic
    if found is not None:
        assert is_a_cycle_of(found, links)
        with pytest.raises(DependencyCycle) as raised:
            compute_schedule([ScheduleTask(i, 1.0) for i in ids], links)
        assert is_a_cycle_of(raised.value.cycle, links)
    else:
        assert set(compute_schedule([ScheduleTask(i, 1.0) for i in ids], links).times) == set(ids)


@given(networks(max_tasks=8), st.data())
def test_a_new_link_is_refused_exactly_when_it_closes_a_cycle(network, data):
    tasks, links = network
    if not tasks:
        return
    ids = [t.id for t in tasks]
    adding = ScheduleLink(data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(DependencyType)))
    back = distance(links, adding.successor_id, adding.predecessor_id)

    cycle = find_cycle(links, adding=adding)

    assert (cycle is None) == (back is None)
    if cycle is None:
        # accepted: the schedule with the new link can be computed
        compute_schedule(tasks, [*links, adding])
        return
    # refused, naming the shortest cycle through the new link, which it starts with
    assert cycle[0] == adding.predecessor_id and cycle[1] == adding.successor_id
    assert is_a_cycle_of(cycle, [*links, adding])
    assert len(cycle) == back + 2
    with pytest.raises(DependencyCycle):
        compute_schedule(tasks, [*links, adding])


def test_a_long_random_network_keeps_every_constraint():
    rng = random.Random(20261201)
    ids = rng.sample(range(1, 100_000), 2_000)
    tasks = [ScheduleTask(i, float(rng.randint(0, 5)), float(rng.choice([0, 0, 0, rng.randint(0, 50)]))) for i in ids]
    links = []
    for _ in range(6_000):
        first, second = sorted(rng.sample(range(len(ids)), 2))
        links.append(ScheduleLink(ids[first], ids[second], rng.choice(list(DependencyType)), float(rng.randint(-3, 3))))

    schedule = compute_schedule(tasks, links)

    by_id = {t.id: t for t in tasks}
    assert all(schedule.times[x.successor_id].earliest_start >= start_bound(schedule, x, by_id[x.successor_id].duration) for x in links)
    assert schedule.times[schedule.critical_path[-1]].earliest_finish == schedule.finish
    rng.shuffle(tasks)
    rng.shuffle(links)
    assert compute_schedule(tasks, links) == schedule


async def test_add_dependency_refuses_exactly_the_links_that_close_a_cycle(app, gql, acme, clock, database):
    """The rule as the service applies it, on the links stored so far, for random attempts."""
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "CYC", startDate="2026-03-02")
    ids = [pk((await create_task(gql, token, project["id"], f"Task {n}"))["id"]) for n in range(6)]
    runtime = app.state.runtime
    rng = random.Random(20261201)
    kept: list[ScheduleLink] = []
    refusals = 0
    for _ in range(40):
        predecessor, successor = rng.choice(ids), rng.choice(ids)
        kind = rng.choice(list(DependencyType))
        closes = distance(kept, successor, predecessor) is not None
        taken = any((x.predecessor_id, x.successor_id) == (predecessor, successor) for x in kept)
        async with database.session() as session:
            await begin_write(session)
            task = await session.get_one(m.Task, predecessor)
            unit = Unit(session, system_actor(task.organization_id), clock.now(), runtime.plugins, runtime.settings)
            try:
                await add_dependency(unit, predecessor, successor, kind, float(rng.randint(-2, 2)))
            except UserError as refused:
                codes = [problem.code for problem in refused.problems]
                assert codes == [UserErrorCode.TAKEN if taken else UserErrorCode.CYCLE], (predecessor, successor)
                assert closes or taken, (predecessor, successor)
                refusals += 1
                continue
            await session.commit()
        assert not closes and not taken, (predecessor, successor)
        kept.append(ScheduleLink(predecessor, successor, kind))
    assert len(kept) >= 5 and refusals >= 5  # the attempts both added links and were refused
    assert find_cycle(kept) is None
