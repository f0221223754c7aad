"""Automation: the catalog offers kanban.pull_next and kanban.wip_limit_changed; the action
pulls the oldest ready task while the WIP limit of doing allows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mcgraph.plugins import ActionCall, ActionFailed, ProjectInfo, ProjectStatus, StateCategory, TaskInfo

from mcgraph.testing import eventually

from mcgraph_kanban.automation import pull_next
from mcgraph_kanban.methodology import KanbanSettings


async def test_the_catalog_lists_the_action_and_the_trigger(mcgraph_client):
    catalog = (await mcgraph_client.data(
        "{ automationCatalog { actions { type plugin optionalParams } triggers { eventType plugin } } }"
    ))["automationCatalog"]
    assert {"type": "kanban.pull_next", "plugin": "kanban", "optionalParams": ["projectId"]} in catalog["actions"]
    assert {"eventType": "kanban.wip_limit_changed", "plugin": "kanban"} in catalog["triggers"]


class NoRows:
    """A session whose queries find nothing: the project has no limits of its own."""

    async def scalars(self, statement: Any) -> list[Any]:
        return []


class FakeUnit:
    """Just what pull_next uses of a PluginUnit, with the limits of the settings given."""

    def __init__(self, tasks: list[TaskInfo], default_wip: dict[str, int], methodology: str = "kanban") -> None:
        self._tasks, self._settings, self.moved = tasks, KanbanSettings(default_wip=default_wip), []
        self._project = ProjectInfo(5, 1, "KB", "Board", methodology, "continuous", ProjectStatus.ACTIVE, None, None, None, None)
        self.session = NoRows()

    async def project(self, project_id: int) -> ProjectInfo:
        assert project_id == 5
        return self._project

    async def tasks(self, project_id: int) -> list[TaskInfo]:
        return self._tasks

    def settings(self, cls: type) -> Any:
        return self._settings

    async def set_task_state(self, task_id: int, state: str) -> None:
        self.moved.append((task_id, state))


def task(id: int, state: str, day: int) -> TaskInfo:
    category = StateCategory.IN_PROGRESS if state == "doing" else StateCategory.TODO
    return TaskInfo(id, 5, f"t{id}", state, category, None, None, None, None, None, None, created_at=datetime(2026, 3, day, tzinfo=UTC))


def call(unit: Any) -> ActionCall:
    return ActionCall(unit=unit, params={}, names={"event": {"project_id": 5}}, key="rule:1:event:1:0")


BOARD = [task(1, "ready", 4), task(2, "ready", 3), task(3, "doing", 2)]


async def test_pull_next_moves_the_oldest_ready_task_into_doing():
    unit = FakeUnit(BOARD, {"doing": 2})
    assert await pull_next(call(unit)) == {"task_id": 2, "title": "t2", "from": "ready", "to": "doing"}
    assert unit.moved == [(2, "doing")]


async def test_pull_next_moves_nothing_at_the_wip_limit_and_says_why():
    unit = FakeUnit(BOARD, {"doing": 1})
    assert await pull_next(call(unit)) == {"task_id": None, "reason": "WIP limit of 1 reached in Doing (1 task)"}
    assert unit.moved == []


async def test_pull_next_fails_on_projects_of_other_methodologies():
    with pytest.raises(ActionFailed, match="not a kanban project"):
        await pull_next(call(FakeUnit(BOARD, {}, methodology="simple")))


async def test_a_rule_pulls_the_next_task_when_one_is_done(mcgraph_client):
    """End to end: a task done -> the rule runs kanban.pull_next in the worker -> the oldest ready task is in doing."""
    client = mcgraph_client
    project = (await client.mutate("createProject", {"key": "PULL", "name": "Pull", "methodology": "kanban"}, "project { id }"))["project"]
    ids = {}
    for title, state in (("first", "doing"), ("older", "ready"), ("newer", "ready")):
        created = await client.mutate("createTask", {"projectId": project["id"], "title": title, "state": state}, "task { id }")
        ids[title] = created["task"]["id"]
        client.app.state.runtime.clock.advance(hours=1)
    await client.mutate("setWipLimit", {"projectId": project["id"], "state": "doing", "limit": 1}, "")
    await client.mutate(
        "createAutomationRule",
        {
            "name": "Pull when done",
            "trigger": {"kind": "EVENT", "eventType": "task.state_changed", "filter": [{"path": "event.changes.state.after", "op": "eq", "value": "done"}]},
            "actions": [{"type": "kanban.pull_next", "params": {}}],
        },
        "rule { id }",
    )
    await client.mutate("setTaskState", {"taskId": ids["first"], "state": "done"}, "task { state { key } }")

    async def pulled() -> dict:
        data = await client.data("query($id: ID!) { node(id: $id) { ... on Task { state { key } } } }", {"id": ids["older"]})
        assert data["node"]["state"]["key"] == "doing"
        return data

    await eventually(pulled)
    newer = await client.data("query($id: ID!) { node(id: $id) { ... on Task { state { key } } } }", {"id": ids["newer"]})
    assert newer["node"]["state"]["key"] == "ready"
    runs = (await client.data("{ automationRuns(first: 5) { nodes { state results { type status output } } } }"))["automationRuns"]["nodes"]
    assert runs[0]["state"] == "SUCCEEDED" and runs[0]["results"][0]["output"]["to"] == "doing"
