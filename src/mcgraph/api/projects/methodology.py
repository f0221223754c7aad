"""Methodologies as the API shows them: stages, gates and task states."""

from __future__ import annotations

import strawberry

from mcgraph.db.models import StateCategory
from mcgraph.plugins import types as plugin_types

strawberry.enum(StateCategory, name="StateCategory", description="What a task state means to mcgraph.")


@strawberry.type(description="A stage of a methodology; moving into a gated stage asks its gate checks.")
class Stage:
    key: str
    name: str
    gated: bool
    description: str


@strawberry.type(description="A task state of a methodology, in one of four categories.")
class TaskState:
    key: str
    name: str
    category: StateCategory


@strawberry.type(description="A way of running projects, declared by a plugin.")
class Methodology:
    key: str
    name: str
    description: str
    plugin: str = strawberry.field(description="The plugin that declared it.")
    stages: list[Stage]
    states: list[TaskState]

    @staticmethod
    def of(m: plugin_types.Methodology) -> Methodology:
        return Methodology(
            key=m.key,
            name=m.name,
            description=m.description,
            plugin=m.plugin,
            stages=[Stage(key=s.key, name=s.name, gated=s.gated, description=s.description) for s in m.stages],
            states=[TaskState(key=s.key, name=s.name, category=s.category) for s in m.states],
        )
