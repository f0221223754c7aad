from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcgraph.db.models.enums import DependencyType
from mcgraph.domain.schedule import (
    DependencyCycle,
    Schedule,
    ScheduleLink,
    ScheduleTask,
    compute_schedule,
    find_cycle,
    schedule_finish,
)

FS, SS, FF, SF = DependencyType.FS, DependencyType.SS, DependencyType.FF, DependencyType.SF
TOLERANCE = 1e-9


def times_of(schedule: Schedule, task_id: int) -> tuple[float, float, float, float, float]:
    """(ES, EF, LS, LF, slack) of one task."""
    t = schedule.times[task_id]
    return (t.earliest_start, t.earliest_finish, t.latest_start, t.latest_finish, t.slack)


def link(predecessor: int, successor: int, type: DependencyType = FS, lag: float = 0.0) -> ScheduleLink:
    return ScheduleLink(predecessor, successor, type, lag)


def test_hand_computed_finish_to_start_network():
    # A(3d) -> B(2d) FS; A -> C(4d) FS lag 1; B -> D(1d) FS; C -> D FS.
    #
    # Forward:  A: ES 0, EF 3
    #           B: ES = EF(A) = 3, EF 5
    #           C: ES = EF(A) + 1 = 4, EF 8
    #           D: ES = max(EF(B), EF(C)) = 8, EF 9      -> finish 9
    # Backward: D: LF 9, LS 8
    #           C: LF = LS(D) = 8, LS 4
    #           B: LF = LS(D) = 8, LS 6
    #           A: LF = min(LS(B), LS(C) - 1) = min(6, 3) = 3, LS 0
    # Slack:    A 0, B 3, C 0, D 0                       -> critical path A, C, D
    a, b, c, d = 1, 2, 3, 4
    tasks = [ScheduleTask(a, 3), ScheduleTask(b, 2), ScheduleTask(c, 4), ScheduleTask(d, 1)]
    links = [link(a, b), link(a, c, lag=1), link(b, d), link(c, d)]

    schedule = compute_schedule(tasks, links)

    assert times_of(schedule, a) == (0, 3, 0, 3, 0)
    assert times_of(schedule, b) == (3, 5, 6, 8, 3)
    assert times_of(schedule, c) == (4, 8, 4, 8, 0)
    assert times_of(schedule, d) == (8, 9, 8, 9, 0)
    assert [t.id for t in schedule.times.values() if t.critical] == [a, c, d]
    assert schedule.finish == 9
    assert schedule.critical_path == [a, c, d]


def test_start_to_start_with_lag():
    # P(4) -> S(3) SS lag 2: ES(S) = ES(P) + 2 = 2, EF 5; finish 5.
    # LS(P) <= LS(S) - 2 = 0, so LF(P) = 4.
    schedule = compute_schedule([ScheduleTask(1, 4), ScheduleTask(2, 3)], [link(1, 2, SS, 2)])
    assert times_of(schedule, 1) == (0, 4, 0, 4, 0)
    assert times_of(schedule, 2) == (2, 5, 2, 5, 0)
    assert schedule.critical_path == [1, 2]


def test_start_to_start_with_negative_lag():
    # P(4) not before 3 -> S(2) SS lag -1: ES(S) = 3 - 1 = 2, EF 4; finish EF(P) = 7.
    # S: LF 7, LS 5, slack 3. P: LF = min(7, LS(S) + 1 + 4 = 10) = 7, slack 0.
    schedule = compute_schedule([ScheduleTask(1, 4, not_before=3), ScheduleTask(2, 2)], [link(1, 2, SS, -1)])
    assert times_of(schedule, 1) == (3, 7, 3, 7, 0)
    assert times_of(schedule, 2) == (2, 4, 5, 7, 3)
    assert schedule.critical_path == [1]


def test_finish_to_finish_with_lag():
    # P(5) -> S(2) FF lag 1: EF(S) = EF(P) + 1 = 6, ES 4; finish 6.
    # LF(P) <= LF(S) - 1 = 5.
    schedule = compute_schedule([ScheduleTask(1, 5), ScheduleTask(2, 2)], [link(1, 2, FF, 1)])
    assert times_of(schedule, 1) == (0, 5, 0, 5, 0)
    assert times_of(schedule, 2) == (4, 6, 4, 6, 0)
    assert schedule.critical_path == [1, 2]


def test_finish_to_finish_with_negative_lag_never_starts_before_zero():
    # P(5) -> S(8) FF lag -2: ES(S) >= 5 - 2 - 8 = -5, so 0; EF 8 = finish.
    # LF(P) = min(8, LF(S) + 2 = 10) = 8, LS 3, slack 3.
    schedule = compute_schedule([ScheduleTask(1, 5), ScheduleTask(2, 8)], [link(1, 2, FF, -2)])
    assert times_of(schedule, 1) == (0, 5, 3, 8, 3)
    assert times_of(schedule, 2) == (0, 8, 0, 8, 0)
    assert schedule.critical_path == [2]


def test_start_to_finish_with_lag():
    # P(3) -> S(4) SF lag 6: EF(S) = ES(P) + 6 = 6, ES 2; finish 6.
    # LS(P) <= LF(S) - 6 = 0, so LF(P) = 3.
    schedule = compute_schedule([ScheduleTask(1, 3), ScheduleTask(2, 4)], [link(1, 2, SF, 6)])
    assert times_of(schedule, 1) == (0, 3, 0, 3, 0)
    assert times_of(schedule, 2) == (2, 6, 2, 6, 0)
    assert schedule.critical_path == [1, 2]


def test_start_to_finish_with_negative_lag():
    # P(2) not before 5 -> S(1) SF lag -3: EF(S) >= 5 - 3 = 2, ES 1; finish EF(P) = 7.
    # S: LF 7, LS 6, slack 5. P: LS(P) <= LF(S) + 3 = 10, so LF(P) = min(7, 12) = 7.
    schedule = compute_schedule([ScheduleTask(1, 2, not_before=5), ScheduleTask(2, 1)], [link(1, 2, SF, -3)])
    assert times_of(schedule, 1) == (5, 7, 5, 7, 0)
    assert times_of(schedule, 2) == (1, 2, 6, 7, 5)
    assert schedule.critical_path == [1]


def test_finish_to_start_lead_drives_the_successor():
    # A(5) -> B(3) FS lag -2: ES(B) = 5 - 2 = 3, EF 6; LF(A) = LS(B) + 2 = 5.
    schedule = compute_schedule([ScheduleTask(1, 5), ScheduleTask(2, 3)], [link(1, 2, FS, -2)])
    assert times_of(schedule, 1) == (0, 5, 0, 5, 0)
    assert times_of(schedule, 2) == (3, 6, 3, 6, 0)
    assert schedule.critical_path == [1, 2]


def test_not_before_delays_a_task_and_cuts_the_driving_chain():
    # A(2) -> B(1) FS, B not before 5: ES(B) = max(EF(A) = 2, 5) = 5, EF 6.
    # A: LF = LS(B) = 5, slack 3. The link does not drive B, so the path is B alone.
    schedule = compute_schedule([ScheduleTask(1, 2), ScheduleTask(2, 1, not_before=5)], [link(1, 2)])
    assert times_of(schedule, 1) == (0, 2, 3, 5, 3)
    assert times_of(schedule, 2) == (5, 6, 5, 6, 0)
    assert schedule.critical_path == [2]


def test_negative_not_before_starts_at_zero():
    schedule = compute_schedule([ScheduleTask(1, 2, not_before=-4)], [])
    assert times_of(schedule, 1) == (0, 2, 0, 2, 0)


def test_tasks_without_links():
    schedule = compute_schedule([ScheduleTask(7, 3), ScheduleTask(9, 5), ScheduleTask(8, 5)], [])
    assert schedule.finish == 5
    assert times_of(schedule, 7) == (0, 3, 2, 5, 2)
    assert [t.id for t in schedule.times.values() if t.critical] == [9, 8]
    assert schedule.critical_path == [8]  # the smallest id of the tasks that finish last


def test_no_tasks():
    schedule = compute_schedule([], [link(1, 2)])
    assert schedule == Schedule(times={}, finish=0.0, critical_path=[])


def test_links_to_unknown_tasks_are_ignored():
    schedule = compute_schedule([ScheduleTask(1, 2), ScheduleTask(2, 3)], [link(1, 99, lag=50), link(99, 2), link(99, 99)])
    assert schedule.finish == 3
    assert times_of(schedule, 1) == (0, 2, 1, 3, 1)


def test_critical_path_prefers_the_smallest_driving_predecessor():
    # 5(2) and 3(2) both drive 9(1) FS; 1(1) drives nothing tight.
    tasks = [ScheduleTask(5, 2), ScheduleTask(3, 2), ScheduleTask(1, 1), ScheduleTask(9, 1)]
    schedule = compute_schedule(tasks, [link(5, 9), link(3, 9), link(1, 9)])
    assert schedule.critical_path == [3, 9]
    assert not schedule.times[1].critical


def test_zero_duration_milestone_is_on_the_path():
    tasks = [ScheduleTask(1, 4), ScheduleTask(2, 0), ScheduleTask(3, 2)]
    schedule = compute_schedule(tasks, [link(1, 2), link(2, 3)])
    assert times_of(schedule, 2) == (4, 4, 4, 4, 0)
    assert schedule.critical_path == [1, 2, 3]


def test_negative_duration_is_refused():
    with pytest.raises(ValueError, match="task 4 has a negative duration"):
        ScheduleTask(4, -1)


# Cycles


def assert_is_cycle(cycle: list[int] | None, links: list[ScheduleLink], members: set[int]) -> None:
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert set(cycle) == members
    assert len(cycle) == len(members) + 1
    pairs = {(x.predecessor_id, x.successor_id) for x in links}
    assert all((p, s) in pairs for p, s in zip(cycle, cycle[1:]))


def test_two_cycle():
    links = [link(1, 2), link(2, 1)]
    assert find_cycle(links) == [1, 2, 1]


def test_three_cycle_beside_other_links():
    links = [link(1, 3), link(3, 5, SS), link(5, 7, FF), link(7, 3, SF), link(7, 8)]
    cycle = find_cycle(links)
    assert_is_cycle(cycle, links, {3, 5, 7})
    assert cycle == [3, 5, 7, 3]


def test_self_link_is_a_cycle():
    assert find_cycle([link(1, 2), link(4, 4)]) == [4, 4]


def test_diamond_has_no_cycle():
    diamond = [link(1, 2), link(1, 3), link(2, 4), link(3, 4)]
    assert find_cycle(diamond) is None
    assert find_cycle(diamond, adding=link(1, 4)) is None


def test_adding_a_link_that_closes_a_cycle():
    diamond = [link(1, 2), link(1, 3), link(2, 4), link(3, 4)]
    assert find_cycle(diamond, adding=link(4, 1)) == [4, 1, 2, 4]
    assert find_cycle([link(1, 2), link(2, 3)], adding=link(3, 1)) == [3, 1, 2, 3]
    assert find_cycle([], adding=link(6, 6)) == [6, 6]


def test_adding_only_reports_a_cycle_through_the_added_link():
    links = [link(1, 2), link(2, 1), link(3, 4)]
    assert find_cycle(links, adding=link(4, 5)) is None
    assert find_cycle(links, adding=link(4, 3)) == [4, 3, 4]


def test_compute_schedule_raises_the_cycle():
    tasks = [ScheduleTask(i, 1) for i in (1, 3, 5, 7)]
    with pytest.raises(DependencyCycle, match=r"cycle: 3 -> 5 -> 7 -> 3") as raised:
        compute_schedule(tasks, [link(1, 3), link(3, 5), link(5, 7), link(7, 3, FF)])
    assert raised.value.cycle == [3, 5, 7, 3]
    assert isinstance(raised.value, ValueError)


def test_compute_schedule_raises_on_a_self_link():
    with pytest.raises(DependencyCycle) as raised:
        compute_schedule([ScheduleTask(1, 1)], [link(1, 1, SS)])
    assert raised.value.cycle == [1, 1]


# Size


def test_ten_thousand_task_chain_with_extra_forward_links():
    count = 10_000
    rng = random.Random(20260302)
    tasks = [ScheduleTask(i, 1.0) for i in range(count)]
    chain = [link(i, i + 1) for i in range(count - 1)]
    extra = []
    for _ in range(10_000):
        p, s = sorted(rng.sample(range(count), 2))
        extra.append(link(p, s))

    schedule = compute_schedule(tasks, chain + extra)

    assert schedule.finish == count
    assert all(t.critical for t in schedule.times.values())
    assert schedule.critical_path == list(range(count))
    assert find_cycle(chain + extra) is None
    closing = link(count - 1, 0)
    assert find_cycle(chain + extra + [closing]) is not None
    assert find_cycle(chain, adding=closing) == [count - 1, *range(count)]


# Properties on random graphs whose links run from lower to higher ids


@st.composite
def networks(draw: st.DrawFn) -> tuple[list[ScheduleTask], list[ScheduleLink]]:
    count = draw(st.integers(0, 15))
    tasks = [ScheduleTask(i, draw(st.floats(0, 30)), draw(st.floats(-5, 40))) for i in range(count)]
    links = []
    if count >= 2:
        for _ in range(draw(st.integers(0, 3 * count))):
            p, s = sorted(draw(st.lists(st.integers(0, count - 1), min_size=2, max_size=2, unique=True)))
            links.append(link(p, s, draw(st.sampled_from(DependencyType)), draw(st.floats(-10, 10))))
    return tasks, links


def earliest_start_bound(schedule: Schedule, x: ScheduleLink, duration: float) -> float:
    p = schedule.times[x.predecessor_id]
    return {
        FS: p.earliest_finish + x.lag,
        SS: p.earliest_start + x.lag,
        FF: p.earliest_finish + x.lag - duration,
        SF: p.earliest_start + x.lag - duration,
    }[x.type]


def backward_constraint_holds(schedule: Schedule, x: ScheduleLink) -> bool:
    p, s = schedule.times[x.predecessor_id], schedule.times[x.successor_id]
    later, sooner = {
        FS: (p.latest_finish, s.latest_start),
        SS: (p.latest_start, s.latest_start),
        FF: (p.latest_finish, s.latest_finish),
        SF: (p.latest_start, s.latest_finish),
    }[x.type]
    return later <= sooner - x.lag + TOLERANCE


@settings(database=None)
@given(networks())
def test_both_passes_meet_every_constraint(network):
    tasks, links = network
    schedule = compute_schedule(tasks, links)
    by_id = {t.id: t for t in tasks}
    for task in tasks:
        times = schedule.times[task.id]
        assert times.earliest_start >= max(0.0, task.not_before)
        assert times.earliest_finish == pytest.approx(times.earliest_start + task.duration, abs=TOLERANCE)
        assert times.latest_finish <= schedule.finish + TOLERANCE
        assert times.slack >= -TOLERANCE
    for x in links:
        bound = earliest_start_bound(schedule, x, by_id[x.successor_id].duration)
        assert schedule.times[x.successor_id].earliest_start >= bound - TOLERANCE
        assert backward_constraint_holds(schedule, x)


@settings(database=None)
@given(networks())
def test_critical_path_runs_from_a_free_start_to_the_finish(network):
    tasks, links = network
    schedule = compute_schedule(tasks, links)
    if not tasks:
        assert schedule.critical_path == []
        return
    assert any(t.critical for t in schedule.times.values())
    path = schedule.critical_path
    first, last = schedule.times[path[0]], schedule.times[path[-1]]
    not_before = {t.id: t.not_before for t in tasks}
    assert first.earliest_start == pytest.approx(max(0.0, not_before[first.id]), abs=TOLERANCE)
    assert last.earliest_finish == schedule.finish
    assert all(schedule.times[task_id].critical for task_id in path)
    pairs = {(x.predecessor_id, x.successor_id) for x in links}
    assert all((p, s) in pairs for p, s in zip(path, path[1:]))


@settings(database=None)
@given(networks())
def test_the_forecasts_finish_is_the_full_schedules(network):
    tasks, links = network
    assert schedule_finish(tasks, links) == compute_schedule(tasks, links).finish


def test_the_forecasts_finish_raises_the_cycle():
    with pytest.raises(DependencyCycle):
        schedule_finish([ScheduleTask(1, 1.0), ScheduleTask(2, 1.0)], [link(1, 2), link(2, 1)])
