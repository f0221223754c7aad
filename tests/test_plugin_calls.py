"""How mcgraph calls hooks: through pluggy, so its ordering, wrappers, partial signatures and
tracing hold; and mcgraph's own automation pieces declared like any plugin's."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import structlog

from mcgraph.plugins import AutomationAction, AutomationTrigger, ConditionFunction, EventInfo, hookimpl
from mcgraph.plugins.manager import PluginError, Plugins, create_plugin_manager
from mcgraph.runtime import Runtime
from mcgraph.settings import Settings
from mcgraph.testing import eventually


class Early:
    @hookimpl(tryfirst=True)
    def mcgraph_check_stage_move(self) -> list[str]:
        return ["early"]


class Plain:
    @hookimpl
    def mcgraph_check_stage_move(self, move: Any) -> list[str]:
        return [f"plain {move}"]


class Wrapper:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @hookimpl(wrapper=True)
    def mcgraph_check_stage_move(self, move: Any) -> Generator[None, list[Any], list[Any]]:
        answers = yield
        self.seen.append(answers)
        return [[*reasons, "wrapped"] for reasons in answers]


async def test_a_tryfirst_implementation_runs_first_and_a_wrapper_sees_and_changes_the_result():
    wrapper = Wrapper()
    # registered in this order, pluggy calls Plain before Early unless tryfirst holds
    extra = {"early": Early(), "plain": Plain(), "wrapper": wrapper}
    plugins = Plugins(create_plugin_manager(allow=extra, extra=extra))

    refusals = await plugins.check_stage_move("move")  # type: ignore[arg-type]

    assert [(r.plugin, r.reason) for r in refusals] == [
        ("early", "early"), ("early", "wrapped"), ("plain", "plain move"), ("plain", "wrapped"),
    ]
    assert wrapper.seen == [[["early"]], [["plain move"]]]


class Reversed:
    @hookimpl(trylast=True)
    def mcgraph_check_stage_move(self) -> list[str]:
        return ["last"]


async def test_without_markers_the_last_registered_plugin_is_asked_first():
    extra = {"late": Reversed(), "first": Early(), "second": Plain()}
    plugins = Plugins(create_plugin_manager(allow=extra, extra=extra))
    assert [r.plugin for r in await plugins.check_stage_move("m")] == ["first", "second", "late"]  # type: ignore[arg-type]


class EventOnly:
    """An observer that declares only the argument it needs."""

    def __init__(self) -> None:
        self.types: list[str] = []

    @hookimpl
    def mcgraph_event(self, event: EventInfo) -> None:
        self.types.append(event.type)


EVENT_ONLY = EventOnly()


class Extras:
    @hookimpl
    def mcgraph_automation_actions(self) -> list[AutomationAction]:
        return [AutomationAction("extras.ping", "Say ping.", lambda call: {"said": "ping"})]

    @hookimpl
    def mcgraph_automation_triggers(self) -> list[AutomationTrigger]:
        return [AutomationTrigger("extras.pinged", "Someone was pinged.")]

    @hookimpl
    def mcgraph_automation_conditions(self) -> list[ConditionFunction]:
        return [ConditionFunction("twice", lambda value: value * 2, "The value doubled.")]


@pytest.fixture
def mcgraph_plugins() -> dict[str, object]:
    return {"event_only": EVENT_ONLY, "extras": Extras()}


async def test_an_observer_declaring_only_event_is_called(mcgraph_client):
    EVENT_ONLY.types.clear()
    await mcgraph_client.mutate("createProject", {"key": "EVO", "name": "Event only"}, "project { id }")

    async def seen() -> None:
        assert "project.created" in EVENT_ONLY.types

    await eventually(seen)


CATALOG = """{ automationCatalog {
  actions { type plugin description }
  triggers { eventType plugin description }
  functions { name plugin description }
} }"""


async def test_the_catalog_lists_builtins_and_plugins_alike_each_with_a_description(mcgraph_client):
    catalog = (await mcgraph_client.data(CATALOG))["automationCatalog"]
    actions = {a["type"]: a for a in catalog["actions"]}
    triggers = {t["eventType"]: t for t in catalog["triggers"]}
    functions = {f["name"]: f for f in catalog["functions"]}

    assert actions["SEND_WEBHOOK"]["plugin"] is None and actions["extras.ping"]["plugin"] == "extras"
    assert triggers["task.created"]["plugin"] is None and triggers["extras.pinged"]["plugin"] == "extras"
    assert functions["matches"]["plugin"] is None and functions["twice"]["plugin"] == "extras"
    assert {"lower", "upper", "len", "contains", "days_between", "coalesce"} <= set(functions)
    assert {"SET_TASK_STATE", "ASSIGN_TASK", "CREATE_TASK", "ADD_COMMENT", "START_PROCESS_RUN", "RAISE_EVENT", "OVERRIDE_HEALTH"} <= set(actions)
    for kind in (catalog["actions"], catalog["triggers"], catalog["functions"]):
        undescribed = [item for item in kind if not item["description"] or item["description"].startswith("see ")]
        assert undescribed == []


class Impostor:
    @hookimpl
    def mcgraph_automation_actions(self) -> list[AutomationAction]:
        return [AutomationAction("send_webhook", "Not the real one.", lambda call: {})]


def test_a_plugin_declaring_one_of_mcgraphs_actions_stops_the_start_naming_both():
    with pytest.raises(PluginError, match="automation action 'send_webhook' is declared by both '(automation|impostor)' and '(automation|impostor)'"):
        Plugins(create_plugin_manager(extra={"impostor": Impostor()}))


def test_blocking_the_builtin_automation_plugin_removes_its_actions():
    plugins = Plugins(create_plugin_manager(block=["automation"]))
    assert "send_webhook" not in plugins.actions and "task.created" not in plugins.triggers


def test_trace_plugins_logs_every_hook_call_and_its_result(monkeypatch):
    monkeypatch.setenv("MCGRAPH_TRACE_PLUGINS", "1")
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:")
    assert settings.trace_plugins is True
    with structlog.testing.capture_logs() as lines:
        runtime = Runtime.from_settings(settings.model_copy(update={"plugins": ["early"]}), plugins={"early": Early()})
        runtime.plugins.pm.hook.mcgraph_check_stage_move(move="m")
    traced = [line["trace"] for line in lines if line.get("event") == "plugin hook"]
    assert any("mcgraph_check_stage_move" in line and "move" in line for line in traced)
    assert any("finish mcgraph_check_stage_move --> [['early']]" in line for line in traced)
    assert any("mcgraph_methodologies" in line for line in traced)  # the start's own calls too


def test_without_the_setting_nothing_is_traced():
    with structlog.testing.capture_logs() as lines:
        Plugins(create_plugin_manager(allow=["early"], extra={"early": Early()})).pm.hook.mcgraph_check_stage_move(move="m")
    assert [line for line in lines if line.get("event") == "plugin hook"] == []
