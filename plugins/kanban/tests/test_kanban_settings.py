"""Default WIP limits from MCGRAPH_KANBAN_DEFAULT_WIP apply to projects without their own."""

from __future__ import annotations

import pytest

from test_kanban_board import create_project, create_task, move, set_state

LIMITS = "query($id: ID!) { project(id: $id) { kanban { wipLimits { state limit count } } } }"


@pytest.fixture
def default_wip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCGRAPH_KANBAN_DEFAULT_WIP", '{"doing": 1}')


async def test_the_default_limit_refuses_until_the_project_lifts_it(default_wip, mcgraph_client):
    client = mcgraph_client
    project = await create_project(client, "KD")
    first, second = await create_task(client, project, "first"), await create_task(client, project, "second")
    await move(client, first, "doing")
    assert await set_state(client, second, "doing") == [
        {"code": "TRANSITION_REFUSED", "message": "kanban: WIP limit of 1 reached in Doing (1 task)"}
    ]
    lifted = await client.mutate("setWipLimit", {"projectId": project, "state": "doing", "limit": None}, "wipLimit { limit }")
    assert lifted["wipLimit"] == {"limit": None}
    await move(client, second, "doing")
