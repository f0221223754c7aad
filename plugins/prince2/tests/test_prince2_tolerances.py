"""Stage tolerances through GraphQL: baselines, OFF_TRACK health, exceptions and reports."""

from __future__ import annotations

from typing import Any

from mcgraph.testing import Client, eventually

STATE = """
query P($id: ID!) {
  project(id: $id) {
    health { health reasons { code message } }
    prince2 {
      tolerances { stage budget costTolerance baselineCost plannedEnd timeToleranceDays }
      exceptions { stage kind raisedAt reportDue requestedAt reportedAt report }
    }
  }
}
"""
EVENTS = "query E($types: [String!]) { events(types: $types) { nodes { data } } }"


async def state_of(client: Client, project_id: str) -> dict[str, Any]:
    return (await client.data(STATE, {"id": project_id}))["project"]


async def events(client: Client, event_type: str) -> list[dict[str, Any]]:
    return [node["data"] for node in (await client.data(EVENTS, {"types": [event_type]}))["events"]["nodes"]]


async def project_in_initiating(client: Client, spent_before: str) -> str:
    """A PRINCE2 project that spent ``spent_before`` in starting up, then moved to initiating."""
    created = await client.mutate(
        "createProject", {"key": "P2", "name": "Ledger", "methodology": "prince2", "startDate": "2026-03-02"}, "project { id }"
    )
    project_id = created["project"]["id"]
    seats = [{"userId": await client.viewer_id(), "role": "executive"}]
    await client.mutate("setProjectBoard", {"projectId": project_id, "members": seats, "quorum": 1})
    await client.mutate("addProjectCost", {"projectId": project_id, "amount": spent_before, "description": "Brief"})
    await client.mutate("submitEndStageReport", {"projectId": project_id, "stage": "starting_up", "summary": "Ok"})
    await client.mutate("approveStageBoundary", {"projectId": project_id, "toStage": "initiating"})
    await client.mutate("moveProjectStage", {"projectId": project_id, "stage": "initiating"})
    return project_id


async def test_the_default_quorum_comes_from_the_settings(mcgraph_client: Client) -> None:
    created = await mcgraph_client.mutate(
        "createProject", {"key": "P2", "name": "Ledger", "methodology": "prince2"}, "project { id }"
    )
    project_id = created["project"]["id"]
    viewer = await mcgraph_client.viewer_id()
    refused = await mcgraph_client.mutate(
        "setProjectBoard", {"projectId": project_id, "members": [{"userId": viewer, "role": "executive"}]}, ok=False
    )
    assert [(e["field"], e["message"]) for e in refused["userErrors"]] == [
        (["quorum"], "A quorum of 2 cannot be met by a board of 1.")
    ]


async def test_exceeding_the_cost_tolerance_raises_one_exception_to_report(mcgraph_client: Client) -> None:
    project_id = await project_in_initiating(mcgraph_client, "300")

    async def baseline_taken() -> None:
        tolerances = (await state_of(mcgraph_client, project_id))["prince2"]["tolerances"]
        assert [(t["stage"], t["baselineCost"]) for t in tolerances] == [("initiating", "300.00")]

    await eventually(baseline_taken)
    await mcgraph_client.mutate(
        "setStageTolerance", {"projectId": project_id, "stage": "initiating", "budget": "1000", "costTolerance": "100"}
    )
    await mcgraph_client.mutate("addProjectCost", {"projectId": project_id, "amount": "1150", "description": "PID"})

    health = (await state_of(mcgraph_client, project_id))["health"]
    assert health["health"] == "OFF_TRACK"
    assert health["reasons"][0] == {
        "code": "PRINCE2_COST_TOLERANCE",
        "message": "Initiating cost 1150.00 exceeds its budget 1000.00 plus tolerance 100.00 by 50.00: "
        "an exception report is needed",
    }

    async def one_exception_raised() -> None:
        raised = await events(mcgraph_client, "prince2.exception_raised")
        assert [(e["stage"], e["kind"]) for e in raised] == [("initiating", "cost")]

    await eventually(one_exception_raised)
    await mcgraph_client.mutate("addProjectCost", {"projectId": project_id, "amount": "10", "description": "More"})
    exceptions = (await state_of(mcgraph_client, project_id))["prince2"]["exceptions"]
    assert [(x["stage"], x["kind"], x["reportedAt"]) for x in exceptions] == [("initiating", "cost", None)]
    assert exceptions[0]["reportDue"] > exceptions[0]["raisedAt"]

    await mcgraph_client.mutate("submitExceptionReport", {"projectId": project_id, "summary": "Rework the plan."})
    exceptions = (await state_of(mcgraph_client, project_id))["prince2"]["exceptions"]
    assert exceptions[0]["report"] == "Rework the plan." and exceptions[0]["reportedAt"] is not None
    assert [e["kind"] for e in await events(mcgraph_client, "prince2.exception_reported")] == ["cost"]
    again = await mcgraph_client.mutate("submitExceptionReport", {"projectId": project_id, "summary": "Again"}, ok=False)
    assert [e["code"] for e in again["userErrors"]] == ["INVALID"]
    await eventually(one_exception_raised)  # still one, after more cost was added


async def test_running_past_the_time_tolerance_raises_a_time_exception(mcgraph_client: Client, mcgraph_clock: Any) -> None:
    created = await mcgraph_client.mutate(
        "createProject", {"key": "P3", "name": "Late", "methodology": "prince2"}, "project { id }"
    )
    project_id = created["project"]["id"]
    tolerance = {"projectId": project_id, "stage": "starting_up", "plannedEnd": "2026-03-04", "timeToleranceDays": 1}
    await mcgraph_client.mutate("setStageTolerance", tolerance)
    assert (await state_of(mcgraph_client, project_id))["health"]["health"] == "ON_TRACK"

    mcgraph_clock.advance(days=5)
    health = (await state_of(mcgraph_client, project_id))["health"]
    assert [(r["code"], r["message"]) for r in health["reasons"]] == [
        (
            "PRINCE2_TIME_TOLERANCE",
            "Starting up is 2 days past its planned end 2026-03-04 plus 1 day of tolerance: an exception report is needed",
        )
    ]
    await mcgraph_client.mutate("createTask", {"projectId": project_id, "title": "Catch up"})

    async def time_exception_raised() -> None:
        assert [(e["stage"], e["kind"]) for e in await events(mcgraph_client, "prince2.exception_raised")] == [
            ("starting_up", "time")
        ]

    await eventually(time_exception_raised)


async def test_an_automation_asks_for_the_exception_report(mcgraph_client: Client) -> None:
    rule = {
        "name": "Ask for exception reports",
        "trigger": {"kind": "EVENT", "eventType": "prince2.exception_raised"},
        "actions": [{"type": "prince2.request_exception_report", "params": {}}],
    }
    await mcgraph_client.mutate("createAutomationRule", rule, "rule { id }")
    project_id = await project_in_initiating(mcgraph_client, "300")
    await mcgraph_client.mutate("setStageTolerance", {"projectId": project_id, "stage": "initiating", "budget": "100"})
    await mcgraph_client.mutate("addProjectCost", {"projectId": project_id, "amount": "500", "description": "PID"})

    async def requested() -> None:
        exceptions = (await state_of(mcgraph_client, project_id))["prince2"]["exceptions"]
        assert [(x["kind"], x["requestedAt"] is not None) for x in exceptions] == [("cost", True)]
        assert [e["kind"] for e in await events(mcgraph_client, "prince2.exception_report_requested")] == ["cost"]

    await eventually(requested)
