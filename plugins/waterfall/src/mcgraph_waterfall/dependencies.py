"""Finish-to-start dependencies: a task does not start before its FS predecessors finish.

mcgraph already refuses to finish a task with open FS predecessors; this rule also
refuses to *start* one, which is what a waterfall plan means by "finish to start".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from mcgraph.plugins import StateCategory

NOT_STARTED = frozenset({StateCategory.TODO, StateCategory.BLOCKED})
STARTED = frozenset({StateCategory.IN_PROGRESS, StateCategory.DONE})

# The core's dependency and task tables, read by name: the plugin API has no call for a
# task's predecessors.
_PREDECESSORS = text(
    "SELECT t.id, t.title, t.state_category FROM dependency d JOIN task t ON t.id = d.predecessor_id"
    " WHERE d.successor_id = :task_id AND d.type = 'fs' ORDER BY t.id"
)


@dataclass(frozen=True, slots=True)
class Predecessor:
    """A task another one depends on, finish to start."""

    id: int
    title: str
    category: StateCategory


def starts(from_category: StateCategory, to_category: StateCategory) -> bool:
    """Whether a change from one category to another starts the work on a task."""
    return from_category in NOT_STARTED and to_category in STARTED


def start_refusals(
    from_category: StateCategory, to_category: StateCategory, predecessors: Sequence[Predecessor]
) -> list[str]:
    """Why the task may not change category so, in words; empty when it may."""
    if not starts(from_category, to_category):
        return []
    return [
        f"the finish-to-start predecessor '{p.title}' is not done"
        for p in predecessors
        if p.category is not StateCategory.DONE
    ]


async def fs_predecessors(session: Any, task_id: int) -> list[Predecessor]:
    """The finish-to-start predecessors of task ``task_id``."""
    rows = await session.execute(_PREDECESSORS, {"task_id": task_id})
    return [Predecessor(int(row[0]), str(row[1]), StateCategory(row[2])) for row in rows]
