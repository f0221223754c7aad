"""The agile rules as plain functions: burndown, scope added, velocity, health reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mcgraph.plugins import Health, HealthReason, HealthReport
from mcgraph_agile.health_rules import (
    AgileSettings,
    SprintFigures,
    agile_reasons,
    combine,
    overcommitment,
    scope_creep,
    shortfall,
)
from mcgraph_agile.sprint_math import (
    Member,
    burndown,
    committed_points,
    completed_points,
    ideal_line,
    scope_added,
    velocity,
)

SETTINGS = AgileSettings()


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


START = at(2, 9)
MEMBERS = [
    Member(1, 5, at(1), completed_at=at(2, 15)),
    Member(2, 3, at(1), completed_at=at(3, 10)),
    Member(3, 8, at(1), completed_at=at(5, 11)),
    Member(4, 4, at(1)),
    Member(5, 3, at(3, 12)),  # added mid-sprint
    Member(6, 2, at(1), removed_at=at(4, 10)),  # taken out on Wednesday
]


def test_burndown_counts_each_task_from_the_day_it_joined_until_the_day_it_was_done_or_left():
    days = burndown(MEMBERS, date(2026, 3, 2), date(2026, 3, 6), committed=22, as_of=date(2026, 3, 5))
    assert [d.day for d in days] == [date(2026, 3, n) for n in range(2, 7)]
    # Mon: 3+8+4+2 (5 done); Tue: 8+4+3+2 (3 done, 3 added); Wed: 8+4+3 (2 removed); Thu: 4+3 (8 done); Fri: to come
    assert [d.remaining for d in days] == [17, 17, 15, 7, None]
    assert [d.ideal for d in days] == [22, 16.5, 11, 5.5, 0]


def test_ideal_line_of_a_one_day_sprint_is_zero_and_of_an_inverted_one_empty():
    assert ideal_line(10, date(2026, 3, 2), date(2026, 3, 2)) == [0.0]
    assert ideal_line(10, date(2026, 3, 3), date(2026, 3, 2)) == []


def test_committed_completed_and_added_scope_count_only_tasks_still_in_the_sprint():
    assert committed_points(MEMBERS) == 5 + 3 + 8 + 4 + 3
    assert completed_points(MEMBERS) == 5 + 3 + 8
    assert scope_added(MEMBERS, START) == 3
    assert scope_added(MEMBERS, None) == 0


def test_velocity_averages_the_last_n_completed_sprints():
    assert velocity([10, 20, 30, 40], last=3).average == 30
    assert velocity([10, 20, 30, 40], last=3).completed == [20, 30, 40]
    assert velocity([16], last=3).average == 16
    assert velocity([], last=3).average is None
    assert velocity([10, 20], last=0).completed == []


@pytest.mark.parametrize(
    ("added", "health", "threshold"),
    [(1, None, None), (2, None, None), (2.5, Health.AT_RISK, 0.10), (5, Health.AT_RISK, 0.10), (5.5, Health.OFF_TRACK, 0.25)],
)
def test_scope_creep_is_at_risk_above_ten_percent_and_off_track_above_a_quarter(added, health, threshold):
    reason = scope_creep(20, added, SETTINGS)
    if health is None:
        assert reason is None
    else:
        assert (reason.code, reason.health, reason.value, reason.threshold) == ("AGILE_SCOPE_CREEP", health, added / 20, threshold)


def test_scope_creep_needs_a_commitment():
    assert scope_creep(0, 5, SETTINGS) is None
    assert scope_creep(None, 5, SETTINGS) is None


def test_overcommitment_compares_with_the_average_of_the_previous_three_sprints():
    assert overcommitment(24, [20, 20, 20], SETTINGS) is None  # exactly 1.2x
    reason = overcommitment(25, [100, 20, 20, 20], SETTINGS)  # the oldest is out of the window
    assert (reason.code, reason.health, reason.value, reason.threshold) == ("AGILE_OVERCOMMITTED", Health.AT_RISK, 1.25, 1.2)
    assert overcommitment(25, [], SETTINGS) is None


def test_shortfall_is_below_eighty_percent_of_the_commitment():
    assert shortfall(20, 16, SETTINGS) is None
    reason = shortfall(20, 15, SETTINGS)
    assert (reason.code, reason.health, reason.value) == ("AGILE_VELOCITY_SHORTFALL", Health.AT_RISK, 0.75)
    assert shortfall(None, 0, SETTINGS) is None


def test_settings_move_the_thresholds():
    strict = AgileSettings(scope_creep_at_risk=0.0, shortfall_ratio=0.9)
    assert scope_creep(20, 1, strict).health is Health.AT_RISK
    assert shortfall(20, 17, strict) is not None


def test_agile_reasons_read_the_active_sprint_and_the_last_completed_one():
    figures = SprintFigures(active_committed=30, active_scope_added=9, completed=[(20, 20), (20, 10)])
    assert [r.code for r in agile_reasons(figures, SETTINGS)] == ["AGILE_SCOPE_CREEP", "AGILE_OVERCOMMITTED", "AGILE_VELOCITY_SHORTFALL"]
    assert agile_reasons(SprintFigures(None, 0, []), SETTINGS) == []


def test_combine_keeps_the_default_reasons_and_lists_the_worst_first():
    late = HealthReason("OVERDUE_TASKS", Health.AT_RISK, "1 overdue task", 1, 1)
    creep = HealthReason("AGILE_SCOPE_CREEP", Health.OFF_TRACK, "scope grew", 0.3, 0.25)
    report = combine([creep], HealthReport(Health.AT_RISK, [late]))
    assert report.health is Health.OFF_TRACK
    assert [r.code for r in report.reasons] == ["AGILE_SCOPE_CREEP", "OVERDUE_TASKS"]
    assert combine([], HealthReport(Health.ON_TRACK, [])).health is Health.ON_TRACK
