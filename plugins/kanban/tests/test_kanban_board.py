"""A kanban project through GraphQL: WIP limits refuse a transition, and over a week of
moves the board reports lead, cycle and blocked time, throughput and cumulative flow."""

from __future__ import annotations

from typing import Any

from mcgraph.testing import eventually

BOARD = """query($id: ID!) { project(id: $id) { health { health reasons { code value threshold } } kanban {
  wipLimits { state limit count }
  leadTime { average p85 count } cycleTime { average p85 count } blockedHours
  throughput(days: 5) { date done }
  cumulativeFlow(from: "2026-03-02", to: "2026-03-06") { date counts { state count } }
} } }"""

STATE = "mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { task { id } userErrors { code message } } }"


async def create_project(client: Any, key: str, methodology: str = "kanban") -> str:
    payload = await client.mutate("createProject", {"key": key, "name": key, "methodology": methodology}, "project { id }")
    return payload["project"]["id"]


async def create_task(client: Any, project_id: str, title: str) -> str:
    payload = await client.mutate("createTask", {"projectId": project_id, "title": title}, "task { id state { key } }")
    assert payload["task"]["state"]["key"] == "backlog"
    return payload["task"]["id"]


async def set_state(client: Any, task_id: str, state: str) -> list[dict[str, str]]:
    data = await client.data(STATE, {"i": {"taskId": task_id, "state": state}})
    return data["setTaskState"]["userErrors"]


async def move(client: Any, task_id: str, state: str) -> None:
    assert await set_state(client, task_id, state) == []


async def test_wip_limit_and_a_week_of_flow(mcgraph_client, mcgraph_clock):
    client = mcgraph_client
    project = await create_project(client, "KB")
    limit = await client.mutate("setWipLimit", {"projectId": project, "state": "doing", "limit": 2}, "wipLimit { state limit count }")
    assert limit["wipLimit"] == {"state": "doing", "limit": 2, "count": 0}
    a, b, c = [await create_task(client, project, title) for title in ("A", "B", "C")]

    # Monday 09:00: two tasks start, the third is refused
    await move(client, a, "doing")
    await move(client, b, "doing")
    assert await set_state(client, c, "doing") == [
        {"code": "TRANSITION_REFUSED", "message": "kanban: WIP limit of 2 reached in Doing (2 tasks)"}
    ]
    mcgraph_clock.advance(days=1)  # Tuesday: A is blocked, which frees room for C
    await move(client, a, "blocked")
    await move(client, c, "doing")
    tuesday = (await client.data(BOARD, {"id": project}))["project"]["health"]
    assert {"code": "KANBAN_BLOCKED", "value": 1 / 3, "threshold": 0.25} in tuesday["reasons"]
    assert tuesday["health"] == "AT_RISK"
    mcgraph_clock.advance(days=1)  # Wednesday: B is done, A resumes
    await move(client, b, "done")
    await move(client, a, "doing")
    mcgraph_clock.advance(days=1)  # Thursday
    await move(client, a, "review")
    await move(client, c, "done")
    mcgraph_clock.advance(days=1)  # Friday
    await move(client, a, "done")

    async def finished() -> dict[str, Any]:
        board = (await client.data(BOARD, {"id": project}))["project"]["kanban"]
        assert board["leadTime"]["count"] == 3
        return board

    board = await eventually(finished)
    # lead: B 48h, C 72h, A 96h; cycle: B 48h, C 48h, A 96h
    assert board["leadTime"] == {"average": 72.0, "p85": 96.0, "count": 3}
    assert board["cycleTime"] == {"average": 64.0, "p85": 96.0, "count": 3}
    assert board["blockedHours"] == 24.0
    assert board["throughput"] == [
        {"date": "2026-03-02", "done": 0},
        {"date": "2026-03-03", "done": 0},
        {"date": "2026-03-04", "done": 1},
        {"date": "2026-03-05", "done": 1},
        {"date": "2026-03-06", "done": 1},
    ]
    flow = {day["date"]: {c["state"]: c["count"] for c in day["counts"] if c["count"]} for day in board["cumulativeFlow"]}
    assert flow == {
        "2026-03-02": {"backlog": 1, "doing": 2},
        "2026-03-03": {"doing": 2, "blocked": 1},
        "2026-03-04": {"doing": 2, "done": 1},
        "2026-03-05": {"review": 1, "done": 2},
        "2026-03-06": {"done": 3},
    }
    assert {"state": "done", "limit": None, "count": 3} in board["wipLimits"]
    assert {"state": "doing", "limit": 2, "count": 0} in board["wipLimits"]
