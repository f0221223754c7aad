"""The release gate of agile projects, and the automation action that fills the active sprint."""

from __future__ import annotations

from typing import Any

from mcgraph.testing import eventually

MOVE = "project { stage { key } }"


async def setup(client: Any) -> tuple[str, str, list[str]]:
    project = (await client.mutate("createProject", {"key": "AG", "name": "Agile", "methodology": "agile"}, "project { id }"))["project"]["id"]
    tasks = [
        (await client.mutate("createTask", {"projectId": project, "title": title, "points": 2}, "task { id }"))["task"]["id"]
        for title in ("One", "Two")
    ]
    sprint = (
        await client.mutate("createSprint", {"projectId": project, "startDate": "2026-03-02", "endDate": "2026-03-13"}, "sprint { id }")
    )["sprint"]["id"]
    await client.mutate("addTasksToSprint", {"sprintId": sprint, "taskIds": tasks})
    await client.mutate("startSprint", {"sprintId": sprint})
    return project, sprint, tasks


async def test_release_waits_for_the_active_sprints_tasks_and_closing_for_its_completion(mcgraph_client):
    project, sprint, (one, two) = await setup(mcgraph_client)
    await mcgraph_client.mutate("moveProjectStage", {"projectId": project, "stage": "delivery"}, MOVE)
    await mcgraph_client.mutate("setTaskState", {"taskId": one, "state": "done"})
    refused = await mcgraph_client.mutate("moveProjectStage", {"projectId": project, "stage": "release"}, MOVE, ok=False)
    assert [(e["code"], e["message"]) for e in refused["userErrors"]] == [("GATE_REFUSED", "agile: sprint 1 (Sprint 1) has 1 open task")]

    await mcgraph_client.mutate("setTaskState", {"taskId": two, "state": "done"})
    moved = await mcgraph_client.mutate("moveProjectStage", {"projectId": project, "stage": "release"}, MOVE)
    assert moved["project"]["stage"]["key"] == "release"
    refused = await mcgraph_client.mutate("moveProjectStage", {"projectId": project, "stage": "closed"}, MOVE, ok=False)
    assert [e["message"] for e in refused["userErrors"]] == ["agile: sprint 1 (Sprint 1) is still active; complete it first"]
    await mcgraph_client.mutate("completeSprint", {"sprintId": sprint})
    closed = await mcgraph_client.mutate("moveProjectStage", {"projectId": project, "stage": "closed"}, MOVE)
    assert closed["project"]["stage"]["key"] == "closed"


async def test_the_catalog_offers_the_agile_action_and_triggers(mcgraph_client):
    catalog = (await mcgraph_client.data("{ automationCatalog { actions { type optionalParams } triggers { eventType plugin } } }"))["automationCatalog"]
    assert {"type": "agile.add_to_active_sprint", "optionalParams": ["taskId"]} in catalog["actions"]
    ours = {t["eventType"] for t in catalog["triggers"] if t["plugin"] == "agile"}
    assert {"agile.sprint_created", "agile.sprint_started", "agile.sprint_completed"} <= ours


RULE = """mutation($i: CreateAutomationRuleInput!) { createAutomationRule(input: $i) { rule { id } userErrors { message } } }"""
RUNS = "{ automationRuns(first: 20) { nodes { state results { type status output error } } } }"


async def test_a_rule_puts_new_tasks_into_the_active_sprint_once(mcgraph_client, mcgraph_clock):
    project, sprint, _ = await setup(mcgraph_client)
    mcgraph_clock.advance(hours=2)
    rule = {
        "name": "New work joins the sprint",
        "trigger": {"kind": "EVENT", "eventType": "task.created"},
        "actions": [{"type": "agile.add_to_active_sprint", "params": {}}],
    }
    assert (await mcgraph_client.data(RULE, {"i": rule}))["createAutomationRule"]["userErrors"] == []
    late = (await mcgraph_client.mutate("createTask", {"projectId": project, "title": "Late", "points": 1}, "task { id }"))["task"]["id"]

    async def joined() -> dict[str, Any]:
        data = await mcgraph_client.data("query($id: ID!) { node(id: $id) { ... on Sprint { scopeAddedPoints tasks { taskId } } } }", {"id": sprint})
        assert late in [t["taskId"] for t in data["node"]["tasks"]]
        return data["node"]

    assert (await eventually(joined))["scopeAddedPoints"] == 1.0

    async def succeeded() -> list[dict[str, Any]]:
        runs = (await mcgraph_client.data(RUNS))["automationRuns"]["nodes"]
        assert runs and all(run["state"] == "SUCCEEDED" for run in runs), runs
        return runs

    [run] = await eventually(succeeded)
    assert run["results"][0]["status"] == "done"
    assert run["results"][0]["output"]["added"] is True

    again = {**rule, "name": "Started work joins the sprint", "trigger": {"kind": "EVENT", "eventType": "task.state_changed"}}
    assert (await mcgraph_client.data(RULE, {"i": again}))["createAutomationRule"]["userErrors"] == []
    await mcgraph_client.mutate("setTaskState", {"taskId": late, "state": "in_progress"})

    async def both() -> list[dict[str, Any]]:
        runs = await succeeded()
        assert len(runs) == 2
        return runs

    assert sorted(run["results"][0]["output"]["added"] for run in await eventually(both)) == [False, True]
    assert len((await joined())["tasks"]) == 3
