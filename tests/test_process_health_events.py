"""A process's health is kept on its row, and each change writes one ``process.health_changed``.

Runs are played through GraphQL at instants set on the frozen ``clock``. Every process
here has one step, so a run is due when its step is: ``durationHours`` after it starts.
A run done an hour after its start is on time; one done three hours after it is late.
Health needs 3 completed runs in the last 90 days; an on-time rate below 80% is AT_RISK,
below 60% OFF_TRACK (see ``mcgraph.domain.process_metrics``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from mcgraph.automation.sweeps import refresh_all_health
from mcgraph.db import models as m
from mcgraph.db.engine import begin_write
from mcgraph.db.models import Role
from mcgraph.domain.permissions import system_actor
from mcgraph.domain.process_health import refresh_process_health
from mcgraph.domain.unit import Unit
from tests.conftest import process_ok
from tests.project_helpers import pk

CHANGED = "process.health_changed"
EVENTS = """query($types: [String!]) { events(types: $types, first: 50) { totalCount nodes {
  type subjectType subjectId occurredAt actor { email } changes { field before after } data } } }"""
HEALTH = """query($id: ID!) { process(id: $id) { health { health reasons { code health message value threshold } } } }"""
STATE = """mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { userErrors { code message } } }"""


def day(month: int, number: int, hour: float = 9) -> datetime:
    return datetime(2026, month, number, tzinfo=UTC) + timedelta(hours=hour)


async def make_process(gql: Any, token: str, key: str, step: dict[str, Any]) -> dict[str, Any]:
    process = (await process_ok(gql, "createProcess", {"key": key, "name": f"Process {key}", "steps": [step]}, token))["process"]
    await process_ok(gql, "publishProcess", {"processId": process["id"]}, token)
    return process


async def start(gql: Any, clock: Any, token: str, key: str, at: datetime) -> dict[str, Any]:
    clock.set(at)
    return (await process_ok(gql, "startProcessRun", {"processKey": key}, token))["run"]


async def run_once(gql: Any, clock: Any, token: str, key: str, at: datetime, done_after_hours: float) -> None:
    """A run started at ``at`` whose one task is done ``done_after_hours`` later (which completes the run)."""
    run = await start(gql, clock, token, key, at)
    clock.set(at + timedelta(hours=done_after_hours))
    body = await gql.data(STATE, {"i": {"taskId": run["steps"][0]["task"]["id"], "state": "done"}}, token=token)
    assert body["setTaskState"]["userErrors"] == []


async def health_events(gql: Any, token: str) -> list[dict[str, Any]]:
    events = (await gql.data(EVENTS, {"types": [CHANGED]}, token=token))["events"]
    assert events["totalCount"] == len(events["nodes"])
    return events["nodes"]


async def stored_health(gql: Any, database: Any, token: str, process_id: str) -> dict[str, Any]:
    """The health stored on the process row, which must be what ``Process.health`` shows (computed afresh)."""
    async with database.session() as session:
        row = await session.get_one(m.Process, pk(process_id))
    stored = {
        "health": row.health.upper(),
        "reasons": [{**reason, "health": reason["health"].upper()} for reason in row.health_reasons],
    }
    shown = (await gql.data(HEALTH, {"id": process_id}, token=token))["process"]["health"]
    assert stored == shown
    return stored


async def test_runs_going_late_write_one_event_with_the_old_and_new_health(gql, acme, clock, database):
    token = acme[Role.MANAGER]
    process = await make_process(gql, token, "QA", {"name": "Check", "durationHours": 2})

    for number in (3, 4, 5):  # three runs on time: ON_TRACK, as the column starts
        await run_once(gql, clock, token, "QA", day(3, number), 1)
    assert await health_events(gql, token) == []
    assert await stored_health(gql, database, token, process["id"]) == {"health": "ON_TRACK", "reasons": []}

    await run_once(gql, clock, token, "QA", day(3, 6), 3)  # late: 3 of 4 on time
    first_reason = {"code": "LOW_ON_TIME_RATE", "health": "at_risk", "message": "on time in 75% of runs (3 of 4)", "value": 0.75, "threshold": 0.8}
    assert await health_events(gql, acme[Role.VIEWER]) == [{
        "type": CHANGED,
        "subjectType": "process",
        "subjectId": process["id"],
        "occurredAt": day(3, 6, 12).isoformat(),
        "actor": {"email": "manager@acme.test"},
        "changes": [{"field": "health", "before": "on_track", "after": "at_risk"}],
        "data": {"reasons": [first_reason]},
    }]
    assert (await stored_health(gql, database, token, process["id"]))["health"] == "AT_RISK"

    # Late again: 3 of 5 on time is still AT_RISK (60% is not below 60%). The stored reasons
    # follow, but the health did not change, so there is no second event.
    await run_once(gql, clock, token, "QA", day(3, 9), 3)
    assert await stored_health(gql, database, token, process["id"]) == {"health": "AT_RISK", "reasons": [
        {"code": "LOW_ON_TIME_RATE", "health": "AT_RISK", "message": "on time in 60% of runs (3 of 5)", "value": 0.6, "threshold": 0.8},
    ]}
    (event,) = await health_events(gql, token)
    assert event["data"] == {"reasons": [first_reason]}


async def test_decisions_refresh_health_and_runs_that_do_not_count_change_nothing(gql, acme, clock, database):
    token = acme[Role.MANAGER]
    process = await make_process(gql, token, "SIGN", {"name": "Sign", "approval": True, "durationHours": 1})

    async def decide(at: datetime, approve: bool, after_hours: float) -> None:
        run = await start(gql, clock, token, "SIGN", at)
        clock.set(at + timedelta(hours=after_hours))
        comment = "" if approve else "Wrong supplier"
        await process_ok(gql, "decideApproval", {"runStepId": run["steps"][0]["id"], "approve": approve, "comment": comment}, token)

    await decide(day(3, 3), True, 2)  # completed late
    await decide(day(3, 4), True, 2)  # completed late: two runs are too few to judge
    cancelled = await start(gql, clock, token, "SIGN", day(3, 5))
    clock.set(day(3, 5, 10))
    await process_ok(gql, "cancelProcessRun", {"runId": cancelled["id"]}, token)  # a cancelled run does not count
    await decide(day(3, 6), False, 0.5)  # rejected in time: the run failed, which does not count either
    assert await health_events(gql, token) == []
    assert (await stored_health(gql, database, token, process["id"]))["health"] == "ON_TRACK"

    await decide(day(3, 9), True, 2)  # the third completed run, late too: no run on time
    stored = await stored_health(gql, database, token, process["id"])
    assert stored == {"health": "OFF_TRACK", "reasons": [
        {"code": "LOW_ON_TIME_RATE", "health": "OFF_TRACK", "message": "on time in 0% of runs (0 of 3)", "value": 0.0, "threshold": 0.6},
        # The rejection was a decision of the step, made in time: 3 of its 4 decisions were late.
        {"code": "STEP_LATE", "health": "AT_RISK", "message": "Sign finished late in 75% of runs", "value": 0.75, "threshold": 0.5},
    ]}
    (event,) = await health_events(gql, token)
    assert (event["occurredAt"], event["changes"]) == (day(3, 9, 11).isoformat(), [{"field": "health", "before": "on_track", "after": "off_track"}])
    assert [r["code"] for r in event["data"]["reasons"]] == ["LOW_ON_TIME_RATE", "STEP_LATE"]


async def _on_time_runs_about_to_leave_the_window(gql: Any, clock: Any, token: str) -> dict[str, Any]:
    """Two runs on time in early March; in April two on time and one late: 4 of 5, ON_TRACK.

    From 1 June 10:00 the March runs are more than 90 days old, which leaves 2 of 3 on time: AT_RISK.
    """
    process = await make_process(gql, token, "AUD", {"name": "Audit", "durationHours": 2})
    for at, hours in [(day(3, 2), 1), (day(3, 3), 1), (day(4, 11), 1), (day(4, 12), 1), (day(4, 13), 3)]:
        await run_once(gql, clock, token, "AUD", at, hours)
    return process


async def test_the_sweep_records_a_change_that_only_time_made(app, gql, acme, clock, database):
    token = acme[Role.MANAGER]
    process = await _on_time_runs_about_to_leave_the_window(gql, clock, token)
    runtime = app.state.runtime
    assert await stored_health(gql, database, token, process["id"]) == {"health": "ON_TRACK", "reasons": []}
    assert await refresh_all_health(runtime) == 0  # nothing to catch up on yet

    clock.set(day(6, 5))
    shown = (await gql.data(HEALTH, {"id": process["id"]}, token=token))["process"]["health"]
    assert shown["health"] == "AT_RISK"  # computed afresh, the API sees it at once...
    async with database.session() as session:
        assert (await session.get_one(m.Process, pk(process["id"]))).health == "on_track"  # ...the row waits for the sweep
    assert await health_events(gql, token) == []

    assert await refresh_all_health(runtime) == 1
    (event,) = await health_events(gql, token)
    assert (event["occurredAt"], event["actor"], event["subjectId"]) == (day(6, 5).isoformat(), None, process["id"])
    assert event["changes"] == [{"field": "health", "before": "on_track", "after": "at_risk"}]
    assert event["data"] == {"reasons": [
        {"code": "LOW_ON_TIME_RATE", "health": "at_risk", "message": "on time in 67% of runs (2 of 3)", "value": 2 / 3, "threshold": 0.8},
    ]}
    assert (await stored_health(gql, database, token, process["id"]))["health"] == "AT_RISK"
    assert await refresh_all_health(runtime) == 0  # a second sweep finds nothing new
    assert len(await health_events(gql, token)) == 1


async def test_of_two_refreshes_that_saw_the_same_old_health_only_the_first_records_it(app, gql, acme, clock, database):
    token = acme[Role.MANAGER]
    process = await _on_time_runs_about_to_leave_the_window(gql, clock, token)
    clock.set(day(6, 5))
    runtime = app.state.runtime

    async with database.session() as late:
        row = await late.get_one(m.Process, pk(process["id"]))
        assert row.health == "on_track"
        await late.commit()  # the row stays loaded as it was (sessions do not expire on commit)

        assert await refresh_all_health(runtime) == 1  # the other one, first: at_risk, recorded

        await begin_write(late)
        unit = Unit(session=late, actor=system_actor(row.organization_id), now=clock.now(), plugins=runtime.plugins, settings=runtime.settings)
        reports = await refresh_process_health(unit, [row.id])
        await late.commit()

    assert reports[row.id].health == "at_risk"
    assert unit.events == []  # its guarded update found the health changed already, so it recorded nothing
    assert len(await health_events(gql, token)) == 1
    async with database.session() as session:
        assert (await session.scalar(select(m.Process.health).where(m.Process.id == row.id))) == "at_risk"
