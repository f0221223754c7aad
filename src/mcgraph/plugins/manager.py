"""Building the plugin manager, and calling hooks the way the hookspecs document.

The manager is made by :func:`create_plugins` when the app starts and kept on the
runtime, never in a module global. Built-in plugins are registered exactly as installed
ones are; ``MCGRAPH_PLUGINS`` (an allow-list) and ``MCGRAPH_DISABLE_PLUGINS`` apply to
both.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

import pluggy
import pydantic

from mcgraph.logs import get_logger
from mcgraph.plugins import hookspecs
from mcgraph.plugins.types import (
    AutomationAction,
    AutomationTrigger,
    ConditionFunction,
    GraphQLContribution,
    Methodology,
    Refusal,
    StageMove,
    TaskTransition,
)

T = TypeVar("T")

ENTRY_POINT_GROUP = "mcgraph"
# mcgraph's own plugins, by module name (imported when a manager is made, as entry points
# are): registered like any installed plugin, through the same hooks.
BUILTIN_PLUGINS: dict[str, str] = {
    "default": "mcgraph.plugins.default",
    "automation": "mcgraph.automation.builtins",
}

log = get_logger("mcgraph.plugins")


class PluginError(RuntimeError):
    """A plugin cannot be loaded, or declares something that clashes."""


def create_plugin_manager(
    *,
    allow: Iterable[str] | None = None,
    block: Iterable[str] = (),
    extra: dict[str, object] | None = None,
    trace: bool = False,
) -> pluggy.PluginManager:
    """A manager with the built-ins, the installed entry points and ``extra`` plugins.

    ``allow`` (when given) names the only plugins to load; ``block`` names plugins never
    to load. ``extra`` registers plugin objects by name, as tests and embedders do.
    The built-in plugins are always loaded unless blocked. ``trace`` logs every hook
    call, its arguments and its result (``MCGRAPH_TRACE_PLUGINS``).
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    if trace:
        pm.trace.root.setwriter(lambda message: log.info("plugin hook", trace=message.rstrip()))
        pm.enable_tracing()
    allowed = set(allow) if allow is not None else None
    for name in block:
        pm.set_blocked(name)

    def wanted(name: str) -> bool:
        return not pm.is_blocked(name) and (allowed is None or name in allowed or name in BUILTIN_PLUGINS)

    builtins = {name: importlib.import_module(module) for name, module in BUILTIN_PLUGINS.items() if wanted(name)}
    for name, plugin in {**builtins, **(extra or {})}.items():
        if wanted(name):
            pm.register(plugin, name=name)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if not wanted(ep.name) or pm.has_plugin(ep.name):
            continue
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as error:
            raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to load: {error}") from error
    pm.check_pending()
    return pm


def each_plugin(pm: pluggy.PluginManager, hook: str) -> list[tuple[str, pluggy.HookCaller]]:
    """``pm.hook.<hook>`` narrowed to one plugin at a time, for every plugin implementing it.

    In the order pluggy calls them (``tryfirst`` first, ``trylast`` last, otherwise the
    last registered first). Each caller keeps every plugin's ``wrapper``/``hookwrapper``
    implementation of the hook, so wrappers wrap each plugin's answer; tracing and
    hook-call monitoring see every call. For answers that must be told apart by plugin
    (a clash names both plugins; a refusal names its plugin) and for isolating a plugin
    that raises.
    """
    impls = [impl for impl in reversed(getattr(pm.hook, hook).get_hookimpls()) if not (impl.wrapper or impl.hookwrapper)]
    return [
        (impl.plugin_name, pm.subset_hook_caller(hook, [other.plugin for other in impls if other is not impl]))
        for impl in impls
    ]


def migration_folders(extra: dict[str, object] | None = None) -> list[Path]:
    """The Alembic folders of every installed plugin, enabled or not (see ``mcgraph_migrations``)."""
    pm = create_plugin_manager(extra=extra)
    folders = []
    for plugin, hook in each_plugin(pm, "mcgraph_migrations"):
        for folder in hook():
            path = Path(folder)
            if not path.is_dir():
                raise PluginError(f"plugin {plugin!r} names migrations in {path}, which is not a folder")
            folders.append(path)
    return folders


def _check_secret_params(action: AutomationAction) -> None:
    """A secret param is one of the action's params, and never a template (a template's text is shown)."""
    for name in action.secret_params:
        if name not in (*action.required, *action.optional):
            raise PluginError(f"plugin {action.plugin!r}: action {action.type!r} declares secret param {name!r}, which is not one of its params")
        if name in action.templates:
            raise PluginError(f"plugin {action.plugin!r}: action {action.type!r} declares {name!r} both secret and a template")


class Plugins:
    """Calls the hooks of a plugin manager and combines their answers as documented."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.methodologies = self._collect_methodologies()
        self._settings = self._build_settings()
        self.actions: dict[str, AutomationAction] = self._collect("mcgraph_automation_actions", "type", "automation action")
        for action in self.actions.values():
            _check_secret_params(action)
        self.triggers: dict[str, AutomationTrigger] = self._collect("mcgraph_automation_triggers", "event_type", "trigger")
        self.conditions: dict[str, ConditionFunction] = self._collect("mcgraph_automation_conditions", "name", "condition function")
        # in registration order, like the declarations (see _declared)
        self.graphql: list[tuple[str, GraphQLContribution]] = [
            (plugin, contribution) for plugin, hook in reversed(each_plugin(pm, "mcgraph_graphql")) for contribution in hook()
        ]
        # one caller per observing plugin, to run each reaction on its own when one fails
        self.observers: list[tuple[str, pluggy.HookCaller]] = each_plugin(pm, "mcgraph_event")
        # the hooks called on every change, narrowed per plugin once
        self._per_plugin = {
            hook: each_plugin(pm, hook) for hook in ("mcgraph_check_stage_move", "mcgraph_check_task_transition", "mcgraph_project_health")
        }

    def _declared(self, hook: str) -> Iterator[tuple[str, Any]]:
        """(plugin, item) for every item of a declaration hook, each plugin asked through pluggy.

        Listed in registration order (mcgraph's own first), the reverse of pluggy's calling
        order, so that the schema and the catalogs read the same whatever the markers.
        """
        for plugin, caller in reversed(each_plugin(self.pm, hook)):
            for answer in caller():
                for item in answer or ():
                    yield plugin, item

    def _collect(self, hook: str, key: str, what: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for plugin, item in self._declared(hook):
            name = getattr(item, key)
            if name in found:
                raise PluginError(f"{what} {name!r} is declared by both {found[name].plugin!r} and {plugin!r}")
            object.__setattr__(item, "plugin", plugin)
            found[name] = item
        return found

    def _build_settings(self) -> dict[type, Any]:
        built: dict[type, Any] = {}
        for plugin, caller in each_plugin(self.pm, "mcgraph_settings"):
            for cls in caller():
                try:
                    built[cls] = cls()
                except pydantic.ValidationError as error:
                    problem = error.errors()[0]
                    where = ".".join(str(part) for part in problem["loc"])
                    raise PluginError(f"plugin {plugin!r}: setting {where}: {problem['msg']}") from None
        return built

    def settings_of(self, cls: type[T]) -> T:
        """The settings object of class ``cls``, as declared by ``mcgraph_settings``."""
        try:
            return self._settings[cls]
        except KeyError:
            raise PluginError(f"{cls.__name__} is not declared by any enabled plugin's mcgraph_settings") from None

    def _collect_methodologies(self) -> dict[str, Methodology]:
        found: dict[str, Methodology] = {}
        for plugin, methodology in self._declared("mcgraph_methodologies"):
            if methodology.key in found:
                raise PluginError(
                    f"methodology {methodology.key!r} is declared by both {found[methodology.key].plugin!r} and {plugin!r}"
                )
            _check_methodology(methodology, plugin)
            object.__setattr__(methodology, "plugin", plugin)
            found[methodology.key] = methodology
        return found

    def methodology(self, key: str) -> Methodology | None:
        return self.methodologies.get(key)

    def names(self) -> list[str]:
        """The enabled plugins' names."""
        return [name for name, plugin in self.pm.list_name_plugin() if plugin is not None]

    async def check_stage_move(self, move: StageMove) -> list[Refusal]:
        return await self._refusals("mcgraph_check_stage_move", move=move)

    async def check_task_transition(self, transition: TaskTransition) -> list[Refusal]:
        return await self._refusals("mcgraph_check_task_transition", transition=transition)

    async def project_health(self, methodology: Methodology, **kwargs: Any) -> Any:
        """The health report of the plugin that declared ``methodology``, or None."""
        for plugin, caller in self._per_plugin["mcgraph_project_health"]:
            if plugin == methodology.plugin:
                try:
                    return await maybe_await(caller(**kwargs))
                except Exception:
                    log.exception("plugin health hook failed; the default rules apply", plugin=plugin)
        return None

    async def _refusals(self, hook: str, **kwargs: Any) -> list[Refusal]:
        refusals: list[Refusal] = []
        for plugin, caller in self._per_plugin[hook]:
            try:
                answers = [await maybe_await(answer) for answer in caller(**kwargs)]
            except Exception:
                log.exception("plugin check failed", plugin=plugin, hook=hook)
                refusals.append(Refusal(plugin, "the plugin's check failed; see the server log"))
                continue
            refusals.extend(Refusal(plugin, str(reason)) for reasons in answers for reason in reasons or ())
        return refusals


async def maybe_await(value: Any) -> Any:
    """``value``, awaited when it is awaitable: hooks may answer either way."""
    return await value if inspect.isawaitable(value) else value


def _check_methodology(methodology: Methodology, plugin: str) -> None:
    where = f"methodology {methodology.key!r} of plugin {plugin!r}"
    if not methodology.stages or not methodology.states:
        raise PluginError(f"{where} needs at least one stage and one state")
    for kind, items in (("stage", methodology.stages), ("state", methodology.states)):
        keys = [item.key for item in items]
        if len(set(keys)) != len(keys):
            raise PluginError(f"{where} repeats a {kind} key: {keys}")
    if methodology.initial_stage and methodology.stage(methodology.initial_stage) is None:
        raise PluginError(f"{where}: initial stage {methodology.initial_stage!r} is not one of its stages")
    if methodology.initial_state and methodology.state(methodology.initial_state) is None:
        raise PluginError(f"{where}: initial state {methodology.initial_state!r} is not one of its states")
    if not any(s.category.value == "done" for s in methodology.states):
        raise PluginError(f"{where} needs a state in the DONE category")
