"""A waterfall project through GraphQL: phases, the gate, FS starts and earned value."""

from __future__ import annotations

from typing import Any

from mcgraph.testing import Client

PROJECT = "project { id }"
PHASES = """query($id: ID!) { project(id: $id) { stage { key } phases { phase name milestone { id name }
  tasksDone tasksTotal signedOff current } } }"""
HEALTH = """query($id: ID!) { project(id: $id) { health { computed reasons { code health message value threshold } }
  earnedValue { bac pv ev ac spi cpi sv cv asOf } } }"""


async def create_project(client: Client, key: str = "WF", **extra: Any) -> str:
    values = {
        "key": key, "name": "Billing system", "methodology": "waterfall",
        "startDate": "2026-03-02", "targetEndDate": "2026-04-01", "plannedBudget": "10000", **extra,
    }
    return (await client.mutate("createProject", values, PROJECT))["project"]["id"]


async def milestone(client: Client, project: str, name: str, phase: str) -> str:
    found = await client.mutate("createMilestone", {"projectId": project, "name": name}, "milestone { id }")
    milestone_id = found["milestone"]["id"]
    await client.mutate("setPhaseMilestone", {"projectId": project, "phase": phase, "milestoneId": milestone_id}, "phase { phase }")
    return milestone_id


async def task(client: Client, project: str, title: str, hours: float, start: str, due: str, milestone_id: str | None = None) -> str:
    values = {"projectId": project, "title": title, "estimateHours": hours, "startDate": start, "dueDate": due, "milestoneId": milestone_id}
    return (await client.mutate("createTask", values, "task { id }"))["task"]["id"]


async def move(client: Client, project: str, stage: str) -> list[tuple[str, str]]:
    payload = await client.mutate("moveProjectStage", {"projectId": project, "stage": stage}, "project { stage { key } }", ok=False)
    return [(e["code"], e["message"]) for e in payload["userErrors"]]


async def set_state(client: Client, task_id: str, state: str, ok: bool = True) -> list[tuple[str, str]]:
    payload = await client.mutate("setTaskState", {"taskId": task_id, "state": state}, "task { id }", ok=ok)
    return [(e["code"], e["message"]) for e in payload["userErrors"]]


async def test_a_waterfall_project_through_its_gates(mcgraph_client: Client):
    client = mcgraph_client
    project = await create_project(client)
    requirements = await milestone(client, project, "Requirements agreed", "requirements")
    design = await milestone(client, project, "Design approved", "design")
    interview = await task(client, project, "Interview users", 10, "2026-03-02", "2026-03-06", requirements)
    spec = await task(client, project, "Write the spec", 10, "2026-03-02", "2026-03-06", requirements)
    await task(client, project, "Design the schema", 20, "2026-03-06", "2026-03-16", design)

    assert await move(client, project, "design") == [
        ("GATE_REFUSED", "waterfall: 2 tasks of the Requirements phase not done: 'Interview users', 'Write the spec'"),
        ("GATE_REFUSED", "waterfall: the Requirements milestone 'Requirements agreed' is not signed off"),
    ]

    await set_state(client, interview, "done")
    await set_state(client, spec, "done")
    assert await move(client, project, "design") == [
        ("GATE_REFUSED", "waterfall: the Requirements milestone 'Requirements agreed' is not signed off"),
    ]
    await client.mutate("signOffMilestone", {"milestoneId": requirements}, "milestone { id }")
    assert await move(client, project, "design") == []

    phases = (await client.data(PHASES, {"id": project}))["project"]
    assert phases["stage"]["key"] == "design"
    by_key = {p["phase"]: p for p in phases["phases"]}
    assert [p["phase"] for p in phases["phases"]] == ["requirements", "design", "build", "test", "deploy"]
    assert by_key["requirements"] == {
        "phase": "requirements", "name": "Requirements", "milestone": {"id": requirements, "name": "Requirements agreed"},
        "tasksDone": 2, "tasksTotal": 2, "signedOff": True, "current": False,
    }
    assert (by_key["design"]["tasksDone"], by_key["design"]["tasksTotal"], by_key["design"]["current"]) == (0, 1, True)
    assert by_key["build"]["milestone"] is None

    refused = await move(client, project, "test")
    assert ("GATE_REFUSED", "waterfall: the Build phase cannot be skipped: move to build first") in refused
    assert ("GATE_REFUSED", "waterfall: the Design milestone 'Design approved' is not signed off") in refused

    assert await move(client, project, "requirements") == []  # rework is allowed


async def test_a_task_does_not_start_before_its_fs_predecessor_is_done(mcgraph_client: Client):
    client = mcgraph_client
    project = await create_project(client)
    schema = await task(client, project, "Design the schema", 20, "2026-03-02", "2026-03-06")
    api = await task(client, project, "Build the API", 40, "2026-03-06", "2026-03-20")
    await client.mutate("addDependency", {"predecessorId": schema, "successorId": api, "type": "FS"}, "dependency { id }")

    assert await set_state(client, api, "in_progress", ok=False) == [
        ("TRANSITION_REFUSED", "waterfall: the finish-to-start predecessor 'Design the schema' is not done"),
    ]
    await set_state(client, schema, "in_progress")
    await set_state(client, schema, "done")
    assert await set_state(client, api, "in_progress") == []


async def test_spending_ahead_of_the_work_done_lowers_the_cpi(mcgraph_client: Client):
    client = mcgraph_client
    project = await create_project(client)
    done = await task(client, project, "Interview users", 20, "2026-03-02", "2026-03-06")
    await task(client, project, "Build it", 80, "2026-03-06", "2026-03-26")
    await set_state(client, done, "done")
    await client.mutate("addProjectCost", {"projectId": project, "amount": "5000"}, "costEntry { id }")

    found = (await client.data(HEALTH, {"id": project}))["project"]
    # 20 of 100 estimated hours done: EV = 2000; AC = 5000; CPI = 0.4. Nothing planned yet
    # on the first day, so no SPI.
    assert found["earnedValue"] == {
        "bac": "10000.00", "pv": "0.00", "ev": "2000.00", "ac": "5000.00", "spi": None, "cpi": 0.4,
        "sv": "2000.00", "cv": "-3000.00", "asOf": "2026-03-02",
    }
    cpi = next(r for r in found["health"]["reasons"] if r["code"] == "WATERFALL_CPI")
    assert cpi == {
        "code": "WATERFALL_CPI", "health": "OFF_TRACK", "message": "cost performance index 0.40: earned 2000.00 for 5000.00 spent",
        "value": 0.4, "threshold": 0.8,
    }
    assert found["health"]["computed"] == "OFF_TRACK"


async def test_falling_behind_the_plan_lowers_the_spi(mcgraph_client: Client, mcgraph_clock: Any):
    client = mcgraph_client
    project = await create_project(client)
    done = await task(client, project, "Interview users", 20, "2026-03-02", "2026-03-06")
    await task(client, project, "Build it", 20, "2026-03-06", "2026-03-26")
    await task(client, project, "Write the spec", 60, "2026-03-02", "2026-03-12")
    await set_state(client, done, "done")
    mcgraph_clock.advance(days=4)
    await client.mutate("updateProject", {"projectId": project, "name": "Billing system v2"}, PROJECT)

    found = (await client.data(HEALTH, {"id": project}))["project"]
    # Mar 6: 20 h + 60 h * 4/10 = 44 of 100 h planned (PV 4400); 20 h done (EV 2000).
    figures = found["earnedValue"]
    assert (figures["pv"], figures["ev"], figures["spi"], figures["asOf"]) == ("4400.00", "2000.00", 2000 / 4400, "2026-03-06")
    spi = next(r for r in found["health"]["reasons"] if r["code"] == "WATERFALL_SPI")
    assert (spi["health"], spi["threshold"]) == ("OFF_TRACK", 0.8)
    assert spi["message"] == "schedule performance index 0.45: earned 2000.00 of 4400.00 planned"


async def test_other_methodologies_have_no_waterfall_fields(mcgraph_client: Client):
    client = mcgraph_client
    project = (await client.mutate("createProject", {"key": "SI", "name": "Simple", "plannedBudget": "100"}, PROJECT))["project"]["id"]
    found = (await client.data("query($id: ID!) { project(id: $id) { phases { phase } earnedValue { bac } } }", {"id": project}))
    assert found["project"] == {"phases": None, "earnedValue": None}
    refused = await client.mutate("setPhaseMilestone", {"projectId": project, "phase": "design"}, ok=False)
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["projectId"], "INVALID")]
