from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from mcgraph.db.models import Event, Health, ProcessRun, Project
from mcgraph.demo import seed
from mcgraph.automation.sweeps import refresh_all_health, start_scheduled_runs

PORTFOLIO = """{ portfolio { byHealth { health count } atRisk { key } offTrack { key health { reasons { code message } } }
  processHealth { health count } processesAtRisk { key } }
  viewer { organization { members(first: 1) { totalCount } } } }"""
COUNTS = """{ projects(first: 50) { totalCount } processes(first: 50) { totalCount nodes { key status } }
  processRuns(first: 50) { totalCount } }"""
ONBOARDING = """{ process(key: "ONB") {
  triggerEvent runNameTemplate payloadSchema
  currentVersion { number steps { key name assignment assigneeRole payloadPath assignee { email } approval instructions waitsFor } }
  metrics { runsStarted runsCompleted runsRunning medianCycleTimeHours onTimeRate
    steps { stepKey runs medianDurationHours medianWaitHours }
    bottleneck { stepKey stepName medianDurationHours medianWaitHours message } }
  health { health reasons { code message } }
  runs(first: 20) { nodes { name state isOverdue completedAt dueAt steps { stepKey outcome startedAt finishedAt } } } } }"""
MAINTENANCE = """{ process(key: "MAINT") { name status triggerEvent team { name }
  schedule { cron timezone missedSlots description lastSlotAt nextRuns(count: 4) }
  currentVersion { number steps { name assignment } } runs(first: 5) { totalCount } } }"""


async def _seed(app, database, clock) -> str:
    runtime = app.state.runtime
    async with database.transaction() as session:
        return await seed(session, clock.now(), runtime.plugins, runtime.settings)


async def test_demo_has_projects_in_every_health(app, database, clock, gql):
    token = await _seed(app, database, clock)
    data = await gql.data(PORTFOLIO, token=token)
    counts = {row["health"]: row["count"] for row in data["portfolio"]["byHealth"]}
    assert counts == {"ON_TRACK": 2, "AT_RISK": 1, "OFF_TRACK": 1}, data
    assert [p["key"] for p in data["portfolio"]["offTrack"]] == ["ERP"]
    assert "OVER_BUDGET" in {r["code"] for r in data["portfolio"]["offTrack"][0]["health"]["reasons"]}
    assert data["viewer"]["organization"]["members"]["totalCount"] == 6
    # Onboarding finishes late in 2 of its 7 finished runs; maintenance has no runs to judge yet.
    assert {row["health"]: row["count"] for row in data["portfolio"]["processHealth"]} == {"ON_TRACK": 1, "AT_RISK": 1, "OFF_TRACK": 0}
    assert [p["key"] for p in data["portfolio"]["processesAtRisk"]] == ["ONB"]


async def _event_count(database) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(Event))


async def test_seeding_twice_adds_no_second_set_of_projects(app, database, clock, gql):
    first = await gql.data(COUNTS, token=await _seed(app, database, clock))
    events = await _event_count(database)
    token = await _seed(app, database, clock)
    data = await gql.data(COUNTS, token=token)
    assert data["projects"]["totalCount"] == 5
    assert data["processes"]["nodes"] == [{"key": "MAINT", "status": "PUBLISHED"}, {"key": "ONB", "status": "PUBLISHED"}]
    assert data["processRuns"]["totalCount"] == 8
    assert data == first
    assert await _event_count(database) == events > 0


async def test_demo_onboarding_metrics_name_the_bottleneck(app, database, clock, gql):
    token = await _seed(app, database, clock)
    process = (await gql.data(ONBOARDING, token=token))["process"]

    assert process["triggerEvent"] == "employee.hired"
    assert process["runNameTemplate"] == "Onboarding: {{input.name}}"
    assert process["payloadSchema"]["required"] == ["name", "manager_email"]
    steps = process["currentVersion"]["steps"]
    assert [(s["key"], s["assignment"]) for s in steps] == [
        ("prepare-laptop", "PAYLOAD"), ("create-accounts", "TEAM_ROLE"), ("background-check", "USER"),
        ("welcome-meeting", "OWNER"), ("sign-off", "OWNER"),
    ]
    assert (steps[0]["payloadPath"], steps[1]["assigneeRole"], steps[2]["assignee"]["email"]) == ("manager_email", "ADMIN", "adam@demo.test")
    assert [s["approval"] for s in steps] == [False, False, False, False, True]
    assert steps[4]["waitsFor"] == ["background-check", "welcome-meeting"]
    assert all(s["instructions"].strip() and ("**" in s["instructions"] or "\n1. " in s["instructions"]) for s in steps)

    metrics = process["metrics"]
    assert (metrics["runsStarted"], metrics["runsCompleted"], metrics["runsRunning"]) == (8, 7, 1)
    # Cycle times (hours) 48, 53, 63, 69, 74, 98, 115; due after 76 hours: 98 and 115 are late.
    assert metrics["medianCycleTimeHours"] == 69.0
    assert metrics["onTimeRate"] == 5 / 7
    bottleneck = metrics["bottleneck"]
    assert (bottleneck["stepKey"], bottleneck["stepName"]) == ("background-check", "Background check")
    assert (bottleneck["medianDurationHours"], bottleneck["medianWaitHours"]) == (63.0, 3.0)
    assert bottleneck["message"] == "Background check takes 2.6 days (median), 3.0 hours waiting; 96% of the cycle time"
    others = [s for s in metrics["steps"] if s["stepKey"] != "background-check"]
    assert all(s["medianDurationHours"] + s["medianWaitHours"] < 63.0 / 3 for s in others), others
    assert process["health"] == {"health": "AT_RISK", "reasons": [{"code": "LOW_ON_TIME_RATE", "message": "on time in 71% of runs (5 of 7)"}]}

    runs = process["runs"]["nodes"]
    assert [r["name"] for r in runs][:2] == ["Onboarding: Ben Carter", "Onboarding: Sofia Lindqvist"]
    assert sorted(r["name"].removeprefix("Onboarding: ") for r in runs if r["isOverdue"]) == ["Aisha Khan", "Marco Rossi"]
    running = [r for r in runs if r["state"] == "RUNNING"]
    assert [r["name"] for r in running] == ["Onboarding: Ben Carter"]
    open_steps = {s["stepKey"]: (s["startedAt"] is not None, s["finishedAt"] is not None) for s in running[0]["steps"]}
    assert open_steps["background-check"] == (True, False) and open_steps["sign-off"] == (False, False)
    assert {s["outcome"] for r in runs if r["state"] == "COMPLETED" for s in r["steps"]} == {"DONE", "APPROVED"}

    # The runs were played through the services at their own times, so the event log tells the same story.
    async with database.session() as session:
        started = list(await session.scalars(select(Event.occurred_at).where(Event.type == "process_run.started").order_by(Event.id)))
        decided = await session.scalar(select(func.count()).select_from(Event).where(Event.type == "process_run.decided"))
    assert started[0] == datetime(2026, 1, 9, 9, tzinfo=UTC)  # 52 days before the seeding, at 09:00
    assert len(started) == 8 and started == sorted(started) and started[-1] < clock.now()
    assert decided == 7


async def test_demo_maintenance_shows_its_next_runs_and_starts_on_monday(app, database, clock, gql):
    token = await _seed(app, database, clock)  # Monday 2026-03-02 09:00 UTC: this week's 08:00 Berlin has passed
    process = (await gql.data(MAINTENANCE, token=token))["process"]

    assert (process["name"], process["status"], process["triggerEvent"], process["team"]) == (
        "Weekly equipment maintenance", "PUBLISHED", None, {"name": "Platform"})
    schedule = process["schedule"]
    # Slots are counted from the moment of publication: none is owed for the time before.
    assert (schedule["cron"], schedule["timezone"], schedule["missedSlots"], schedule["lastSlotAt"]) == (
        "0 8 * * MON", "Europe/Berlin", "run_once", "2026-03-02T09:00:00+00:00")
    # 08:00 in Berlin is 07:00 UTC until the clocks go forward on 2026-03-29, then 06:00 UTC.
    assert schedule["nextRuns"] == [
        "2026-03-09T07:00:00+00:00", "2026-03-16T07:00:00+00:00", "2026-03-23T07:00:00+00:00", "2026-03-30T06:00:00+00:00",
    ]
    assert [s["name"] for s in process["currentVersion"]["steps"]] == ["Inspect the machines", "Replace worn parts", "Log the maintenance"]
    assert process["runs"]["totalCount"] == 0

    runtime = app.state.runtime
    assert await start_scheduled_runs(runtime) == 0  # seeded after this Monday's slot
    clock.set(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))
    assert await start_scheduled_runs(runtime) == 1
    async with database.session() as session:
        slots = list(await session.scalars(select(ProcessRun.schedule_slot).where(ProcessRun.schedule_slot.is_not(None))))
    assert slots == [datetime(2026, 3, 9, 7, 0, tzinfo=UTC)]

async def test_sweep_records_health_changes_as_time_passes(app, database, clock):
    await _seed(app, database, clock)
    runtime = app.state.runtime
    assert await refresh_all_health(runtime) == 0  # nothing changed since seeding
    clock.advance(days=45)
    changed = await refresh_all_health(runtime)
    async with database.session() as session:
        web = await session.scalar(select(Project).where(Project.key == "WEB"))
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "project.health_changed", Event.occurred_at == clock.now())
        )
    assert web.health == Health.OFF_TRACK
    assert changed == events >= 1
    assert await refresh_all_health(runtime) == 0  # a second sweep finds nothing new
