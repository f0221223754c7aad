"""The WIP limits in force for projects, and the WIP check of task transitions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.plugins import TaskTransition

from mcgraph_kanban import store, wip
from mcgraph_kanban.methodology import KEY
from mcgraph_kanban.methodology import KanbanSettings


async def limits_in_force(
    session: AsyncSession, project_ids: Sequence[int], settings: KanbanSettings
) -> dict[int, dict[str, int]]:
    """Each project's limits, state -> limit: its own rows over the settings' defaults."""
    overrides = await store.limit_overrides(session, project_ids)
    return {pk: wip.effective_limits(settings.default_wip, overrides[pk]) for pk in project_ids}


async def check_transition(transition: TaskTransition) -> list[str] | None:
    """Refuse a task of a kanban project entering a state that is at its WIP limit."""
    if transition.methodology.key != KEY or transition.project is None:
        return None
    project_id = transition.project.id
    settings = transition.settings(KanbanSettings)
    limit = (await limits_in_force(transition.session, [project_id], settings))[project_id].get(transition.to_state)
    if limit is None:
        return None
    others = sum(1 for t in await transition.tasks() if t.state == transition.to_state and t.id != transition.task.id)
    reason = wip.refusal(transition.to_state, limit, others)
    return [reason] if reason else None
