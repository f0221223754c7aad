"""WIP limits, the health rules, the reading of task events and the pull rule, as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mcgraph.plugins import EventInfo, Health, HealthReason, HealthReport, StateCategory, TaskInfo

from mcgraph_kanban import health, wip
from mcgraph_kanban.automation import next_to_pull, project_of
from mcgraph_kanban.history import states_of
from mcgraph_kanban.methodology import KanbanSettings


def test_project_limits_override_defaults_and_null_lifts_a_default():
    assert wip.effective_limits({"doing": 3, "review": 2}, {"doing": 5, "review": None, "ready": 4}) == {"doing": 5, "ready": 4}


def test_refusal_names_the_limit_the_state_and_the_count():
    assert wip.refusal("doing", 3, 2) is None
    assert wip.refusal("doing", 3, 3) == "WIP limit of 3 reached in Doing (3 tasks)"
    assert wip.refusal("review", 1, 1) == "WIP limit of 1 reached in Review (1 task)"
    assert wip.refusal("doing", None, 99) is None


def test_check_limit_rejects_unknown_states_and_limits_below_one():
    assert wip.check_limit("doing", 2) is None
    assert wip.check_limit("doing", None) is None
    assert wip.check_limit("testing", 2)[0::2] == ("state", "UNKNOWN_STATE")
    assert wip.check_limit("doing", 0)[0::2] == ("limit", "INVALID")


def test_board_lists_every_state_in_order_and_flags_those_over_their_limit():
    statuses = wip.board({"doing": 2}, wip.count_states(["doing", "doing", "doing", "ready"]))
    assert [s.state for s in statuses] == ["backlog", "ready", "doing", "review", "blocked", "done"]
    assert [(s.state, s.limit, s.count, s.over) for s in statuses if s.count or s.limit] == [
        ("ready", None, 1, False),
        ("doing", 2, 3, True),
    ]


def test_settings_read_default_limits_from_json(monkeypatch):
    monkeypatch.setenv("MCGRAPH_KANBAN_DEFAULT_WIP", '{"doing": 3}')
    assert KanbanSettings().default_wip == {"doing": 3}
    monkeypatch.setenv("MCGRAPH_KANBAN_DEFAULT_WIP", '{"testing": 3}')
    with pytest.raises(ValueError, match="unknown kanban states"):
        KanbanSettings()


def test_wip_exceeded_gives_one_at_risk_reason_per_state_over_its_limit():
    statuses = wip.board({"doing": 2, "review": 1}, {"doing": 3, "review": 1})
    assert health.wip_exceeded(statuses) == [
        HealthReason("KANBAN_WIP_EXCEEDED", Health.AT_RISK, "3 tasks in Doing, over its WIP limit of 2", 3.0, 2.0)
    ]


def test_blocked_is_at_risk_only_beyond_a_quarter_of_open_tasks():
    B, T, D = StateCategory.BLOCKED, StateCategory.TODO, StateCategory.DONE
    assert health.too_many_blocked([B, T, T, T, D, D]) is None  # exactly 25%
    reason = health.too_many_blocked([B, B, T, T, T, D])
    assert reason is not None
    assert (reason.code, reason.health, reason.value, reason.threshold) == ("KANBAN_BLOCKED", Health.AT_RISK, 0.4, 0.25)
    assert reason.message == "2 of 5 open tasks are blocked (40%)"
    assert health.too_many_blocked([D, D]) is None


def test_combine_keeps_the_default_reasons_and_the_worst_health():
    late = HealthReason("PAST_TARGET_END", Health.OFF_TRACK, "late", 3.0, 0.0)
    mine = HealthReason("KANBAN_BLOCKED", Health.AT_RISK, "blocked", 0.5, 0.25)
    assert health.combine([mine], HealthReport(Health.OFF_TRACK, [late])) == HealthReport(Health.OFF_TRACK, [late, mine])
    assert health.combine([mine], HealthReport(Health.ON_TRACK, [])) == HealthReport(Health.AT_RISK, [mine])
    assert health.combine([], HealthReport(Health.ON_TRACK, [])) == HealthReport(Health.ON_TRACK, [])


def event(type: str, data: dict) -> EventInfo:
    return EventInfo(1, type, 1, "task", 9, 5, None, datetime(2026, 3, 2, tzinfo=UTC), data)


def test_task_events_give_the_states_moved_between():
    assert states_of(event("task.created", {"state": "ready"})) == (None, "ready")
    assert states_of(event("task.state_changed", {"changes": {"state": ["ready", "doing"]}})) == ("ready", "doing")
    assert states_of(event("task.state_changed", {"changes": {"completed_at": [None, "x"]}})) is None
    assert states_of(event("task.updated", {"changes": {"state": ["a", "b"]}})) is None


def task(id: int, state: str, day: int) -> TaskInfo:
    category = StateCategory.IN_PROGRESS if state == "doing" else StateCategory.TODO
    return TaskInfo(id, 5, f"t{id}", state, category, None, None, None, None, None, None, created_at=datetime(2026, 3, day, tzinfo=UTC))


def test_pull_takes_the_oldest_ready_task_while_doing_has_room():
    tasks = [task(1, "ready", 4), task(2, "ready", 3), task(3, "doing", 1), task(4, "backlog", 1)]
    assert next_to_pull(tasks, None)[0].id == 2
    assert next_to_pull(tasks, 2)[0].id == 2
    assert next_to_pull(tasks, 1) == (None, "WIP limit of 1 reached in Doing (1 task)")
    assert next_to_pull([task(3, "doing", 1)], None) == (None, "no task is ready")


def test_pull_works_on_the_given_project_else_the_events():
    assert project_of({"projectId": "7"}, {"event": {"project_id": 5}}) == 7
    assert project_of({}, {"event": {"project_id": 5}}) == 5
    assert project_of({}, {"event": {}, "project": {"id": 6}}) == 6
