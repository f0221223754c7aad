"""The plugin API as a contract: every hook documented, built-ins on public names only,
the four methodologies installed, and disabling a plugin removes all it adds."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from click.testing import CliRunner

import mcgraph.plugins
from mcgraph.api.schema import build_schema
from mcgraph.cli import main
from mcgraph.plugins import hookspecs
from mcgraph.plugins.manager import Plugins, create_plugin_manager
from mcgraph.settings import Settings
from mcgraph.testing import Client, running_app

ROOT = Path(__file__).resolve().parent.parent
BUILT_INS = {"agile": "agile", "waterfall": "waterfall", "prince2": "prince2", "kanban": "kanban"}  # plugin -> methodology
PUBLIC_MODULES = {"mcgraph.plugins", "mcgraph.plugins.graphql", "mcgraph.plugins.db", "mcgraph.testing"}


def hook_specs() -> dict[str, object]:
    return {name: value for name, value in vars(hookspecs).items() if name.startswith("mcgraph_") and callable(value)}


def test_there_are_hooks_for_each_part_of_the_contract():
    assert set(hook_specs()) >= {
        "mcgraph_methodologies", "mcgraph_check_stage_move", "mcgraph_check_task_transition", "mcgraph_project_health",
        "mcgraph_graphql", "mcgraph_automation_actions", "mcgraph_automation_triggers", "mcgraph_automation_conditions",
        "mcgraph_event", "mcgraph_migrations", "mcgraph_settings",
    }


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_every_hook_is_documented_like_pytest_documents_its_hooks(name):
    spec = hook_specs()[name]
    doc = inspect.getdoc(spec) or ""
    assert len(doc.split()) >= 40, f"{name}: the docstring is the reference; say when, with what, what to return, how answers combine"
    assert "Called" in doc, f"{name}: say when mcgraph calls it"
    assert "Return" in doc, f"{name}: say what to return"
    for parameter in inspect.signature(spec).parameters:
        assert f"``{parameter}``" in doc, f"{name}: document the argument {parameter!r}"
    assert inspect.signature(spec).return_annotation is not inspect.Signature.empty, f"{name}: type what it returns"


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_every_hook_is_in_the_plugin_guide_with_its_exact_arguments(name):
    signature = f"`{name}({', '.join(inspect.signature(hook_specs()[name]).parameters)})`"
    assert signature in (ROOT / "docs" / "plugins.md").read_text(), f"docs/plugins.md does not show {signature}"


def test_every_public_name_is_importable():
    for name in mcgraph.plugins.__all__:
        assert getattr(mcgraph.plugins, name) is not None


@pytest.mark.parametrize("plugin", sorted(BUILT_INS))
def test_built_in_plugins_use_only_the_public_api(plugin):
    for path in (ROOT / "plugins" / plugin).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for module in modules:
                if module == "mcgraph" or module.startswith("mcgraph."):
                    assert module in PUBLIC_MODULES, f"{path.relative_to(ROOT)} imports {module}, which plugins may not"


def test_mcgraph_plugins_lists_the_four_built_ins_with_their_hooks_and_methodologies():
    result = CliRunner().invoke(main, ["plugins"], env={"MCGRAPH_DISABLE_PLUGINS": ""})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for plugin, methodology in BUILT_INS.items():
        header = next(i for i, line in enumerate(lines) if line.split()[0] == plugin)
        assert lines[header].split()[1] == "0.1.0"
        assert "mcgraph_methodologies" in lines[header + 1] and "mcgraph_graphql" in lines[header + 1]
        assert lines[header + 2].strip() == f"methodologies: {methodology}"


def test_disabling_a_plugin_with_the_setting_lists_it_as_disabled():
    result = CliRunner().invoke(main, ["plugins"], env={"MCGRAPH_DISABLE_PLUGINS": "agile"})
    assert result.exit_code == 0, result.output
    assert "disabled: agile" in result.output
    assert not any(line.startswith("agile ") for line in result.output.splitlines())


def test_the_schema_without_a_plugin_has_none_of_its_fields():
    full = build_schema(Plugins(create_plugin_manager())).as_str()
    without = build_schema(Plugins(create_plugin_manager(block=["agile"]))).as_str()
    for added in ("sprints: [Sprint!]", "type Sprint ", "createSprint("):
        assert added in full and added not in without


async def test_a_disabled_plugin_leaves_the_api_and_its_methodology(mcgraph_database_url):
    document = "{ methodologies { key plugin } __type(name: \"Project\") { fields { name } } }"
    for disabled, present in (([], True), (["agile"], False)):
        settings = Settings(database_url=mcgraph_database_url, disable_plugins=disabled)
        async with running_app(settings) as app, Client.signed_in(app, "acme", "owner@acme.test", "owner") as client:
            data = await client.data(document)
            keys = {m["key"] for m in data["methodologies"]}
            fields = {f["name"] for f in data["__type"]["fields"]}
            assert ("agile" in keys) is present and ("sprints" in fields) is present
            assert {"waterfall", "prince2", "kanban"} <= keys
            key = "AG1" if present else "AG2"
            refused = await client.mutate("createProject", {"key": key, "name": "Agile", "methodology": "agile"}, "project { id }", ok=present)
            if not present:
                assert [e["code"] for e in refused["userErrors"]] == ["UNKNOWN_METHODOLOGY"]
