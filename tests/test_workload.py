"""Workload: who is working on what. Its sums must match the tasks they come from."""

from __future__ import annotations

from mcgraph.db.models import Role
from tests.project_helpers import create_project, create_task, succeed, viewer_id

WORKLOAD = """query($teamId: ID, $start: Date, $end: Date) { workload(teamId: $teamId, start: $start, end: $end) {
  start end entries { user { email } openTasks inProgressTasks blockedTasks overdueTasks estimateHoursLeft
  dueInPeriod estimateHoursDueInPeriod capacityHours load currentTasks { title } } } }"""

# (title, assignee role, hours, due, state)  The clock stands at Monday 2026-03-02.
TASKS = [
    ("Spec", Role.MEMBER, 8, "2026-02-27", "in_progress"),  # overdue, in progress
    ("Build", Role.MEMBER, 24, "2026-03-06", "todo"),  # due this week
    ("Test", Role.MEMBER, 16, "2026-03-20", "blocked"),  # after the period
    ("Ship", Role.MEMBER, 4, "2026-03-04", "done"),  # done: not open work
    ("Review", Role.MANAGER, 6, "2026-03-10", "in_progress"),  # due next week
    ("Plan", Role.MANAGER, None, None, "todo"),  # no estimate, no due date
]


async def _plan(gql, acme) -> None:
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "WEB")
    for title, who, hours, due, state in TASKS:
        task = await create_task(gql, token, project["id"], title, assigneeId=await viewer_id(gql, acme[who]), estimateHours=hours, dueDate=due)
        if state != "todo":
            await succeed(gql, "setTaskState", {"taskId": task["id"], "state": state}, token)


async def test_workload_sums_match_the_tasks(gql, acme):
    await _plan(gql, acme)
    data = await gql.data(WORKLOAD, {"start": "2026-03-02", "end": "2026-03-15"}, token=acme[Role.VIEWER])
    entries = {e["user"]["email"]: e for e in data["workload"]["entries"]}
    member, manager = entries["member@acme.test"], entries["manager@acme.test"]
    # member: Spec 8 + Build 24 + Test 16 open (Ship is done); Build alone is due in the period.
    assert {k: member[k] for k in ("openTasks", "inProgressTasks", "blockedTasks", "overdueTasks", "estimateHoursLeft", "dueInPeriod", "estimateHoursDueInPeriod")} == {
        "openTasks": 3, "inProgressTasks": 1, "blockedTasks": 1, "overdueTasks": 1, "estimateHoursLeft": 48.0,
        "dueInPeriod": 1, "estimateHoursDueInPeriod": 24.0,
    }
    # 2026-03-02..15: ten working days of eight hours.
    assert member["capacityHours"] == 80.0 and member["load"] == 0.3
    assert [t["title"] for t in member["currentTasks"]] == ["Spec"]
    assert (manager["openTasks"], manager["estimateHoursLeft"], manager["dueInPeriod"], manager["estimateHoursDueInPeriod"]) == (2, 6.0, 1, 6.0)
    # most hours due first; members with nothing to do are listed with zeros
    assert [e["user"]["email"] for e in data["workload"]["entries"]][:2] == ["member@acme.test", "manager@acme.test"]
    assert entries["viewer@acme.test"]["openTasks"] == 0


async def test_workload_of_one_team_and_a_bad_period(gql, acme):
    await _plan(gql, acme)
    created = await gql.data(
        "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } } }",
        {"i": {"name": "Builders", "memberIds": [await viewer_id(gql, acme[Role.MEMBER])]}},
        token=acme[Role.OWNER],
    )
    data = await gql.data(WORKLOAD, {"teamId": created["createTeam"]["team"]["id"]}, token=acme[Role.VIEWER])
    assert [e["user"]["email"] for e in data["workload"]["entries"]] == ["member@acme.test"]
    assert (data["workload"]["start"], data["workload"]["end"]) == ("2026-03-02", "2026-03-15")
    body = await gql(WORKLOAD, {"start": "2026-03-10", "end": "2026-03-01"}, token=acme[Role.VIEWER])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_workload_never_shows_another_organisations_work(gql, acme, globex):
    await _plan(gql, acme)
    data = await gql.data(WORKLOAD, {}, token=globex[Role.VIEWER])
    assert all(e["user"]["email"].endswith("@globex.test") for e in data["workload"]["entries"])
    assert sum(e["openTasks"] for e in data["workload"]["entries"]) == 0
