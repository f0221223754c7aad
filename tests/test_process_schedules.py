"""Scheduled processes: "every Monday at 08:00 in Berlin" starts one run per slot.

The scheduler is the sweep ``start_scheduled_runs``, called here by hand while the
``clock`` moves. The fixtures' clock starts on Monday 2026-03-02 at 09:00 UTC, an hour
after that day's 08:00 in Berlin (07:00 UTC). Berlin moves to summer time on 2026-03-29
(08:00 is then 06:00 UTC) and back on 2026-10-25.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from mcgraph.automation.sweeps import start_scheduled_runs
from mcgraph.db import models as m
from mcgraph.db.models import Role
from mcgraph.runtime import Runtime
from tests.conftest import process_mutation, process_ok

WEEKLY = {"scheduleCron": "0 8 * * MON", "scheduleTimezone": "Europe/Berlin"}
PROCESS = """query($key: String!, $count: Int!) { process(key: $key) {
  schedule { cron timezone missedSlots description lastSlotAt nextRuns(count: $count) }
  runs(first: 20) { totalCount nodes { number name trigger scheduleSlot startedAt startedBy { email } processVersion { number }
    tasks { title assignee { email } } } } } }"""


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def scheduled(gql: Any, token: str, key: str = "MAINT", *, publish: bool = True, **fields: Any) -> dict[str, Any]:
    process = (await process_ok(gql, "createProcess", {
        "key": key, "name": "Weekly equipment maintenance", "runNameTemplate": "Maintenance {{date}}",
        "steps": [{"name": "Inspect the machines", "durationHours": 2}, {"name": "Log the maintenance", "durationHours": 1}],
        **WEEKLY, **fields,
    }, token))["process"]
    if publish:
        await process_ok(gql, "publishProcess", {"processId": process["id"]}, token)
    return process


async def state(gql: Any, token: str, key: str = "MAINT", count: int = 3) -> dict[str, Any]:
    return (await gql.data(PROCESS, {"key": key, "count": count}, token=token))["process"]


def slots(process: dict[str, Any]) -> list[str]:
    """The runs' slots, oldest first."""
    return [run["scheduleSlot"] for run in reversed(process["runs"]["nodes"])]


async def sweep_at(app: Any, clock: Any, moment: datetime) -> int:
    clock.set(moment)
    return await start_scheduled_runs(app.state.runtime)


async def test_each_slot_starts_exactly_one_run(app, gql, acme, clock):
    token = acme[Role.MANAGER]
    await scheduled(gql, token)

    # This Monday's 08:00 passed before the process existed: nothing to start.
    assert await start_scheduled_runs(app.state.runtime) == 0
    assert await sweep_at(app, clock, utc(3, 9, 6, 59)) == 0
    assert await sweep_at(app, clock, utc(3, 9, 7, 0)) == 1
    assert await start_scheduled_runs(app.state.runtime) == 0  # the same moment again
    assert await sweep_at(app, clock, utc(3, 9, 7, 1)) == 0
    assert await sweep_at(app, clock, utc(3, 13, 12)) == 0  # the rest of the week

    process = await state(gql, token)
    (run,) = process["runs"]["nodes"]
    assert run == {
        "number": 1, "name": "Maintenance 2026-03-09", "trigger": "SCHEDULE", "scheduleSlot": "2026-03-09T07:00:00+00:00",
        "startedAt": "2026-03-09T07:00:00+00:00", "startedBy": None, "processVersion": {"number": 1},
        "tasks": [{"title": "Inspect the machines", "assignee": {"email": "manager@acme.test"}},
                  {"title": "Log the maintenance", "assignee": {"email": "manager@acme.test"}}],
    }
    assert process["schedule"]["lastSlotAt"] == "2026-03-09T07:00:00+00:00"

    # Weekly across the change to summer time: 08:00 in Berlin is 07:00 UTC, then 06:00 UTC from 2026-03-29.
    assert await sweep_at(app, clock, utc(3, 16, 7, 0)) == 1
    assert await sweep_at(app, clock, utc(3, 23, 7, 3)) == 1  # a sweep a few minutes late still starts the slot
    assert await sweep_at(app, clock, utc(3, 30, 5, 59)) == 0
    assert await sweep_at(app, clock, utc(3, 30, 6, 0)) == 1
    assert await sweep_at(app, clock, utc(3, 30, 7, 0)) == 0  # winter's 07:00 UTC is no slot any more
    process = await state(gql, token)
    assert slots(process) == [
        "2026-03-09T07:00:00+00:00", "2026-03-16T07:00:00+00:00", "2026-03-23T07:00:00+00:00", "2026-03-30T06:00:00+00:00",
    ]
    assert [run["startedAt"] for run in process["runs"]["nodes"]][1] == "2026-03-23T07:03:00+00:00"
    assert [run["number"] for run in process["runs"]["nodes"]] == [4, 3, 2, 1]


async def test_two_schedulers_at_once_start_one_run(app, gql, acme, clock, settings):
    await scheduled(gql, acme[Role.MANAGER])
    clock.set(utc(3, 9, 7, 0))
    others = [Runtime.from_settings(settings, clock=clock) for _ in range(3)]
    try:
        started = await asyncio.gather(*(start_scheduled_runs(runtime) for runtime in [app.state.runtime, *others]))
    finally:
        for runtime in others:
            await runtime.close()

    assert sum(started) == 1
    assert slots(await state(gql, acme[Role.MANAGER])) == ["2026-03-09T07:00:00+00:00"]


@pytest.mark.parametrize(("policy", "after_downtime"), [("run_once", ["2026-03-30T06:00:00+00:00"]), ("skip", [])])
async def test_missed_slots_after_three_weeks_down(app, gql, acme, clock, policy, after_downtime):
    token = acme[Role.MANAGER]
    await scheduled(gql, token, missedSlots=policy)
    assert await sweep_at(app, clock, utc(3, 9, 7, 0)) == 1

    # Down from just after that run until Monday 2026-03-30 09:00: the slots of 03-16, 03-23 and 03-30 passed.
    assert await sweep_at(app, clock, utc(3, 30, 9, 0)) == len(after_downtime)
    assert await start_scheduled_runs(app.state.runtime) == 0
    assert await sweep_at(app, clock, utc(3, 30, 10, 0)) == 0
    assert slots(await state(gql, token)) == ["2026-03-09T07:00:00+00:00", *after_downtime]

    # Either way the schedule goes on from the next slot.
    assert await sweep_at(app, clock, utc(4, 6, 6, 0)) == 1
    process = await state(gql, token)
    assert slots(process) == ["2026-03-09T07:00:00+00:00", *after_downtime, "2026-04-06T06:00:00+00:00"]
    assert process["schedule"]["missedSlots"] == policy


async def test_skip_still_starts_a_slot_missed_by_a_few_minutes(app, gql, acme, clock):
    token = acme[Role.MANAGER]
    await scheduled(gql, token, missedSlots="skip")

    assert await sweep_at(app, clock, utc(3, 9, 7, 4)) == 1
    assert await sweep_at(app, clock, utc(3, 16, 7, 6)) == 0  # more than five minutes late: skipped

    assert slots(await state(gql, token)) == ["2026-03-09T07:00:00+00:00"]


async def test_next_runs_in_utc_across_daylight_saving_changes(gql, acme, clock):
    token = acme[Role.MANAGER]
    await scheduled(gql, token)

    schedule = (await state(gql, token))["schedule"]
    # Slots are counted from the moment of publication: none is owed for the time before.
    assert (schedule["cron"], schedule["timezone"], schedule["missedSlots"], schedule["lastSlotAt"]) == (
        "0 8 * * MON", "Europe/Berlin", "run_once", "2026-03-02T09:00:00+00:00")
    assert "Europe/Berlin" in schedule["description"] and "08:00" in schedule["description"]
    assert schedule["nextRuns"] == ["2026-03-09T07:00:00+00:00", "2026-03-16T07:00:00+00:00", "2026-03-23T07:00:00+00:00"]

    clock.set(utc(3, 16, 9))
    assert (await state(gql, token))["schedule"]["nextRuns"] == [
        "2026-03-23T07:00:00+00:00", "2026-03-30T06:00:00+00:00", "2026-04-06T06:00:00+00:00",
    ]
    clock.set(utc(3, 23, 7, 0))  # a slot that is now is no longer next
    assert (await state(gql, token, count=1))["schedule"]["nextRuns"] == ["2026-03-30T06:00:00+00:00"]
    clock.set(utc(10, 13, 9))  # and back to winter time on 2026-10-25
    assert (await state(gql, token))["schedule"]["nextRuns"] == [
        "2026-10-19T06:00:00+00:00", "2026-10-26T07:00:00+00:00", "2026-11-02T07:00:00+00:00",
    ]


async def test_only_published_schedules_start_runs(app, gql, acme, clock, database):
    token = acme[Role.MANAGER]
    await scheduled(gql, token, "DRAFT", publish=False)
    retired = await scheduled(gql, token, "OLD")
    await process_ok(gql, "retireProcess", {"processId": retired["id"]}, token)
    await scheduled(gql, token, "NOSLOT", **{"scheduleCron": None})

    assert await sweep_at(app, clock, utc(3, 9, 7, 0)) == 0
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(m.ProcessRun)) == 0


async def test_a_bad_schedule_is_refused(gql, acme):
    token = acme[Role.MANAGER]
    for fields, field in [
        ({"scheduleCron": "0 8 * * MONDAY"}, "scheduleCron"),
        ({"scheduleCron": "0 8 * *"}, "scheduleCron"),
        ({"missedSlots": "run_all"}, "missedSlots"),
    ]:
        payload = await process_mutation(gql, "createProcess", {"key": "MAINT", "name": "Maintenance", "steps": [{"name": "Inspect"}],
                                                                **WEEKLY, **fields}, token)
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [([field], "INVALID")], fields
        assert payload["process"] is None
    assert (await gql.data("{ processes(first: 5) { totalCount } }", token=token))["processes"]["totalCount"] == 0


async def test_an_unknown_time_zone_is_refused_on_its_field(gql, acme):
    payload = await process_mutation(gql, "createProcess", {"key": "MAINT", "name": "Maintenance", "steps": [{"name": "Inspect"}],
                                                            **WEEKLY, "scheduleTimezone": "Europe/Atlantis"}, acme[Role.MANAGER])

    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["scheduleTimezone"], "INVALID")]
    assert "Europe/Atlantis" in payload["userErrors"][0]["message"]


async def test_a_changed_schedule_starts_no_run_for_a_slot_before_the_change(app, gql, acme, clock):
    token = acme[Role.MANAGER]
    process = await scheduled(gql, token)
    clock.set(utc(3, 4, 9))  # Wednesday: change to Tuesdays; Tuesday 03-03 08:00 passed under the Monday schedule
    await process_ok(gql, "updateProcess", {"processId": process["id"], "scheduleCron": "0 8 * * TUE"}, token)

    assert await start_scheduled_runs(app.state.runtime) == 0
    assert await sweep_at(app, clock, utc(3, 10, 7, 0)) == 1


async def test_a_process_published_after_a_slot_starts_no_run_for_it(app, gql, acme, clock):
    token = acme[Role.MANAGER]
    process = await scheduled(gql, token, publish=False)
    clock.set(utc(3, 10, 9))  # Tuesday, the day after the 03-09 slot
    await process_ok(gql, "publishProcess", {"processId": process["id"]}, token)

    assert await start_scheduled_runs(app.state.runtime) == 0


async def test_a_process_that_cannot_start_does_not_stop_the_other_schedules(app, gql, acme, globex, clock):
    token = acme[Role.MANAGER]
    await scheduled(gql, token, "AAA", payloadSchema={"type": "object", "required": ["machine"]})
    await scheduled(gql, token, "MAINT")
    await scheduled(gql, globex[Role.MANAGER], "MAINT")

    assert await sweep_at(app, clock, utc(3, 9, 7, 0)) == 2
    assert slots(await state(gql, token)) == ["2026-03-09T07:00:00+00:00"]
    assert slots(await state(gql, globex[Role.MANAGER])) == ["2026-03-09T07:00:00+00:00"]
