"""The flow metrics on a hand-made history of four tasks over four days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mcgraph.plugins import StateCategory

from mcgraph_kanban import flow
from mcgraph_kanban.methodology import STATE_KEYS, category_of


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)  # 2 March 2026 is a Monday


def move(task: int, before: str | None, after: str, when: datetime, seq: int = 0) -> flow.Move:
    category = category_of(after)
    assert category is not None
    return flow.Move(task, before, after, category, when, seq)


MON, TUE, WED, THU = 2, 3, 4, 5

HISTORY = [
    # task 1: the long way, blocked for 18 hours
    move(1, None, "backlog", at(MON, 9)),
    move(1, "backlog", "ready", at(MON, 12)),
    move(1, "ready", "doing", at(TUE, 9)),
    move(1, "doing", "blocked", at(TUE, 15)),
    move(1, "blocked", "doing", at(WED, 9)),
    move(1, "doing", "review", at(WED, 15)),
    move(1, "review", "done", at(THU, 9)),
    # task 2: created ready, done a day after it started
    move(2, None, "ready", at(MON, 10)),
    move(2, "ready", "doing", at(MON, 12)),
    move(2, "doing", "done", at(TUE, 12)),
    # task 3: still blocked
    move(3, None, "backlog", at(TUE, 10)),
    move(3, "backlog", "blocked", at(WED, 10)),
    # task 4: created done
    move(4, None, "done", at(WED, 8)),
]
NOW = at(THU, 10)


def test_lead_time_runs_from_creation_to_done_for_done_tasks():
    assert sorted(flow.lead_times(HISTORY)) == [0.0, 26.0, 72.0]


def test_cycle_time_runs_from_first_start_to_done_and_skips_tasks_never_started():
    assert sorted(flow.cycle_times(HISTORY)) == [24.0, 48.0]


def test_blocked_hours_count_an_open_block_until_now():
    assert flow.blocked_hours(HISTORY, NOW) == 18.0 + 24.0


def test_summary_mean_and_nearest_rank_85th_percentile():
    lead = flow.summarize(flow.lead_times(HISTORY))
    assert lead.count == 3
    assert lead.average == pytest.approx(98 / 3)
    assert lead.p85 == 72.0
    assert flow.summarize([float(n) for n in range(1, 21)]).p85 == 17.0
    assert flow.summarize([]) == flow.Summary(None, None, 0)


def test_throughput_counts_entries_into_done_per_day():
    assert flow.throughput(HISTORY, date(2026, 3, 1), date(2026, 3, THU)) == [
        (date(2026, 3, 1), 0),
        (date(2026, 3, MON), 0),
        (date(2026, 3, TUE), 1),
        (date(2026, 3, WED), 1),
        (date(2026, 3, THU), 1),
    ]


def test_cumulative_flow_counts_each_state_at_the_end_of_each_day():
    days = flow.cumulative_flow(HISTORY, date(2026, 3, MON), date(2026, 3, THU), STATE_KEYS)
    expected = [
        {"ready": 1, "doing": 1},
        {"backlog": 1, "blocked": 1, "done": 1},
        {"review": 1, "blocked": 1, "done": 2},
        {"blocked": 1, "done": 3},
    ]
    assert [day for day, _ in days] == [date(2026, 3, d) for d in (MON, TUE, WED, THU)]
    for (_, counts), nonzero in zip(days, expected, strict=True):
        assert list(counts) == list(STATE_KEYS)
        assert {state: n for state, n in counts.items() if n} == nonzero


def test_moves_at_the_same_instant_follow_their_sequence():
    same = at(MON, 9)
    moves = [move(7, "doing", "done", same, seq=2), move(7, None, "doing", same, seq=1)]
    assert flow.histories(moves)[7][-1].to_state == "done"
    assert flow.lead_times(moves) == [0.0]
    assert flow.histories(moves)[7][0].category is StateCategory.IN_PROGRESS
