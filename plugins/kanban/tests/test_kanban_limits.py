"""setWipLimit through GraphQL: its checks, its event, the health of a board over its limit."""

from __future__ import annotations

from typing import Any

from test_kanban_board import create_project, create_task, move

HEALTH = "query($id: ID!) { project(id: $id) { health { health reasons { code message } } kanban { wipLimits { state limit } } } }"


async def set_limit(client: Any, project: str, state: str, limit: int | None) -> dict[str, Any]:
    return await client.mutate("setWipLimit", {"projectId": project, "state": state, "limit": limit}, "wipLimit { state limit count }", ok=False)


async def test_unknown_states_bad_limits_and_other_methodologies_are_user_errors(mcgraph_client):
    project = await create_project(mcgraph_client, "KL")
    unknown = await set_limit(mcgraph_client, project, "testing", 2)
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [(["state"], "UNKNOWN_STATE")]
    zero = await set_limit(mcgraph_client, project, "doing", 0)
    assert [(e["field"], e["code"]) for e in zero["userErrors"]] == [(["limit"], "INVALID")]
    simple = await create_project(mcgraph_client, "SI", "simple")
    other = await set_limit(mcgraph_client, simple, "doing", 2)
    assert [e["field"] for e in other["userErrors"]] == [["projectId"]]
    assert (await mcgraph_client.data(HEALTH, {"id": simple}))["project"]["kanban"] is None


async def test_lowering_a_limit_puts_the_board_at_risk_and_records_an_event(mcgraph_client):
    client = mcgraph_client
    project = await create_project(client, "KW")
    for title in ("A", "B", "C"):
        await move(client, await create_task(client, project, title), "doing")
    lowered = await set_limit(client, project, "doing", 2)
    assert lowered["userErrors"] == []
    assert lowered["wipLimit"] == {"state": "doing", "limit": 2, "count": 3}
    health = (await client.data(HEALTH, {"id": project}))["project"]
    assert health["health"]["health"] == "AT_RISK"
    assert {"code": "KANBAN_WIP_EXCEEDED", "message": "3 tasks in Doing, over its WIP limit of 2"} in health["health"]["reasons"]
    assert {"state": "doing", "limit": 2} in health["kanban"]["wipLimits"]

    removed = await set_limit(client, project, "doing", None)
    assert removed["wipLimit"] == {"state": "doing", "limit": None, "count": 3}
    codes = [r["code"] for r in (await client.data(HEALTH, {"id": project}))["project"]["health"]["reasons"]]
    assert "KANBAN_WIP_EXCEEDED" not in codes

    events = await client.data('{ events(types: ["kanban.wip_limit_changed"], first: 10) { nodes { data } } }')
    assert [e["data"] for e in events["events"]["nodes"]] == [
        {"state": "doing", "limit": 2, "before": None},
        {"state": "doing", "limit": None, "before": 2},
    ]


async def test_board_windows_outside_one_to_366_days_are_errors(mcgraph_client):
    project = await create_project(mcgraph_client, "KE")
    for args, days in (("throughput(days: 0) { done }", 0), ('cumulativeFlow(from: "2026-03-05", to: "2026-03-01") { date }', -3)):
        body = await mcgraph_client("query($id: ID!) { project(id: $id) { kanban { %s } } }" % args, {"id": project})
        assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
            (f"A window of {days} days is not from 1 to 366 days.", "BAD_USER_INPUT")
        ]
