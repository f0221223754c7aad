"""Building the plugin manager, and calling hooks the way the hookspecs document.

The manager is made by :func:`create_plugins` when the app starts and kept on the
runtime, never in a module global. Built-in plugins are registered exactly as installed
ones are; ``MCGRAPH_PLUGINS`` (an allow-list) and ``MCGRAPH_DISABLE_PLUGINS`` apply to
both.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

import pluggy

from mcgraph.logs import get_logger
from mcgraph.plugins import default, hookspecs
from mcgraph.plugins.types import Methodology, Refusal, StageMove, TaskTransition

ENTRY_POINT_GROUP = "mcgraph"
BUILTIN_PLUGINS: dict[str, object] = {"default": default}

log = get_logger("mcgraph.plugins")


class PluginError(RuntimeError):
    """A plugin cannot be loaded, or declares something that clashes."""


def create_plugin_manager(
    *, allow: Iterable[str] | None = None, block: Iterable[str] = (), extra: dict[str, object] | None = None
) -> pluggy.PluginManager:
    """A manager with the built-ins, the installed entry points and ``extra`` plugins.

    ``allow`` (when given) names the only plugins to load; ``block`` names plugins never
    to load. ``extra`` registers plugin objects by name, as tests and embedders do.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    allowed = set(allow) if allow is not None else None
    for name in block:
        pm.set_blocked(name)

    def wanted(name: str) -> bool:
        return not pm.is_blocked(name) and (allowed is None or name in allowed or name in BUILTIN_PLUGINS)

    for name, plugin in {**BUILTIN_PLUGINS, **(extra or {})}.items():
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


class Plugins:
    """Calls the hooks of a plugin manager and combines their answers as documented."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.methodologies = self._collect_methodologies()

    def _collect_methodologies(self) -> dict[str, Methodology]:
        found: dict[str, Methodology] = {}
        for impl in self.pm.hook.mcgraph_methodologies.get_hookimpls():
            for methodology in impl.function() or ():
                if methodology.key in found:
                    raise PluginError(
                        f"methodology {methodology.key!r} is declared by both "
                        f"{found[methodology.key].plugin!r} and {impl.plugin_name!r}"
                    )
                _check_methodology(methodology, impl.plugin_name)
                object.__setattr__(methodology, "plugin", impl.plugin_name)
                found[methodology.key] = methodology
        return found

    def methodology(self, key: str) -> Methodology | None:
        return self.methodologies.get(key)

    def names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]

    async def check_stage_move(self, move: StageMove) -> list[Refusal]:
        return await self._refusals(self.pm.hook.mcgraph_check_stage_move, move=move)

    async def check_task_transition(self, transition: TaskTransition) -> list[Refusal]:
        return await self._refusals(self.pm.hook.mcgraph_check_task_transition, transition=transition)

    async def project_health(self, methodology: Methodology, **kwargs: Any) -> Any:
        """The health report of the plugin that declared ``methodology``, or None."""
        for impl in self.pm.hook.mcgraph_project_health.get_hookimpls():
            if impl.plugin_name == methodology.plugin:
                return await _maybe_await(impl.function(**kwargs))
        return None

    async def _refusals(self, hook: pluggy.HookCaller, **kwargs: Any) -> list[Refusal]:
        refusals: list[Refusal] = []
        for impl in hook.get_hookimpls():
            try:
                reasons = await _maybe_await(impl.function(**kwargs))
            except Exception:
                log.exception("plugin check failed", plugin=impl.plugin_name, hook=hook.name)
                refusals.append(Refusal(impl.plugin_name, "the plugin's check failed; see the server log"))
                continue
            refusals.extend(Refusal(impl.plugin_name, str(reason)) for reason in reasons or ())
        return refusals


async def _maybe_await(value: Any) -> Any:
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
