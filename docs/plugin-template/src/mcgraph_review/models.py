"""The plugin's table, ``review_approval``, and the two queries the plugin makes of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from mcgraph.plugins.db import Base, BigId, OrgScoped


class Approval(OrgScoped, Base):
    """Someone approved a project's review; ``user_id`` None when mcgraph did (an automation)."""

    __tablename__ = "review_approval"
    # One approval per person and project. NULLs never clash, so mcgraph's own
    # approvals are kept to one per project by approve() instead.
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime]


async def approve(
    session: AsyncSession, *, organization_id: int, project_id: int, user_id: int | None, now: datetime
) -> bool:
    """Record the approval unless it exists; whether it was new. Safe to call again."""
    same = Approval.user_id.is_(None) if user_id is None else Approval.user_id == user_id
    if await session.scalar(select(Approval.id).where(Approval.project_id == project_id, same)):
        return False
    session.add(Approval(organization_id=organization_id, project_id=project_id, user_id=user_id, approved_at=now))
    await session.flush()
    return True


async def count_approvals(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, int]:
    """The number of approvals of each project, in one query (0 for projects without any)."""
    rows = await session.execute(
        select(Approval.project_id, func.count())
        .where(Approval.project_id.in_(project_ids))
        .group_by(Approval.project_id)
    )
    counts = {project_id: 0 for project_id in project_ids}
    counts.update({project_id: n for project_id, n in rows})
    return counts
