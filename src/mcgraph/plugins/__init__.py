"""The public plugin API of mcgraph. A plugin imports only names from this module,
:mod:`mcgraph.plugins.graphql` (resolvers), :mod:`mcgraph.plugins.db` (tables) and, in
its tests, :mod:`mcgraph.testing`.

See :mod:`mcgraph.plugins.hookspecs` for the hooks, and docs/plugins.md for a guide.
"""

from __future__ import annotations

from typing import Any

import pluggy

from mcgraph.plugins.types import (
    ActionCall,
    AutomationAction,
    AutomationTrigger,
    ConditionFunction,
    EventInfo,
    GraphQLContribution,
    Health,
    HealthContext,
    HealthReason,
    HealthReport,
    Methodology,
    MilestoneInfo,
    ProjectFacts,
    ProjectInfo,
    ProjectStatus,
    Refusal,
    Stage,
    StageMove,
    StateCategory,
    TaskInfo,
    TaskState,
    TaskTransition,
)

hookimpl = pluggy.HookimplMarker("mcgraph")


class ActionFailed(Exception):
    """Raised by an automation action that cannot take effect; the run records ``message``.

    ``retryable`` says whether trying again later may help (a service that is down).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


def __getattr__(name: str) -> Any:
    # PluginUnit needs the domain, which needs this module: it is imported on first use.
    if name == "PluginUnit":
        from mcgraph.plugins.host import PluginUnit

        return PluginUnit
    raise AttributeError(name)


__all__ = [
    "ActionCall",
    "ActionFailed",
    "AutomationAction",
    "AutomationTrigger",
    "ConditionFunction",
    "EventInfo",
    "GraphQLContribution",
    "Health",
    "HealthContext",
    "HealthReason",
    "HealthReport",
    "Methodology",
    "MilestoneInfo",
    "PluginUnit",
    "ProjectFacts",
    "ProjectInfo",
    "ProjectStatus",
    "Refusal",
    "Stage",
    "StageMove",
    "StateCategory",
    "TaskInfo",
    "TaskState",
    "TaskTransition",
    "hookimpl",
]
