"""The phase gate, the start rule and the health reasons, as plain functions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from mcgraph.plugins import Health, HealthReason, HealthReport, MilestoneInfo, StateCategory, TaskInfo

from mcgraph_waterfall.dependencies import Predecessor, start_refusals
from mcgraph_waterfall.evm import earned_value
from mcgraph_waterfall.gate import gate_reasons
from mcgraph_waterfall.health import WaterfallSettings, evm_reasons, index_reason, with_reasons

SIGNED = datetime(2026, 3, 5, tzinfo=UTC)


def task(id: int, title: str, milestone: int | None, done: bool = False) -> TaskInfo:
    category = StateCategory.DONE if done else StateCategory.TODO
    return TaskInfo(
        id=id, project_id=1, title=title, state=category.value, category=category, assignee_id=None,
        estimate_hours=None, points=None, due_date=None, completed_at=None, milestone_id=milestone,
    )


def milestone(id: int, name: str, signed: bool) -> MilestoneInfo:
    return MilestoneInfo(id=id, project_id=1, name=name, due_date=None, done=signed, signed_off_at=SIGNED if signed else None)


REQ = milestone(10, "Requirements agreed", signed=False)
TASKS = [task(1, "Interview users", 10), task(2, "Write the spec", 10, done=True), task(3, "Other", None)]


def test_leaving_a_phase_needs_its_tasks_done_and_its_milestone_signed_off():
    reasons = gate_reasons("requirements", "design", TASKS, [REQ], {"requirements": 10})
    assert reasons == [
        "1 task of the Requirements phase not done: 'Interview users'",
        "the Requirements milestone 'Requirements agreed' is not signed off",
    ]


def test_a_finished_phase_lets_the_project_move_on():
    tasks = [task(1, "Interview users", 10, done=True), task(3, "Unrelated", None)]
    signed = milestone(10, "Requirements agreed", signed=True)
    assert gate_reasons("requirements", "design", tasks, [signed], {"requirements": 10}) == []


def test_a_phase_without_a_milestone_cannot_be_left():
    assert gate_reasons("requirements", "design", TASKS, [REQ], {}) == [
        "no milestone closes the Requirements phase: link one with setPhaseMilestone"
    ]


def test_skipping_phases_names_them():
    signed = milestone(10, "Requirements agreed", signed=True)
    done = [task(1, "Interview users", 10, done=True)]
    assert gate_reasons("requirements", "build", done, [signed], {"requirements": 10}) == [
        "the Design phase cannot be skipped: move to design first"
    ]
    assert gate_reasons("requirements", "deploy", done, [signed], {"requirements": 10}) == [
        "the Design, Build and Test phases cannot be skipped: move to design first"
    ]


def test_moving_back_is_rework_and_always_allowed():
    assert gate_reasons("build", "requirements", TASKS, [REQ], {}) == []


def test_many_open_tasks_are_named_up_to_five():
    tasks = [task(i, f"t{i}", 10) for i in range(7)]
    reasons = gate_reasons("requirements", "design", tasks, [milestone(10, "R", True)], {"requirements": 10})
    assert reasons == ["7 tasks of the Requirements phase not done: 't0', 't1', 't2', 't3', 't4' and 2 more"]


def test_closing_needs_the_deploy_phase_finished():
    assert gate_reasons("deploy", "closed", [], [milestone(50, "Live", False)], {"deploy": 50}) == [
        "the Deploy milestone 'Live' is not signed off"
    ]


OPEN = Predecessor(1, "Design the schema", StateCategory.IN_PROGRESS)
DONE = Predecessor(2, "Pick a database", StateCategory.DONE)


def test_starting_a_task_needs_its_fs_predecessors_done():
    assert start_refusals(StateCategory.TODO, StateCategory.IN_PROGRESS, [OPEN, DONE]) == [
        "the finish-to-start predecessor 'Design the schema' is not done"
    ]
    assert start_refusals(StateCategory.TODO, StateCategory.DONE, [OPEN]) != []
    assert start_refusals(StateCategory.BLOCKED, StateCategory.IN_PROGRESS, [OPEN]) != []


def test_other_moves_and_finished_predecessors_are_allowed():
    assert start_refusals(StateCategory.TODO, StateCategory.IN_PROGRESS, [DONE]) == []
    assert start_refusals(StateCategory.IN_PROGRESS, StateCategory.DONE, [OPEN]) == []
    assert start_refusals(StateCategory.TODO, StateCategory.BLOCKED, [OPEN]) == []


def test_an_index_reason_by_threshold():
    assert index_reason("X", 0.95, 0.9, 0.8, "m") is None
    assert index_reason("X", 0.9, 0.9, 0.8, "m") is None
    assert index_reason("X", 0.85, 0.9, 0.8, "m") == HealthReason("X", Health.AT_RISK, "m", 0.85, 0.9)
    assert index_reason("X", 0.5, 0.9, 0.8, "m") == HealthReason("X", Health.OFF_TRACK, "m", 0.5, 0.8)
    assert index_reason("X", None, 0.9, 0.8, "m") is None


def test_evm_reasons_for_a_project_behind_and_over_cost():
    # planned 50%, done 42.5%, spent 500 of 1000: SPI 0.85 (at risk), CPI 0.85 (at risk).
    figures = earned_value(Decimal(1000), 0.5, 0.425, Decimal(500), date(2026, 3, 4))
    reasons = evm_reasons(figures, WaterfallSettings())
    assert [(r.code, r.health, r.value, r.threshold) for r in reasons] == [
        ("WATERFALL_SPI", Health.AT_RISK, 0.85, 0.9),
        ("WATERFALL_CPI", Health.AT_RISK, 0.85, 0.9),
    ]
    assert reasons[1].message == "cost performance index 0.85: earned 425.00 for 500.00 spent"


def test_reasons_join_the_default_report_worst_first():
    late = HealthReason("OVERDUE_TASKS", Health.AT_RISK, "1 overdue task", 1.0, 1.0)
    cpi = HealthReason("WATERFALL_CPI", Health.OFF_TRACK, "m", 0.5, 0.8)
    spi = HealthReason("WATERFALL_SPI", Health.AT_RISK, "m", 0.85, 0.9)
    report = with_reasons(HealthReport(Health.AT_RISK, [late]), [spi, cpi])
    assert report.health is Health.OFF_TRACK
    assert [r.code for r in report.reasons] == ["WATERFALL_CPI", "WATERFALL_SPI", "OVERDUE_TASKS"]
    assert with_reasons(HealthReport(Health.ON_TRACK, []), []).health is Health.ON_TRACK
