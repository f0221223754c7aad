"""Reads of the PRINCE2 tables (and of the few core columns the plugin names).

Each function takes an SQLAlchemy session that sees only the current organisation's
rows of the plugin's tables; the core tables are read through lightweight table
clauses, with the organisation named explicitly where the table is per organisation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.plugins.db import core

from mcgraph_prince2.models import Approval, Board, BoardMember, StageException, StagePlan, StageReport
from mcgraph_prince2.tolerances import StagePlan as PlanFacts

_USERS = core.user
_MEMBERSHIPS = core.membership


async def user_names(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's display name (their email's local part when they gave no name)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(select(_USERS.c.id, _USERS.c.name, _USERS.c.email).where(_USERS.c.id.in_(ids)))
    return {row.id: row.name or row.email.split("@", 1)[0] for row in rows}


async def organization_members(session: AsyncSession, organization_id: int, user_ids: Iterable[int]) -> set[int]:
    """Which of ``user_ids`` belong to the organisation."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    rows = await session.scalars(
        select(_MEMBERSHIPS.c.user_id).where(
            _MEMBERSHIPS.c.organization_id == organization_id, _MEMBERSHIPS.c.user_id.in_(ids)
        )
    )
    return set(rows)


async def board(session: AsyncSession, project_id: int) -> Board | None:
    return await session.scalar(select(Board).where(Board.project_id == project_id))


async def board_members(session: AsyncSession, project_ids: Sequence[int]) -> list[BoardMember]:
    return list(
        await session.scalars(
            select(BoardMember).where(BoardMember.project_id.in_(project_ids)).order_by(BoardMember.id)
        )
    )


async def quorums(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, int]:
    """The quorum each project's board set (projects without one are left out)."""
    rows = await session.execute(select(Board.project_id, Board.quorum).where(Board.project_id.in_(project_ids)))
    return {row.project_id: row.quorum for row in rows}


async def stage_report(session: AsyncSession, project_id: int, stage: str) -> StageReport | None:
    return await session.scalar(
        select(StageReport).where(StageReport.project_id == project_id, StageReport.stage == stage)
    )


async def stage_reports(session: AsyncSession, project_ids: Sequence[int]) -> list[StageReport]:
    return list(
        await session.scalars(
            select(StageReport).where(StageReport.project_id.in_(project_ids)).order_by(StageReport.submitted_at, StageReport.id)
        )
    )


async def approvals(
    session: AsyncSession, project_ids: Sequence[int], *, from_stage: str | None = None, to_stage: str | None = None
) -> list[Approval]:
    query = select(Approval).where(Approval.project_id.in_(project_ids))
    if from_stage is not None:
        query = query.where(Approval.from_stage == from_stage)
    if to_stage is not None:
        query = query.where(Approval.to_stage == to_stage)
    return list(await session.scalars(query.order_by(Approval.approved_at, Approval.id)))


async def stage_plan(session: AsyncSession, project_id: int, stage: str) -> StagePlan | None:
    return await session.scalar(select(StagePlan).where(StagePlan.project_id == project_id, StagePlan.stage == stage))


async def stage_plans(session: AsyncSession, project_ids: Sequence[int]) -> list[StagePlan]:
    return list(
        await session.scalars(select(StagePlan).where(StagePlan.project_id.in_(project_ids)).order_by(StagePlan.id))
    )


async def exceptions(session: AsyncSession, project_ids: Sequence[int]) -> list[StageException]:
    return list(
        await session.scalars(
            select(StageException)
            .where(StageException.project_id.in_(project_ids))
            .order_by(StageException.raised_at, StageException.id)
        )
    )


async def exception(session: AsyncSession, project_id: int, stage: str, kind: str) -> StageException | None:
    return await session.scalar(
        select(StageException).where(
            StageException.project_id == project_id, StageException.stage == stage, StageException.kind == kind
        )
    )


def plan_facts(row: StagePlan) -> PlanFacts:
    """A stage plan row as the tolerance rules take it."""
    return PlanFacts(
        stage=row.stage,
        budget=row.budget,
        cost_tolerance=row.cost_tolerance or Decimal(0),
        baseline_cost=row.baseline_cost,
        planned_end=row.planned_end,
        time_tolerance_days=row.time_tolerance_days or 0,
    )
