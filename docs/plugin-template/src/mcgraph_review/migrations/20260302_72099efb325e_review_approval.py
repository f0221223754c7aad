"""review: the review_approval table

Revision ID: 72099efb325e
Revises:
Create Date: 2026-03-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "72099efb325e"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("review",)
depends_on: str | Sequence[str] | None = "fefe34c0b67c"  # a core revision after project and user_account exist

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_approval",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], name="fk_review_approval_organization_id_organization", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_review_approval_project_id_project", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name="fk_review_approval_user_id_user_account", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_review_approval"),
        sa.UniqueConstraint("project_id", "user_id", name="uq_review_approval_project_id_user_id"),
    )
    op.create_index("ix_review_approval_organization_id", "review_approval", ["organization_id"])


def downgrade() -> None:
    op.drop_table("review_approval")
