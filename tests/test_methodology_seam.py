"""The methodology seam: plugins declare methodologies, gate stage moves, refuse task
transitions and replace the health rules, through the public hooks only."""

from __future__ import annotations

from typing import Any

import pytest

from mcgraph.app import create_app
from mcgraph.db.models import Role
from mcgraph.domain.health import HealthReason, HealthReport
from mcgraph.plugins import Health, Methodology, Stage, StageMove, StateCategory, TaskState, TaskTransition, hookimpl
from mcgraph.plugins.manager import PluginError, Plugins, create_plugin_manager

GATED = Methodology(
    key="gated",
    name="Gated",
    stages=[Stage("draft", "Draft"), Stage("review", "Review", gated=True), Stage("done", "Done", gated=True)],
    states=[TaskState("open", "Open", StateCategory.TODO), TaskState("doing", "Doing", StateCategory.IN_PROGRESS), TaskState("closed", "Closed", StateCategory.DONE)],
)


class GatePlugin:
    @hookimpl
    def mcgraph_methodologies(self) -> list[Methodology]:
        return [GATED]

    @hookimpl
    async def mcgraph_check_stage_move(self, move: StageMove) -> list[str] | None:
        if move.methodology.key != "gated" or not move.methodology.stage(move.to_stage).gated:
            return None
        open_tasks = [t for t in await move.tasks() if t.category is not StateCategory.DONE]
        reasons = []
        if open_tasks:
            reasons.append(f"{len(open_tasks)} tasks are not closed")
        if not move.project.target_end_date:
            reasons.append("the project has no target end date")
        return reasons

    @hookimpl
    def mcgraph_check_task_transition(self, transition: TaskTransition) -> list[str] | None:
        if transition.to_state == "doing" and transition.task.assignee_id is None:
            return ["assign the task before starting it"]
        return None

    @hookimpl
    def mcgraph_project_health(self, project: Any, facts: Any, default: HealthReport) -> HealthReport | None:
        if project.stage == "review":
            reason = HealthReason("IN_REVIEW", Health.AT_RISK, "waiting for review", 1.0, 0.0)
            return HealthReport(Health.AT_RISK, [reason, *default.reasons])
        return None


class BrokenGate:
    @hookimpl
    def mcgraph_check_stage_move(self, move: StageMove) -> list[str]:
        raise RuntimeError("boom")


@pytest.fixture
async def gated_app(settings, clock):
    application = create_app(settings, clock=clock, plugins={"gate": GatePlugin()})
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def gated_gql(gated_app):
    import httpx

    from tests.conftest import GraphQLClient

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gated_app), base_url="http://testserver") as client:
        yield GraphQLClient(client)


CREATE = """mutation($i: CreateProjectInput!) { createProject(input: $i) { project { id stage { key gated } methodology { key plugin } } userErrors { code } } }"""
MOVE = """mutation($i: MoveProjectStageInput!) { moveProjectStage(input: $i) { project { stage { key } health { health reasons { code } } } userErrors { field message code } } }"""


async def test_a_refused_move_returns_every_reason_and_moves_nothing(gated_gql, acme):
    token = acme[Role.MANAGER]
    project = (await gated_gql.data(CREATE, {"i": {"key": "GT", "name": "Gated", "methodology": "gated"}}, token=token))["createProject"]["project"]
    assert project["stage"] == {"key": "draft", "gated": False}
    assert project["methodology"] == {"key": "gated", "plugin": "gate"}
    await gated_gql.data("mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id } } }", {"i": {"projectId": project["id"], "title": "t"}}, token=token)
    refused = (await gated_gql.data(MOVE, {"i": {"projectId": project["id"], "stage": "review"}}, token=token))["moveProjectStage"]
    assert refused["project"] is None
    assert [(e["code"], e["message"]) for e in refused["userErrors"]] == [
        ("GATE_REFUSED", "gate: 1 tasks are not closed"),
        ("GATE_REFUSED", "gate: the project has no target end date"),
    ]
    stage = await gated_gql.data("query($id: ID!) { node(id: $id) { ... on Project { stage { key } } } }", {"id": project["id"]}, token=token)
    assert stage["node"]["stage"]["key"] == "draft"


async def test_an_allowed_move_and_the_plugins_health_rule(gated_gql, acme):
    token = acme[Role.MANAGER]
    project = (await gated_gql.data(CREATE, {"i": {"key": "GU", "name": "Gated", "methodology": "gated", "startDate": "2026-03-01", "targetEndDate": "2026-04-01"}}, token=token))["createProject"]["project"]
    moved = (await gated_gql.data(MOVE, {"i": {"projectId": project["id"], "stage": "review"}}, token=token))["moveProjectStage"]
    assert moved["userErrors"] == []
    assert moved["project"]["stage"]["key"] == "review"
    assert moved["project"]["health"] == {"health": "AT_RISK", "reasons": [{"code": "IN_REVIEW"}]}


async def test_task_transition_refused_by_plugin(gated_gql, acme):
    token = acme[Role.MEMBER]
    manager = acme[Role.MANAGER]
    project = (await gated_gql.data(CREATE, {"i": {"key": "GV", "name": "Gated", "methodology": "gated"}}, token=manager))["createProject"]["project"]
    task = (await gated_gql.data("mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id state { key name category } } } }", {"i": {"projectId": project["id"], "title": "t"}}, token=token))["createTask"]["task"]
    assert task["state"] == {"key": "open", "name": "Open", "category": "TODO"}
    result = await gated_gql.data("mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { task { id } userErrors { code message } } }", {"i": {"taskId": task["id"], "state": "doing"}}, token=token)
    assert result["setTaskState"]["userErrors"] == [{"code": "TRANSITION_REFUSED", "message": "gate: assign the task before starting it"}]


async def test_methodologies_query_lists_stages_gates_and_states(gated_gql, acme):
    data = await gated_gql.data("{ methodologies { key plugin stages { key gated } states { key category } } }", token=acme[Role.VIEWER])
    by_key = {m["key"]: m for m in data["methodologies"]}
    assert {"simple", "gated"} <= set(by_key)
    assert [s["gated"] for s in by_key["gated"]["stages"]] == [False, True, True]
    assert by_key["simple"]["plugin"] == "default"


async def test_a_failing_gate_refuses_and_names_the_plugin():
    plugins = Plugins(create_plugin_manager(extra={"gate": GatePlugin(), "broken": BrokenGate()}))
    move = StageMove(project=None, methodology=GATED, from_stage="draft", to_stage="draft", actor_id=1, now=None, forced=False, session=None, tasks=None, milestones=None)  # type: ignore[arg-type]
    refusals = await plugins.check_stage_move(move)
    assert [(r.plugin, r.reason) for r in refusals] == [("broken", "the plugin's check failed; see the server log")]


def test_two_plugins_declaring_one_methodology_key_is_an_error():
    class Copy:
        @hookimpl
        def mcgraph_methodologies(self) -> list[Methodology]:
            return [GATED]

    with pytest.raises(PluginError, match="declared by both 'gate' and 'copy'|declared by both 'copy' and 'gate'"):
        Plugins(create_plugin_manager(extra={"gate": GatePlugin(), "copy": Copy()}))


def test_disabling_a_plugin_removes_its_methodology():
    plugins = Plugins(create_plugin_manager(extra={"gate": GatePlugin()}, block=["gate"]))
    assert "gate" not in plugins.names() and "gated" not in plugins.methodologies and "simple" in plugins.methodologies
