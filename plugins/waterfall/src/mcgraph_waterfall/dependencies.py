"""Finish-to-start dependencies: a task does not start before its FS predecessors finish.

mcgraph already refuses to finish a task with open FS predecessors; this rule also
refuses to *start* one, which is what a waterfall plan means by "finish to start".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from mcgraph.plugins import StateCategory
from mcgraph.plugins.db import core

NOT_STARTED = frozenset({StateCategory.TODO, StateCategory.BLOCKED})
STARTED = frozenset({StateCategory.IN_PROGRESS, StateCategory.DONE})

_task, _dependency = core.task, core.dependency


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
    rows = await session.execute(
        select(_task.c.id, _task.c.title, _task.c.state_category)
        .join(_dependency, _dependency.c.predecessor_id == _task.c.id)
        .where(_dependency.c.successor_id == task_id, _dependency.c.type == "fs")
        .order_by(_task.c.id)
    )
    return [Predecessor(int(row[0]), str(row[1]), StateCategory(row[2])) for row in rows]
