"""Reading and writing the kanban tables: WIP limits and the transition history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.plugins import StateCategory

from mcgraph_kanban.flow import Move
from mcgraph_kanban.models import Transition, WipLimit


async def limit_overrides(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, dict[str, int | None]]:
    """Each project's own limits, state -> limit (None: limit lifted)."""
    rows = await session.scalars(select(WipLimit).where(WipLimit.project_id.in_(project_ids)))
    found: dict[int, dict[str, int | None]] = {pk: {} for pk in project_ids}
    for row in rows:
        found[row.project_id][row.state] = row.limit
    return found


async def set_limit(
    session: AsyncSession, *, organization_id: int, project_id: int, state: str, limit: int | None, now: datetime
) -> int | None:
    """Store the project's limit for ``state``; return the limit it had before (if its own)."""
    row = await session.scalar(
        select(WipLimit).where(WipLimit.project_id == project_id, WipLimit.state == state).with_for_update()
    )
    if row is None:
        session.add(WipLimit(organization_id=organization_id, project_id=project_id, state=state, limit=limit, updated_at=now))
        await session.flush()
        return None
    before = row.limit
    row.limit, row.updated_at = limit, now
    await session.flush()
    return before


async def add_transition(
    session: AsyncSession,
    *,
    organization_id: int,
    event_id: int,
    project_id: int,
    task_id: int,
    from_state: str | None,
    to_state: str,
    category: StateCategory,
    at: datetime,
) -> bool:
    """Write the transition of event ``event_id`` unless it is already written; whether it was new."""
    if await session.scalar(select(Transition.id).where(Transition.event_id == event_id)) is not None:
        return False
    session.add(
        Transition(
            organization_id=organization_id,
            event_id=event_id,
            project_id=project_id,
            task_id=task_id,
            from_state=from_state,
            to_state=to_state,
            category=category.value,
            at=at,
        )
    )
    await session.flush()
    return True


async def moves_of(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[Move]]:
    """Each project's transitions, in order, as :class:`~mcgraph_kanban.flow.Move`."""
    rows = await session.scalars(
        select(Transition).where(Transition.project_id.in_(project_ids)).order_by(Transition.at, Transition.event_id)
    )
    found: dict[int, list[Move]] = defaultdict(list)
    for row in rows:
        found[row.project_id].append(
            Move(row.task_id, row.from_state, row.to_state, StateCategory(row.category), row.at, row.event_id)
        )
    return {pk: found.get(pk, []) for pk in project_ids}
