"""The public plugin API of mcgraph. A plugin imports only names from this module.

See :mod:`mcgraph.plugins.hookspecs` for the hooks, and docs/plugins.md for a guide.
"""

from __future__ import annotations

import pluggy

from mcgraph.plugins.types import (
    Health,
    Methodology,
    MilestoneInfo,
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

__all__ = [
    "Health",
    "Methodology",
    "MilestoneInfo",
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
