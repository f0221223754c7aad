"""Triggers time pulls: tasks that became overdue, scheduled rules, and one leading scheduler."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from mcgraph.automation import scheduler
from mcgraph.automation.sweeps import fire_timed_triggers
from mcgraph.db import models as m
from mcgraph.db.models import Role
from mcgraph.runtime import Runtime
from tests.project_helpers import create_project, create_task, succeed
from tests.test_automations import agql, auto_app, create_rule, settled  # noqa: F401 - fixtures

OVERDUE_RULE = {
    "name": "Chase late work",
    "trigger": {"kind": "TASK_OVERDUE"},
    "actions": [{"type": "ADD_COMMENT", "params": {"body": "{{ task.title }} is {{ event.data.days_late }} days late"}}],
}


async def events_of(database, event_type: str) -> list[m.Event]:
    async with database.session() as session:
        return list(await session.scalars(select(m.Event).where(m.Event.type == event_type).order_by(m.Event.id)))


async def test_a_task_that_passes_its_due_date_is_noted_once_and_triggers_rules(agql, auto_app, acme, clock, database):
    manager = acme[Role.MANAGER]
    runtime = auto_app.state.runtime
    project = await create_project(agql, manager, "WEB")
    late = await create_task(agql, manager, project["id"], "Write copy", dueDate="2026-03-05")
    done = await create_task(agql, manager, project["id"], "Finished", dueDate="2026-03-04")
    await succeed(agql, "setTaskState", {"taskId": done["id"], "state": "done"}, manager)
    await create_rule(agql, manager, **OVERDUE_RULE)

    assert await fire_timed_triggers(runtime) == 0  # 2 March: nothing is late yet
    clock.advance(timedelta(days=5))  # 7 March
    assert await fire_timed_triggers(runtime) == 1
    assert await fire_timed_triggers(runtime) == 0  # once per due date
    (noted,) = await events_of(database, "task.overdue")
    assert (noted.data["days_late"], noted.data["due_date"]) == (2, "2026-03-05")

    (run,) = await settled(agql, manager, 1)
    assert run["state"] == "SUCCEEDED"
    data = await agql.data("query($id: ID!) { node(id: $id) { ... on Task { comments { nodes { body } } } } }", {"id": late["id"]}, token=manager)
    assert data["node"]["comments"]["nodes"] == [{"body": "Write copy is 2 days late"}]

    # a new due date may pass again
    await succeed(agql, "updateTask", {"taskId": late["id"], "dueDate": "2026-03-08"}, manager)
    assert await fire_timed_triggers(runtime) == 0
    clock.advance(timedelta(days=2))
    assert await fire_timed_triggers(runtime) == 1


async def test_a_scheduled_rule_fires_once_per_slot(agql, auto_app, acme, clock, database):
    manager = acme[Role.MANAGER]
    runtime = auto_app.state.runtime
    project = await create_project(agql, manager, "OPS")
    rule = await create_rule(
        agql, manager, name="Daily check",
        trigger={"kind": "SCHEDULE", "cron": "0 10 * * *", "timezone": "Europe/Berlin"},
        actions=[{"type": "CREATE_TASK", "params": {"projectId": project["id"], "title": "Check {{ event.data.slot }}"}}],
    )
    assert rule["trigger"]["schedule"]
    assert await fire_timed_triggers(runtime) == 0  # 09:00 UTC is 10:00 in Berlin: the slot has just passed at saving
    clock.advance(timedelta(days=1))
    assert await fire_timed_triggers(runtime) == 1
    assert await fire_timed_triggers(runtime) == 0
    clock.advance(timedelta(days=3))
    assert await fire_timed_triggers(runtime) == 1  # missed slots make one catch-up
    fired = await events_of(database, "automation.scheduled")
    assert [e.data["slot"] for e in fired] == ["2026-03-03T09:00:00+00:00", "2026-03-06T09:00:00+00:00"]
    found = await settled(agql, manager, 2)
    assert {r["state"] for r in found} == {"SUCCEEDED"}
    async with database.session() as session:
        titles = sorted(await session.scalars(select(m.Task.title).where(m.Task.title.like("Check %"))))
    assert titles == ["Check 2026-03-03T09:00:00+00:00", "Check 2026-03-06T09:00:00+00:00"]


async def test_one_scheduler_leads_at_a_time(settings, monkeypatch):
    monkeypatch.setattr(scheduler, "LEADER_CHECK_SECONDS", 0.05)
    refusals, refused_thrice = 0, asyncio.Event()
    wait = scheduler._wait

    async def counted(event: asyncio.Event, seconds: float) -> None:  # called after each try that did not lead
        nonlocal refusals
        refusals += 1
        if refusals >= 3:
            refused_thrice.set()
        await wait(event, seconds)

    monkeypatch.setattr(scheduler, "_wait", counted)
    first, second = Runtime.from_settings(settings), Runtime.from_settings(settings)
    stop = asyncio.Event()
    try:
        async with scheduler.leadership(first, stop):
            waiting = asyncio.create_task(_lead(second, stop))
            # three tries of the second have failed while the first leads (one that led would not wait)
            await asyncio.wait_for(refused_thrice.wait(), 10)
            assert not waiting.done()
        assert await asyncio.wait_for(waiting, 5) == "leading"  # the first let go: the second takes over
    finally:
        await first.close()
        await second.close()


async def _lead(runtime: Runtime, stop: asyncio.Event) -> str:
    async with scheduler.leadership(runtime, stop):
        return "leading"
