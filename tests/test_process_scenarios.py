"""Processes end to end, through GraphQL: a finished project becomes a documented
process, its runs start from events, and the metrics say what really happened.

Time is the ``clock`` fixture, moved by hand: every state change happens at a chosen
instant, so cycle times, waits and the bottleneck can be worked out on paper first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from mcgraph.db import models as m
from mcgraph.db.models import Role
from tests.conftest import process_mutation, process_ok
from tests.project_helpers import create_project, create_task, succeed, viewer_id

STATE = """mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { task { id category } userErrors { field code message } } }"""
ONBOARDING_SCHEMA = {
    "type": "object",
    "required": ["name", "manager_email"],
    "properties": {"name": {"type": "string"}, "manager_email": {"type": "string"}},
}


async def set_state(gql: Any, token: str, task_id: str, state: str) -> None:
    data = await gql.data(STATE, {"i": {"taskId": task_id, "state": state}}, token=token)
    assert data["setTaskState"]["userErrors"] == [], data


async def play(gql: Any, clock: Any, token: str, start: datetime, moves: list[tuple[float, str, str]]) -> None:
    """Each move is (hours after ``start``, task id, state), made at that instant, in time order."""
    for hours, task_id, state in sorted(moves, key=lambda move: move[0]):
        clock.set(start + timedelta(hours=hours))
        await set_state(gql, token, task_id, state)


def worked(begun: float, done: float, task_id: str) -> list[tuple[float, str, str]]:
    """A task taken up ``begun`` hours after the start and done ``done`` hours after it."""
    return [(begun, task_id, "in_progress"), (done, task_id, "done")]


def tasks_of(run: dict[str, Any]) -> dict[str, str]:
    """Step key -> the id of its task in the run."""
    return {step["stepKey"]: step["task"]["id"] for step in run["steps"]}


async def make_process(gql: Any, token: str, key: str, steps: list[dict[str, Any]], *, publish: bool = True, **fields: Any) -> dict[str, Any]:
    created = await process_ok(gql, "createProcess", {"key": key, "name": fields.pop("name", f"Process {key}"), "steps": steps, **fields}, token)
    process = created["process"]
    if publish:
        await process_ok(gql, "publishProcess", {"processId": process["id"]}, token)
    return process


async def count(database: Any, model: type, *where: Any) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


def at(day: int, hour: float = 9) -> datetime:
    """``hour`` o'clock UTC on ``day`` March 2026."""
    return datetime(2026, 3, day, tzinfo=UTC) + timedelta(hours=hour)


DRAFT = """query($id: ID!) { process(id: $id) { id name status purpose
  sourceProject { key derivedProcesses { id } }
  versions { number isDraft }
  draft { number steps { key name position assignment assigneeRole offsetHours durationHours waitsFor } } } }"""
METRICS = """query($id: ID!, $since: DateTime!, $until: DateTime!) { process(id: $id) {
  metrics(since: $since, until: $until) {
    runsStarted runsCompleted runsRunning medianCycleTimeHours p90CycleTimeHours onTimeRate
    steps { stepKey stepName runs medianDurationHours medianWaitHours lateShare }
    bottleneck { stepKey stepName medianDurationHours medianWaitHours shareOfCycleTime message } } } }"""


async def test_a_finished_project_becomes_a_process_whose_runs_measure_it(gql, acme, clock):
    token = acme[Role.MANAGER]
    people = {role: await viewer_id(gql, acme[role]) for role in (Role.MEMBER, Role.ADMIN, Role.MANAGER)}

    # The project that designed onboarding, planned Monday 2026-03-02. Created in an order unlike the
    # dependencies', so the steps' order has to come from the dependencies.
    project = await create_project(gql, token, "HIRE", name="Onboard our first designer", startDate="2026-03-02", targetEndDate="2026-03-06",
                                   objective="Every new hire is productive in their first week.")
    approval = await create_task(gql, token, project["id"], "Approval", estimateHours=1)
    welcome = await create_task(gql, token, project["id"], "Welcome meeting", assigneeId=people[Role.MANAGER], estimateHours=2)
    laptop = await create_task(gql, token, project["id"], "Prepare laptop", assigneeId=people[Role.MEMBER], estimateHours=8)
    accounts = await create_task(gql, token, project["id"], "Create accounts", assigneeId=people[Role.ADMIN], estimateHours=4)
    for before, after in [(laptop, welcome), (accounts, welcome), (welcome, approval)]:
        await succeed(gql, "addDependency", {"predecessorId": before["id"], "successorId": after["id"]}, token)

    # What happened, in hours after the project's start (2026-03-02 00:00 UTC):
    # laptop 9 -> 13, accounts 10 -> 12, welcome meeting 14 -> 15.5, approval 33 -> 34 (next morning).
    await play(gql, clock, token, at(2, 0), [
        *worked(9, 13, laptop["id"]), *worked(10, 12, accounts["id"]), *worked(14, 15.5, welcome["id"]), *worked(33, 34, approval["id"]),
    ])
    clock.set(at(3, 11))
    await succeed(gql, "setProjectStatus", {"projectId": project["id"], "status": "COMPLETED"}, token)

    # The new process is followed by its id, not its key: the key given is lost (see the xfail
    # test_process_from_project_keeps_the_key_given), and the process takes its last step's key
    # instead, which is why the last task's title is a single word.
    made = await process_ok(gql, "createProcessFromProject", {"projectId": project["id"], "key": "ONB", "name": "Onboarding"}, token)
    assert made["process"]["status"] == "DRAFT"
    process = (await gql.data(DRAFT, {"id": made["process"]["id"]}, token=token))["process"]
    assert (process["name"], process["status"]) == ("Onboarding", "DRAFT")
    assert process["sourceProject"] == {"key": "HIRE", "derivedProcesses": [{"id": made["process"]["id"]}]}
    assert process["versions"] == [{"number": 1, "isDraft": True}]
    steps = process["draft"]["steps"]
    assert [(s["key"], s["name"], s["position"]) for s in steps] == [
        ("prepare-laptop", "Prepare laptop", 0), ("create-accounts", "Create accounts", 1),
        ("welcome-meeting", "Welcome meeting", 2), ("approval", "Approval", 3),
    ]
    # Offsets from the project's start, durations from in-progress to done, as they happened.
    assert [s["offsetHours"] for s in steps] == [9.0, 10.0, 14.0, 33.0]
    assert [s["durationHours"] for s in steps] == [4.0, 2.0, 1.5, 1.0]
    # The people who did the work become their roles; an unassigned task falls to the process owner.
    assert [(s["assignment"], s["assigneeRole"]) for s in steps] == [
        ("TEAM_ROLE", "MEMBER"), ("TEAM_ROLE", "ADMIN"), ("TEAM_ROLE", "MANAGER"), ("OWNER", None),
    ]
    assert [sorted(s["waitsFor"]) for s in steps] == [[], [], ["create-accounts", "prepare-laptop"], ["welcome-meeting"]]
    assert process["purpose"] == "Every new hire is productive in their first week."

    await process_ok(gql, "updateProcess", {
        "processId": process["id"], "triggerEvent": "employee.hired", "payloadSchema": ONBOARDING_SCHEMA,
        "runNameTemplate": "Onboarding: {{input.name}}",
    }, token)
    published = await process_ok(gql, "publishProcess", {"processId": process["id"], "note": "From the HIRE project"}, token)
    assert (published["version"]["number"], published["version"]["isDraft"], published["process"]["status"]) == (1, False, "PUBLISHED")

    # Three hires, one a week. Hours after each run's start; each run is due 34 hours after it starts
    # (the latest step offset + duration: approval at 33 + 1).
    #            laptop      accounts    welcome (ready when both done)   approval (ready when welcome done)
    #   Ada      1 -> 5      0 -> 2      ready 5,  6 -> 7                 ready 7,    24 -> 26   cycle 26, on time
    #   Grace    2 -> 10     1 -> 4      ready 10, 10 -> 12               ready 12,   30 -> 40   cycle 40, late
    #   Linus    0 -> 6      2 -> 3      ready 6,  8 -> 9.5               ready 9.5,  20 -> 24   cycle 24, on time
    # Durations (median): laptop 4, 8, 6 (6); accounts 2, 3, 1 (2); welcome 1, 2, 1.5 (1.5); approval 2, 10, 4 (4).
    # Waits from ready to started (median): laptop 1, 2, 0 (1); accounts 0, 1, 2 (1); welcome 1, 0, 2 (1);
    # approval 17, 18, 10.5 (17).
    # Median cycle time: 24, 26, 40 -> 26; p90 (nearest rank, 3rd of 3): 40; on time: 2 of 3.
    # Bottleneck: the largest median wait + median duration: approval, 17 + 4 = 21 hours (laptop: 7),
    # 21 / 26 = 81% of the cycle time.
    hires = [
        (at(9), {"name": "Ada", "manager_email": "manager@acme.test"}, [(1, 5), (0, 2), (6, 7), (24, 26)]),
        (at(16), {"name": "Grace", "manager_email": "owner@acme.test"}, [(2, 10), (1, 4), (10, 12), (30, 40)]),
        (at(23), {"name": "Linus", "manager_email": "admin@acme.test", "team": "design"}, [(0, 6), (2, 3), (8, 9.5), (20, 24)]),
    ]
    keys = ["prepare-laptop", "create-accounts", "welcome-meeting", "approval"]
    started = []
    for start, payload, timings in hires:
        clock.set(start)
        raised = await process_ok(gql, "raiseEvent", {"name": "employee.hired", "payload": payload}, acme[Role.MEMBER])
        (run,) = raised["runs"]
        assert run["name"] == f"Onboarding: {payload['name']}"
        assert [s["task"]["assignee"]["email"] if s["task"]["assignee"] else None for s in run["steps"]] == [
            "member@acme.test", "admin@acme.test", "manager@acme.test", "manager@acme.test",  # the owner: who made it
        ]
        assert [s["readyAt"] is not None for s in run["steps"]] == [True, True, False, False]
        ids = tasks_of(run)
        await play(gql, clock, token, start, [move for key, (begun, done) in zip(keys, timings, strict=True) for move in worked(begun, done, ids[key])])
        started.append(run["id"])

    runs = await gql.data("""query($ids: [ID!]!) { nodes(ids: $ids) { ... on ProcessRun { state startedAt completedAt dueAt isOverdue
      trigger triggerEventName input processVersion { number }
      steps { stepKey readyAt startedAt finishedAt outcome } } } }""", {"ids": started}, token=token)
    ada, grace, linus = runs["nodes"]
    assert [(r["state"], r["isOverdue"]) for r in (ada, grace, linus)] == [("COMPLETED", False), ("COMPLETED", True), ("COMPLETED", False)]
    assert (ada["startedAt"], ada["completedAt"], ada["dueAt"]) == ("2026-03-09T09:00:00+00:00", "2026-03-10T11:00:00+00:00", "2026-03-10T19:00:00+00:00")
    assert (grace["trigger"], grace["triggerEventName"], grace["input"]["name"]) == ("EVENT", "employee.hired", "Grace")
    assert linus["input"] == hires[2][1] and linus["processVersion"] == {"number": 1}
    welcome_step = next(s for s in ada["steps"] if s["stepKey"] == "welcome-meeting")
    assert (welcome_step["readyAt"], welcome_step["startedAt"], welcome_step["finishedAt"], welcome_step["outcome"]) == (
        "2026-03-09T14:00:00+00:00", "2026-03-09T15:00:00+00:00", "2026-03-09T16:00:00+00:00", "DONE")

    clock.set(at(31))
    window = {"id": process["id"], "since": "2026-03-09T00:00:00Z", "until": "2026-04-01T00:00:00Z"}
    metrics = (await gql.data(METRICS, window, token=token))["process"]["metrics"]
    assert (metrics["runsStarted"], metrics["runsCompleted"], metrics["runsRunning"]) == (3, 3, 0)
    assert metrics["medianCycleTimeHours"] == 26.0
    assert metrics["p90CycleTimeHours"] == 40.0
    assert metrics["onTimeRate"] == pytest.approx(2 / 3)
    assert [(s["stepKey"], s["runs"], s["medianDurationHours"], s["medianWaitHours"]) for s in metrics["steps"]] == [
        ("prepare-laptop", 3, 6.0, 1.0), ("create-accounts", 3, 2.0, 1.0), ("welcome-meeting", 3, 1.5, 1.0), ("approval", 3, 4.0, 17.0),
    ]
    # Step due times: laptop 13, accounts 12, welcome 15.5, approval 34 hours; only Grace's approval (40) is late.
    assert [s["lateShare"] for s in metrics["steps"]] == [0.0, 0.0, 0.0, pytest.approx(1 / 3)]
    bottleneck = metrics["bottleneck"]
    assert (bottleneck["stepKey"], bottleneck["stepName"]) == ("approval", "Approval")
    assert (bottleneck["medianDurationHours"], bottleneck["medianWaitHours"]) == (4.0, 17.0)
    assert bottleneck["shareOfCycleTime"] == pytest.approx(21 / 26)
    assert bottleneck["message"] == "Approval takes 4.0 hours (median), 17.0 hours waiting; 81% of the cycle time"

    # The period counts only what it holds: from 2026-03-16, Grace (40) and Linus (24): median 32, 1 of 2 on time.
    later = (await gql.data(METRICS, {**window, "since": "2026-03-16T00:00:00Z"}, token=token))["process"]["metrics"]
    assert (later["runsStarted"], later["medianCycleTimeHours"], later["onTimeRate"]) == (2, 32.0, 0.5)

    history = await gql.data("""{ project(key: "HIRE") { status derivedProcesses { id status currentVersion { number } } } }""", token=token)
    assert history["project"] == {"status": "COMPLETED", "derivedProcesses": [{"id": process["id"], "status": "PUBLISHED", "currentVersion": {"number": 1}}]}


@pytest.mark.parametrize("last_title", ["Review", "Sign-off"])
async def test_process_from_project_keeps_the_key_given(gql, acme, last_title):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "PLAN")
    first = await create_task(gql, token, project["id"], "Draft")
    last = await create_task(gql, token, project["id"], last_title)
    await succeed(gql, "addDependency", {"predecessorId": first["id"], "successorId": last["id"]}, token)

    payload = await process_mutation(gql, "createProcessFromProject", {"projectId": project["id"], "key": "ONB"}, token)

    assert payload["userErrors"] == []
    assert payload["process"]["key"] == "ONB"


VERSIONS = """query($id: ID!) { process(id: $id) { status currentVersion { number }
  draft { number }
  versions { number isDraft publishedAt steps { id key name position durationHours } } } }"""
RUN = """query($id: ID!) { node(id: $id) { ... on ProcessRun { id state completedAt processVersion { number }
  steps { id stepKey rounds readyAt startedAt finishedAt outcome comment step { key name durationHours } task { id title category } }
  tasks { title category } } } }"""
DIFF = """query($id: ID!) { process(id: $id) { versions { number diff { fromNumber toNumber
  added { key name changedFields } removed { key name changedFields } changed { key name changedFields } } } } }"""


async def test_a_published_version_never_changes_and_runs_keep_their_version(gql, acme, clock, database):
    token = acme[Role.MANAGER]
    process = await make_process(gql, token, "MNT", [
        {"name": "Inspect", "durationHours": 2}, {"name": "Repair", "durationHours": 4}, {"name": "Log", "durationHours": 1},
    ])
    first_run = (await process_ok(gql, "startProcessRun", {"processKey": "MNT"}, token))["run"]
    v1 = (await gql.data(VERSIONS, {"id": process["id"]}, token=token))["process"]["versions"]
    assert [(v["number"], v["isDraft"]) for v in v1] == [(1, False)]

    # A step of a published version is refused, and nothing is written.
    inspect = v1[0]["steps"][0]
    events = await count(database, m.Event)
    refused = await process_mutation(gql, "updateProcessStep", {"stepId": inspect["id"], "durationHours": 9}, token)
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["stepId"], "PUBLISHED")]
    assert refused["step"] is None
    assert await count(database, m.Event) == events
    assert await count(database, m.ProcessVersion) == 1

    # New steps go to the draft of version 2, made from version 1's steps; version 1 keeps its own.
    clock.advance(hours=1)
    draft = (await process_ok(gql, "setProcessSteps", {"processId": process["id"], "steps": [
        {"name": "Inspect", "durationHours": 3}, {"name": "Log", "durationHours": 1}, {"name": "Report", "durationHours": 1},
    ]}, token))["draft"]
    assert (draft["number"], draft["isDraft"], [s["key"] for s in draft["steps"]]) == (2, True, ["inspect", "log", "report"])
    report = draft["steps"][2]
    renamed = await process_ok(gql, "updateProcessStep", {"stepId": report["id"], "name": "Report to the plant manager"}, token)
    assert renamed["step"]["name"] == "Report to the plant manager"
    seen = (await gql.data(VERSIONS, {"id": process["id"]}, token=token))["process"]
    assert (seen["currentVersion"], seen["draft"]) == ({"number": 1}, {"number": 2})
    assert [v["number"] for v in seen["versions"]] == [2, 1]
    assert seen["versions"][1] == v1[0]  # the same rows, the same values
    assert [(s["key"], s["name"], s["durationHours"]) for s in seen["versions"][0]["steps"]] == [
        ("inspect", "Inspect", 3.0), ("log", "Log", 1.0), ("report", "Report to the plant manager", 1.0),
    ]

    diff = (await gql.data(DIFF, {"id": process["id"]}, token=token))["process"]["versions"][0]["diff"]
    assert (diff["fromNumber"], diff["toNumber"]) == (1, 2)
    assert [(c["key"], c["name"]) for c in diff["added"]] == [("report", "Report to the plant manager")]
    assert [(c["key"], c["name"]) for c in diff["removed"]] == [("repair", "Repair")]
    assert [c["key"] for c in diff["changed"]] == ["inspect", "log"]  # a longer inspection; the log moved up
    assert all(len(c["changedFields"]) == 1 for c in diff["changed"]), diff["changed"]

    # Publishing version 2 leaves the run of version 1 as it was; a new run uses version 2.
    await process_ok(gql, "publishProcess", {"processId": process["id"], "note": "Report instead of a separate repair"}, token)
    second_run = (await process_ok(gql, "startProcessRun", {"processKey": "MNT"}, token))["run"]
    assert second_run["processVersion"] == {"number": 2}
    assert [s["stepKey"] for s in second_run["steps"]] == ["inspect", "log", "report"]
    old = (await gql.data(RUN, {"id": first_run["id"]}, token=token))["node"]
    assert old["processVersion"] == {"number": 1}
    assert [(s["stepKey"], s["step"]["name"], s["step"]["durationHours"]) for s in old["steps"]] == [
        ("inspect", "Inspect", 2.0), ("repair", "Repair", 4.0), ("log", "Log", 1.0),
    ]
    assert [t["title"] for t in old["tasks"]] == ["Inspect", "Repair", "Log"]

    # ...and it still finishes by version 1's steps.
    for step in old["steps"]:
        clock.advance(hours=1)
        await set_state(gql, token, step["task"]["id"], "in_progress")
        clock.advance(hours=1)
        await set_state(gql, token, step["task"]["id"], "done")
    done = (await gql.data(RUN, {"id": first_run["id"]}, token=token))["node"]
    assert (done["state"], done["processVersion"]) == ("COMPLETED", {"number": 1})
    assert [s["outcome"] for s in done["steps"]] == ["DONE", "DONE", "DONE"]
    clock.advance(minutes=1)  # a metrics period ends before now
    by_version = await gql.data("""query($id: ID!) { process(id: $id) { v1: metrics(version: 1) { runsStarted runsCompleted }
      v2: metrics(version: 2) { runsStarted runsCompleted } } }""", {"id": process["id"]}, token=token)
    assert by_version["process"] == {"v1": {"runsStarted": 1, "runsCompleted": 1}, "v2": {"runsStarted": 1, "runsCompleted": 0}}


async def test_version_diff_names_the_changed_fields_as_the_schema_does(gql, acme):
    token = acme[Role.MANAGER]
    process = await make_process(gql, token, "MNT", [{"name": "Inspect", "durationHours": 2}, {"name": "Log", "durationHours": 1}])
    await process_ok(gql, "setProcessSteps", {"processId": process["id"], "steps": [
        {"name": "Inspect", "durationHours": 3, "offsetHours": 1}, {"name": "Log", "durationHours": 1, "waitsFor": []},
    ]}, token)

    diff = (await gql.data(DIFF, {"id": process["id"]}, token=token))["process"]["versions"][0]["diff"]

    assert {c["key"]: sorted(c["changedFields"]) for c in diff["changed"]} == {
        "inspect": ["durationHours", "offsetHours"], "log": ["waitsFor"],
    }


def approval_steps(on_reject: str) -> list[dict[str, Any]]:
    back = {"onReject": "BACK", "rejectTo": "draft-contract"} if on_reject == "BACK" else {"onReject": "END"}
    return [
        {"name": "Draft contract", "durationHours": 4},
        {"name": "Legal review", "durationHours": 8},
        {"name": "Approve", "approval": True, "durationHours": 1, **back},
    ]


async def do_steps(gql: Any, clock: Any, token: str, run: dict[str, Any], keys: list[str]) -> None:
    ids = {s["stepKey"]: s["task"]["id"] for s in run["steps"]}
    for key in keys:
        clock.advance(hours=1)
        await set_state(gql, token, ids[key], "in_progress")
        clock.advance(hours=2)
        await set_state(gql, token, ids[key], "done")


DECIDE = "decideApproval"


async def test_a_rejection_sends_the_run_back_to_the_named_step(gql, acme, clock, database):
    token = acme[Role.MANAGER]
    await make_process(gql, token, "CTR", approval_steps("BACK"))
    run = (await process_ok(gql, "startProcessRun", {"processKey": "CTR"}, token))["run"]
    approve = run["steps"][2]["id"]
    await do_steps(gql, clock, token, run, ["draft-contract", "legal-review"])

    # Only an approval step that waits for a decision can be decided; a rejection says why.
    not_approval = await process_mutation(gql, DECIDE, {"runStepId": run["steps"][0]["id"], "approve": True}, token)
    assert [(e["field"], e["code"]) for e in not_approval["userErrors"]] == [(["runStepId"], "INVALID")]
    before = await gql.data(RUN, {"id": run["id"]}, token=token)
    for comment in ("", "   "):
        silent = await process_mutation(gql, DECIDE, {"runStepId": approve, "approve": False, "comment": comment}, token)
        assert [(e["field"], e["code"]) for e in silent["userErrors"]] == [(["comment"], "REQUIRED")]
    assert await gql.data(RUN, {"id": run["id"]}, token=token) == before

    clock.advance(hours=1)
    rejected = await process_ok(gql, DECIDE, {"runStepId": approve, "approve": False, "comment": "Clause 7 is missing"}, token)
    assert rejected["run"]["state"] == "RUNNING"
    sent_back = (await gql.data(RUN, {"id": run["id"]}, token=token))["node"]
    now = clock.now().isoformat()
    assert [(s["stepKey"], s["rounds"], s["readyAt"], s["startedAt"], s["finishedAt"], s["outcome"]) for s in sent_back["steps"]] == [
        ("draft-contract", 2, now, None, None, None),
        ("legal-review", 2, None, None, None, None),
        ("approve", 2, None, None, None, None),
    ]
    assert [s["task"]["category"] for s in sent_back["steps"]] == ["TODO", "TODO", "TODO"]
    assert sent_back["steps"][2]["comment"] == "Clause 7 is missing"
    too_early = await process_mutation(gql, DECIDE, {"runStepId": approve, "approve": True}, token)
    assert [(e["field"], e["code"]) for e in too_early["userErrors"]] == [(["runStepId"], "INVALID")]

    # The second round goes through.
    await do_steps(gql, clock, token, run, ["draft-contract", "legal-review"])
    clock.advance(hours=1)
    approved = await process_ok(gql, DECIDE, {"runStepId": approve, "approve": True}, token)
    assert approved["runStep"] == {"id": approve, "outcome": "APPROVED", "rounds": 2}
    assert approved["run"]["state"] == "COMPLETED"
    final = (await gql.data(RUN, {"id": run["id"]}, token=token))["node"]
    assert [(s["rounds"], s["outcome"]) for s in final["steps"]] == [(2, "DONE"), (2, "DONE"), (2, "APPROVED")]
    assert final["completedAt"] == clock.now().isoformat()
    twice = await process_mutation(gql, DECIDE, {"runStepId": approve, "approve": False, "comment": "Changed my mind"}, token)
    assert [(e["field"], e["code"]) for e in twice["userErrors"]] == [(["runStepId"], "INVALID")]
    assert await count(database, m.Event, m.Event.type == "process_run.decided") == 2


async def test_a_rejection_that_ends_the_run_fails_it(gql, acme, clock):
    token = acme[Role.MANAGER]
    process = await make_process(gql, token, "CTR", approval_steps("END"))
    run = (await process_ok(gql, "startProcessRun", {"processKey": "CTR"}, token))["run"]
    await do_steps(gql, clock, token, run, ["draft-contract", "legal-review"])

    clock.advance(hours=1)
    rejected = await process_ok(gql, DECIDE, {"runStepId": run["steps"][2]["id"], "approve": False, "comment": "Too expensive"}, acme[Role.MEMBER])

    assert rejected["runStep"] == {"id": run["steps"][2]["id"], "outcome": "REJECTED", "rounds": 1}
    assert rejected["run"] == {"id": run["id"], "state": "FAILED", "outcomeNote": "Approve rejected: Too expensive"}
    failed = (await gql.data(RUN, {"id": run["id"]}, token=token))["node"]
    assert failed["completedAt"] == clock.now().isoformat()
    assert failed["steps"][2]["finishedAt"] == clock.now().isoformat()
    clock.advance(minutes=1)
    metrics = await gql.data("""query($id: ID!) { process(id: $id) { metrics { runsFailed runsCompleted
      steps { stepKey rejectionRate } } } }""", {"id": process["id"]}, token=token)
    assert metrics["process"]["metrics"] == {"runsFailed": 1, "runsCompleted": 0, "steps": [
        {"stepKey": "draft-contract", "rejectionRate": None}, {"stepKey": "legal-review", "rejectionRate": None},
        {"stepKey": "approve", "rejectionRate": 1.0},
    ]}
    cancel = await process_mutation(gql, "cancelProcessRun", {"runId": run["id"]}, token)
    assert [(e["field"], e["code"]) for e in cancel["userErrors"]] == [(["runId"], "INVALID")]


async def test_a_rejection_that_sends_the_run_back_counts_in_the_rejection_rate(gql, acme, clock):
    token = acme[Role.MANAGER]
    process = await make_process(gql, token, "CTR", approval_steps("BACK"))
    run = (await process_ok(gql, "startProcessRun", {"processKey": "CTR"}, token))["run"]
    approve = run["steps"][2]["id"]
    await do_steps(gql, clock, token, run, ["draft-contract", "legal-review"])
    await process_ok(gql, DECIDE, {"runStepId": approve, "approve": False, "comment": "Clause 7 is missing"}, token)
    await do_steps(gql, clock, token, run, ["draft-contract", "legal-review"])
    await process_ok(gql, DECIDE, {"runStepId": approve, "approve": True}, token)
    clock.advance(minutes=1)

    metrics = await gql.data("""query($id: ID!) { process(id: $id) { metrics { steps { stepKey rejectionRate } } } }""",
                             {"id": process["id"]}, token=token)

    # One rejection and one approval of the same step: half of the decisions were rejections.
    assert metrics["process"]["metrics"]["steps"][2] == {"stepKey": "approve", "rejectionRate": 0.5}


async def test_a_payload_the_schema_refuses_starts_nothing(gql, acme, database):
    token = acme[Role.MANAGER]
    await make_process(gql, token, "ONB", [{"name": "Welcome"}], triggerEvent="employee.hired", payloadSchema=ONBOARDING_SCHEMA)
    events = await count(database, m.Event)

    wrong_type = await process_mutation(gql, "raiseEvent", {"name": "employee.hired", "payload": {"name": 42, "manager_email": "a@acme.test"}}, token)
    missing = await process_mutation(gql, "raiseEvent", {"name": "employee.hired", "payload": {"name": "Ada"}}, token)
    by_hand = await process_mutation(gql, "startProcessRun", {"processKey": "ONB", "input": {"name": ["Ada"], "manager_email": 7}}, token)

    assert [(e["field"], e["code"]) for e in wrong_type["userErrors"]] == [(["payload", "name"], "INVALID")]
    assert "42 is not of type 'string'" in wrong_type["userErrors"][0]["message"]
    assert (wrong_type["eventId"], wrong_type["runs"]) == (None, [])
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [(["payload"], "INVALID")]
    assert "'manager_email' is a required property" in missing["userErrors"][0]["message"]
    assert [(e["field"], e["code"]) for e in by_hand["userErrors"]] == [(["input", "manager_email"], "INVALID"), (["input", "name"], "INVALID")]
    assert by_hand["run"] is None
    assert await count(database, m.ProcessRun) == await count(database, m.Task) == 0
    assert await count(database, m.Event) == events  # not even the event was recorded

    # An event no process listens to is recorded and starts nothing; a good payload starts the run.
    nobody = await process_ok(gql, "raiseEvent", {"name": "employee.left", "payload": {"name": 42}}, token)
    assert nobody["eventId"] is not None and nobody["runs"] == []
    good = await process_ok(gql, "raiseEvent", {"name": "employee.hired", "payload": {"name": "Ada", "manager_email": "a@acme.test"}}, token)
    assert len(good["runs"]) == 1 and await count(database, m.ProcessRun) == 1


async def test_a_payload_that_is_not_an_object_is_refused_on_its_own_field(gql, acme, database):
    token = acme[Role.MANAGER]
    await make_process(gql, token, "ONB", [{"name": "Welcome"}], triggerEvent="employee.hired")

    by_hand = await process_mutation(gql, "startProcessRun", {"processKey": "ONB", "input": ["Ada"]}, token)
    raised = await process_mutation(gql, "raiseEvent", {"name": "employee.hired", "payload": "Ada"}, token)

    assert [(e["field"], e["code"]) for e in by_hand["userErrors"]] == [(["input"], "INVALID")]
    assert [e["code"] for e in raised["userErrors"]] == ["INVALID"]
    assert await count(database, m.ProcessRun) == 0


async def test_a_payload_schema_that_is_not_an_object_is_refused(gql, acme, database):
    token = acme[Role.MANAGER]
    refused = [(await process_mutation(gql, "createProcess", {"key": f"P{n}", "name": "P", "payloadSchema": schema}, token))["userErrors"]
               for n, schema in enumerate((3, -3.4e16, False, "object"))]
    assert [[(e["field"], e["code"]) for e in errors] for errors in refused] == [[(["payloadSchema"], "INVALID")]] * 4
    process = await make_process(gql, token, "ONB", [{"name": "Welcome"}], publish=False)
    update = await process_mutation(gql, "updateProcess", {"processId": process["id"], "payloadSchema": 1}, token)
    assert [(e["field"], e["code"]) for e in update["userErrors"]] == [(["payloadSchema"], "INVALID")]
    assert await count(database, m.Process) == 1


async def test_raise_event_names_the_payload_field_when_it_is_not_an_object(gql, acme):
    raised = await process_mutation(gql, "raiseEvent", {"name": "employee.hired", "payload": [1, 2]}, acme[Role.MANAGER])
    assert [(e["field"], e["code"]) for e in raised["userErrors"]] == [(["payload"], "INVALID")]


PLANNED = """query($key: String!) { project(key: $key) { key name startDate targetEndDate manager { email }
  sourceProcess { key derivedProjects { key } }
  schedule { finish }
  tasks(first: 20) { totalCount nodes { id title estimateHours startDate dueDate assignee { email } processRun { id }
    predecessors { type predecessor { title } } } } } }"""


async def test_a_project_planned_from_a_process_mirrors_its_steps(gql, acme, clock):
    token = acme[Role.MANAGER]
    mover = await viewer_id(gql, acme[Role.MEMBER])
    await make_process(gql, token, "MOVE", [
        {"name": "Plan the move", "durationHours": 16},
        {"name": "Book movers", "durationHours": 8, "waitsFor": [], "assignment": "USER", "assigneeId": mover},
        {"name": "Pack", "durationHours": 16, "waitsFor": ["plan-the-move"], "assignment": "TEAM_ROLE", "assigneeRole": "MEMBER"},
        {"name": "Move", "durationHours": 8, "waitsFor": ["pack", "book-movers"]},
    ], name="Office move", purpose="Move without losing a day of work.")

    made = await process_ok(gql, "createProjectFromProcess", {"processKey": "move", "key": "MOVE26", "name": "Office move 2026", "startDate": "2026-03-09"}, token)
    project = (await gql.data(PLANNED, {"key": "MOVE26"}, token=token))["project"]

    assert made["project"] == {"id": made["project"]["id"], "key": "MOVE26"}
    assert (project["name"], project["manager"]) == ("Office move 2026", {"email": "manager@acme.test"})
    tasks = {t["title"]: t for t in project["tasks"]["nodes"]}
    assert list(tasks) == ["Plan the move", "Book movers", "Pack", "Move"]
    assert project["tasks"]["totalCount"] == 4
    assert {title: sorted(p["predecessor"]["title"] for p in t["predecessors"]) for title, t in tasks.items()} == {
        "Plan the move": [], "Book movers": [], "Pack": ["Plan the move"], "Move": ["Book movers", "Pack"],
    }
    assert {p["type"] for t in tasks.values() for p in t["predecessors"]} == {"FS"}
    assert [t["estimateHours"] for t in tasks.values()] == [16.0, 8.0, 16.0, 8.0]
    # 8 hours a day from Monday 2026-03-09: plan days 0-2, movers 0-1, pack 2-4, move 4-5.
    assert [t["startDate"] for t in tasks.values()] == ["2026-03-09", "2026-03-09", "2026-03-11", "2026-03-13"]
    assert project["startDate"] == "2026-03-09"
    assert project["targetEndDate"] == project["schedule"]["finish"] == "2026-03-14"
    # A named user keeps the step; the owner's steps go to the owner; a role is left for the manager to staff.
    assert [t["assignee"]["email"] if t["assignee"] else None for t in tasks.values()] == [
        "manager@acme.test", "member@acme.test", None, "manager@acme.test",
    ]
    assert all(t["processRun"] is None for t in tasks.values())

    draft_only = await make_process(gql, token, "DRAFTY", [{"name": "Something"}], publish=False)
    refused = await process_mutation(gql, "createProjectFromProcess", {"processKey": "DRAFTY", "key": "DR"}, token)
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["processKey"], "INVALID")]
    assert draft_only["status"] == "DRAFT"
    taken = await process_mutation(gql, "createProjectFromProcess", {"processKey": "MOVE", "key": "MOVE26"}, token)
    assert [(e["field"], e["code"]) for e in taken["userErrors"]] == [(["key"], "TAKEN")]


async def test_a_project_planned_from_a_process_links_back_to_it(gql, acme):
    token = acme[Role.MANAGER]
    await make_process(gql, token, "MOVE", [{"name": "Plan the move"}, {"name": "Move"}])

    await process_ok(gql, "createProjectFromProcess", {"processKey": "MOVE", "key": "MOVE26", "startDate": "2026-03-09"}, token)
    project = (await gql.data(PLANNED, {"key": "MOVE26"}, token=token))["project"]

    assert project["tasks"]["totalCount"] == 2
    assert project["sourceProcess"] == {"key": "MOVE", "derivedProjects": [{"key": "MOVE26"}]}


async def test_a_run_inside_a_project_counts_in_its_tasks_and_progress(gql, acme, clock):
    token = acme[Role.MANAGER]
    project = await create_project(gql, token, "OPS", startDate="2026-03-02", targetEndDate="2026-04-30")
    await create_task(gql, token, project["id"], "Plan the quarter", estimateHours=8)
    await make_process(gql, token, "QA", [{"name": "Test the build", "durationHours": 4}, {"name": "Write the report", "durationHours": 4}])

    run = (await process_ok(gql, "startProcessRun", {"processKey": "QA", "projectId": project["id"]}, token))["run"]
    query = """query($id: ID!) { project(id: $id) { progress tasks(first: 10) { totalCount nodes { key title processRun { id } } } } }"""
    seen = (await gql.data(query, {"id": project["id"]}, token=token))["project"]
    assert seen["tasks"]["totalCount"] == 3
    assert [(t["key"], t["title"], t["processRun"]) for t in seen["tasks"]["nodes"]] == [
        ("OPS-1", "Plan the quarter", None), ("OPS-2", "Test the build", {"id": run["id"]}), ("OPS-3", "Write the report", {"id": run["id"]}),
    ]
    assert seen["progress"] == 0.0

    clock.advance(hours=1)
    await set_state(gql, token, run["steps"][0]["task"]["id"], "in_progress")
    clock.advance(hours=3)
    await set_state(gql, token, run["steps"][0]["task"]["id"], "done")

    seen = (await gql.data(query, {"id": project["id"]}, token=token))["project"]
    assert seen["progress"] == 0.25  # 4 of 16 estimated hours
    listed = await gql.data("""query($p: [ID!]) { processRuns(where: {projectIds: $p}) { nodes { id project { key } } } }""",
                            {"p": [project["id"]]}, token=token)
    assert listed["processRuns"]["nodes"] == [{"id": run["id"], "project": {"key": "OPS"}}]


RUNS = """query($w: ProcessRunFilter, $o: ProcessRunOrder) { processRuns(first: 50, where: $w, orderBy: $o) {
  totalCount nodes { name } } }"""


async def test_process_runs_filter(gql, acme, clock):
    token = acme[Role.MANAGER]
    placed = await make_process(gql, token, "PLACE", [{"name": "Pick", "durationHours": 2}], triggerEvent="order.placed",
                                runNameTemplate="Order {{input.order}}")
    cancelled = await make_process(gql, token, "CANCEL", [{"name": "Refund", "durationHours": 2}], triggerEvent="order.cancelled",
                                   runNameTemplate="Refund {{input.order}}")
    await make_process(gql, token, "AUDIT", [{"name": "Count the stock", "durationHours": 1}], runNameTemplate="Audit {{number}}")

    async def raise_(name: str, order: int) -> dict[str, Any]:
        (run,) = (await process_ok(gql, "raiseEvent", {"name": name, "payload": {"order": order}}, token))["runs"]
        return run

    clock.set(at(2, 9))
    await raise_("order.placed", 1)  # still running at the end: overdue
    clock.set(at(3, 9))
    audit = (await process_ok(gql, "startProcessRun", {"processKey": "AUDIT"}, token))["run"]
    clock.set(at(3, 9.5))
    await process_ok(gql, "cancelProcessRun", {"runId": audit["id"], "note": "Stock count moved"}, token)  # ended before due
    clock.set(at(4, 9))
    refund = await raise_("order.cancelled", 1)
    clock.set(at(4, 12))
    await process_ok(gql, "cancelProcessRun", {"runId": refund["id"]}, token)  # ended an hour after due
    clock.set(at(5, 9))
    order = await raise_("order.placed", 2)
    clock.set(at(5, 10))
    await set_state(gql, token, order["steps"][0]["task"]["id"], "done")  # done in time
    clock.set(at(6, 9))

    async def names(where: dict[str, Any] | None, order_by: dict[str, Any] | None = None) -> list[str]:
        data = (await gql.data(RUNS, {"w": where, "o": order_by}, token=token))["processRuns"]
        assert data["totalCount"] == len(data["nodes"])
        return [n["name"] for n in data["nodes"]]

    assert await names(None) == ["Order 2", "Refund 1", "Audit 1", "Order 1"]
    assert await names(None, {"direction": "ASC"}) == ["Order 1", "Audit 1", "Refund 1", "Order 2"]
    assert await names({"processIds": [placed["id"]]}) == ["Order 2", "Order 1"]
    assert await names({"processIds": [placed["id"], cancelled["id"]]}) == ["Order 2", "Refund 1", "Order 1"]
    assert await names({"states": ["RUNNING"]}) == ["Order 1"]
    assert await names({"states": ["CANCELLED", "COMPLETED"]}) == ["Order 2", "Refund 1", "Audit 1"]
    assert await names({"overdue": True}) == ["Refund 1", "Order 1"]
    assert await names({"overdue": False}) == ["Order 2", "Audit 1"]
    assert await names({"startedAfter": "2026-03-03T09:00:00Z", "startedBefore": "2026-03-05T09:00:00Z"}) == ["Refund 1", "Audit 1"]
    assert await names({"triggerEvents": ["order.placed"]}) == ["Order 2", "Order 1"]
    assert await names({"triggerEvents": ["order.cancelled", "order.lost"]}) == ["Refund 1"]
    assert await names({"processIds": [placed["id"]], "states": ["COMPLETED"], "overdue": False}) == ["Order 2"]
    assert await names({"triggerEvents": ["order.placed"], "startedBefore": "2026-03-02T09:00:00Z"}) == []


async def test_round_robin_takes_the_team_in_turn(gql, acme, clock):
    token = acme[Role.MANAGER]
    ids = {role: await viewer_id(gql, acme[role]) for role in (Role.ADMIN, Role.MANAGER, Role.MEMBER)}
    team = await gql.data("""mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } userErrors { code } } }""",
                          {"i": {"name": "Support", "memberIds": list(ids.values())}}, token=acme[Role.OWNER])
    team_id = team["createTeam"]["team"]["id"]
    steps = [
        {"name": "Answer the ticket", "assignment": "ROUND_ROBIN"},
        {"name": "Check the answer", "assignment": "TEAM_ROLE", "assigneeRole": "MANAGER"},
    ]
    await make_process(gql, token, "TICKET", steps, teamId=team_id)
    await make_process(gql, token, "CHAT", steps[:1], teamId=team_id)

    async def assignees(key: str) -> list[str | None]:
        clock.advance(minutes=10)
        run = (await process_ok(gql, "startProcessRun", {"processKey": key}, token))["run"]
        return [s["task"]["assignee"]["email"] if s["task"]["assignee"] else None for s in run["steps"]]

    # The team's members in turn (the organisation's owner is not in the team, so never chosen);
    # each process keeps its own turn.
    answered = [(await assignees("TICKET"))[0] for _ in range(4)]
    assert answered == ["admin@acme.test", "manager@acme.test", "member@acme.test", "admin@acme.test"]
    assert [(await assignees("CHAT"))[0] for _ in range(2)] == ["admin@acme.test", "manager@acme.test"]
    assert (await assignees("TICKET")) == ["manager@acme.test", "manager@acme.test"]


TASK_HISTORY = """query($id: ID!) { node(id: $id) { ... on Task { category updatedAt history(first: 10) { nodes { type occurredAt } } } } }"""


async def test_a_decision_shows_in_the_history_of_the_tasks_it_moves(gql, acme, clock):
    token = acme[Role.MANAGER]
    await make_process(gql, token, "CTR", approval_steps("BACK"))
    run = (await process_ok(gql, "startProcessRun", {"processKey": "CTR"}, token))["run"]
    draft, approve = run["steps"][0]["task"]["id"], run["steps"][2]["task"]["id"]
    await do_steps(gql, clock, token, run, ["draft-contract", "legal-review"])

    clock.advance(hours=1)
    await process_ok(gql, DECIDE, {"runStepId": run["steps"][2]["id"], "approve": False, "comment": "Clause 7 is missing"}, token)
    sent_back = (await gql.data(TASK_HISTORY, {"id": draft}, token=token))["node"]
    assert sent_back["category"] == "TODO"
    assert sent_back["updatedAt"] == clock.now().isoformat()
    assert sent_back["history"]["nodes"][0] == {"type": "task.state_changed", "occurredAt": clock.now().isoformat()}

    await do_steps(gql, clock, token, run, ["draft-contract", "legal-review"])
    clock.advance(hours=1)
    await process_ok(gql, DECIDE, {"runStepId": run["steps"][2]["id"], "approve": True}, token)
    approved = (await gql.data(TASK_HISTORY, {"id": approve}, token=token))["node"]
    assert approved["category"] == "DONE"
    assert approved["updatedAt"] == clock.now().isoformat()
    assert approved["history"]["nodes"][0] == {"type": "task.state_changed", "occurredAt": clock.now().isoformat()}


async def test_a_date_time_argument_without_a_time_zone_is_no_internal_error(gql, acme):
    token = acme[Role.MANAGER]
    await make_process(gql, token, "ONB", [{"name": "Welcome"}])

    metrics = await gql("""{ process(key: "ONB") { metrics(since: "2026-03-01T00:00:00", until: "2026-03-05T00:00:00") { runsStarted } } }""", token=token)
    runs = await gql("""{ processRuns(where: {startedAfter: "2026-03-01T00:00:00"}) { totalCount } }""", token=token)

    for body in (metrics, runs):
        codes = [e["extensions"]["code"] for e in body.get("errors") or []]
        assert codes and set(codes) == {"BAD_USER_INPUT"}, body
        assert "no time zone" in body["errors"][0]["message"]
