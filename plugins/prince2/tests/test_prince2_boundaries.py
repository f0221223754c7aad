"""A PRINCE2 project through GraphQL: its board, end-stage reports and stage boundaries."""

from __future__ import annotations

from typing import Any

from mcgraph.testing import Client

PRINCE2 = """
query P($id: ID!) {
  project(id: $id) {
    stage { key }
    prince2 {
      quorum
      board { role user { id name } }
      stageReports { stage summary }
      approvals(toStage: "initiating") { id fromStage toStage user { name } }
    }
  }
}
"""


async def prince2_of(client: Client, project_id: str) -> dict[str, Any]:
    return (await client.data(PRINCE2, {"id": project_id}))["project"]


async def move(client: Client, project_id: str, stage: str) -> list[dict[str, Any]]:
    payload = await client.mutate("moveProjectStage", {"projectId": project_id, "stage": stage}, "project { stage { key } }", ok=False)
    return payload["userErrors"]


async def board_of_three(client: Client) -> tuple[str, dict[str, Client]]:
    project = await client.mutate(
        "createProject", {"key": "P2", "name": "Ledger", "methodology": "prince2", "startDate": "2026-03-02"}, "project { id }"
    )
    project_id = project["project"]["id"]
    members = {name: await client.as_member(f"{name}@acme.test", "member") for name in ("olivia", "sam", "priya")}
    roles = {"olivia": "executive", "sam": "senior_user", "priya": "senior_supplier"}
    seats = [{"userId": await members[name].viewer_id(), "role": roles[name]} for name in members]
    await client.mutate("setProjectBoard", {"projectId": project_id, "members": seats, "quorum": 2})
    return project_id, members


async def test_a_stage_boundary_needs_the_report_and_a_quorum_of_the_board(mcgraph_client: Client) -> None:
    project_id, board = await board_of_three(mcgraph_client)

    errors = await move(mcgraph_client, project_id, "initiating")
    assert [(e["code"], e["message"]) for e in errors] == [
        ("GATE_REFUSED", "prince2: no end-stage report for Starting up"),
        ("GATE_REFUSED", "prince2: 2 of 3 board approvals needed; 0 given"),
    ]

    outsider = await mcgraph_client.as_member("nora@acme.test", "member")
    refused = await outsider.mutate("approveStageBoundary", {"projectId": project_id, "toStage": "initiating"}, ok=False)
    assert [e["code"] for e in refused["userErrors"]] == ["FORBIDDEN"]

    await mcgraph_client.mutate(
        "submitEndStageReport", {"projectId": project_id, "stage": "starting_up", "summary": "Viable; brief agreed."}
    )
    await board["olivia"].mutate("approveStageBoundary", {"projectId": project_id, "toStage": "initiating", "note": "Go"})
    again = await board["olivia"].mutate("approveStageBoundary", {"projectId": project_id, "toStage": "initiating"}, ok=False)
    assert [e["code"] for e in again["userErrors"]] == ["TAKEN"]

    errors = await move(mcgraph_client, project_id, "initiating")
    assert [e["message"] for e in errors] == ["prince2: 2 of 3 board approvals needed; 1 given (olivia)"]

    await board["sam"].mutate("approveStageBoundary", {"projectId": project_id, "toStage": "initiating"})
    assert await move(mcgraph_client, project_id, "initiating") == []

    seen = await prince2_of(mcgraph_client, project_id)
    assert seen["stage"]["key"] == "initiating"
    assert seen["prince2"]["quorum"] == 2
    assert [(m["role"], m["user"]["name"]) for m in seen["prince2"]["board"]] == [
        ("executive", "olivia"),
        ("senior_user", "sam"),
        ("senior_supplier", "priya"),
    ]
    assert seen["prince2"]["stageReports"] == [{"stage": "starting_up", "summary": "Viable; brief agreed."}]
    assert [a["user"]["name"] for a in seen["prince2"]["approvals"]] == ["olivia", "sam"]
    node = await mcgraph_client.data(
        "query N($id: ID!) { node(id: $id) { ... on Prince2Approval { fromStage toStage } } }",
        {"id": seen["prince2"]["approvals"][0]["id"]},
    )
    assert node["node"] == {"fromStage": "starting_up", "toStage": "initiating"}
    approved = await mcgraph_client.data('{ events(types: ["prince2.stage_boundary_approved"]) { nodes { data } } }')
    assert [e["data"]["to_stage"] for e in approved["events"]["nodes"]] == ["initiating"]


async def test_other_methodologies_have_no_prince2_part(mcgraph_client: Client) -> None:
    project = await mcgraph_client.mutate("createProject", {"key": "S1", "name": "Plain", "methodology": "simple"}, "project { id }")
    project_id = project["project"]["id"]
    data = await mcgraph_client.data("query P($id: ID!) { project(id: $id) { prince2 { quorum } } }", {"id": project_id})
    assert data["project"]["prince2"] is None
    refused = await mcgraph_client.mutate("setProjectBoard", {"projectId": project_id, "members": []}, ok=False)
    assert [e["code"] for e in refused["userErrors"]] == ["INVALID"]
    assert await move(mcgraph_client, project_id, "execute") == []
