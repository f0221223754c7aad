"""What plugins add to the schema (``mcgraph_graphql``): root fields, types, and fields on
core types whose resolvers see the object as a plugin snapshot.

Two contributions that name the same field, or a plugin field that shadows a core one,
stop the start with an error naming both.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField

from mcgraph.domain import snapshots
from mcgraph.plugins.manager import PluginError
from mcgraph.plugins.types import GraphQLContribution

# core type -> how its rows become the snapshot a plugin's field resolver gets as ``self``
SNAPSHOTS: dict[str, Callable[[Any], Any]] = {
    "Project": snapshots.project_info,
    "Task": snapshots.task_info,
    "Milestone": snapshots.milestone_info,
}


@dataclass
class PluginRoots:
    """The plugins' root types and extra types, ready to merge with the core's."""

    queries: list[tuple[str, type]] = field(default_factory=list)
    mutations: list[tuple[str, type]] = field(default_factory=list)
    subscriptions: list[tuple[str, type]] = field(default_factory=list)
    types: list[type] = field(default_factory=list)

    def query(self, core: Sequence[type]) -> tuple[type, ...]:
        return _merged("Query", core, self.queries)

    def mutation(self, core: Sequence[type]) -> tuple[type, ...]:
        return _merged("Mutation", core, self.mutations)

    def subscription(self, core: Sequence[type]) -> tuple[type, ...]:
        return _merged("Subscription", core, self.subscriptions)


def plugin_roots(contributions: Sequence[tuple[str, GraphQLContribution]]) -> PluginRoots:
    roots = PluginRoots()
    for plugin, contribution in contributions:
        for name, found in (("queries", contribution.query), ("mutations", contribution.mutation), ("subscriptions", contribution.subscription)):
            if found is not None:
                getattr(roots, name).append((plugin, found))
        roots.types.extend(contribution.types)
    return roots


def _merged(root: str, core: Sequence[type], added: Sequence[tuple[str, type]]) -> tuple[type, ...]:
    owners = {f.name: "mcgraph" for cls in core for f in _fields(cls, "mcgraph")}
    for plugin, cls in added:
        for f in _fields(cls, plugin):
            _claim(owners, f.name, plugin, root)
    return (*core, *(cls for _, cls in added))


def plugin_fields(contributions: Sequence[tuple[str, GraphQLContribution]], core_types: dict[str, type]) -> dict[str, list[StrawberryField]]:
    """Fields plugins add to core types, by type name, each resolving on a snapshot."""
    added: dict[str, list[StrawberryField]] = {}
    owners: dict[str, dict[str, str]] = {}
    for plugin, contribution in contributions:
        for type_name, cls in contribution.fields.items():
            if type_name not in SNAPSHOTS:
                raise PluginError(f"plugin {plugin!r} adds fields to {type_name!r}; plugins may extend {', '.join(SNAPSHOTS)}")
            if type_name not in owners:
                owners[type_name] = {f.name: "mcgraph" for f in _fields(core_types[type_name], "mcgraph")}
            for original in _fields(cls, plugin):
                _claim(owners[type_name], original.name, plugin, type_name)
                extended = copy.copy(original)
                extended.extensions = [OnSnapshot(SNAPSHOTS[type_name]), *extended.extensions]
                added.setdefault(type_name, []).append(extended)
    return added


def _fields(cls: type, plugin: str) -> list[StrawberryField]:
    definition = get_object_definition(cls)
    if definition is None:
        raise PluginError(f"plugin {plugin!r}: {cls.__name__} is not a @strawberry.type")
    return list(definition.fields)


def _claim(owners: dict[str, str], name: str, plugin: str, where: str) -> None:
    if name in owners:
        raise PluginError(f"plugin {plugin!r} adds {where}.{name}, which {owners[name]!r} defines already")
    owners[name] = plugin


class OnSnapshot(FieldExtension):
    """Hands a plugin's field resolver the snapshot of the core row it is asked about."""

    def __init__(self, snapshot: Callable[[Any], Any]) -> None:
        self.snapshot = snapshot

    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return next_(self.snapshot(source), info, **kwargs)

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        result = next_(self.snapshot(source), info, **kwargs)
        return await result if inspect.isawaitable(result) else result
