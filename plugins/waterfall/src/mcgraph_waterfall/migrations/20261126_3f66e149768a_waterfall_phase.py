"""waterfall: the milestone that closes each phase of a project; effects taken once

Revision ID: 3f66e149768a
Revises:
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f66e149768a"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("waterfall",)
depends_on: str | Sequence[str] | None = "fefe34c0b67c"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "waterfall_phase",
        sa.Column("project_id", Id, nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("milestone_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organization_id", Id, nullable=False),
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"],
            name="fk_waterfall_phase_organization_id_organization", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name="fk_waterfall_phase_project_id_project", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"], ["milestone.id"], name="fk_waterfall_phase_milestone_id_milestone", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_waterfall_phase"),
        sa.UniqueConstraint("project_id", "phase", name="uq_waterfall_phase_project_id_phase"),
        sa.UniqueConstraint("milestone_id", name="uq_waterfall_phase_milestone_id"),
    )
    op.create_index("ix_waterfall_phase_organization_id", "waterfall_phase", ["organization_id"])
    op.create_table(
        "waterfall_effect",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organization_id", Id, nullable=False),
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"],
            name="fk_waterfall_effect_organization_id_organization", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_waterfall_effect"),
        sa.UniqueConstraint("organization_id", "key", name="uq_waterfall_effect_organization_id_key"),
    )
    op.create_index("ix_waterfall_effect_organization_id", "waterfall_effect", ["organization_id"])


def downgrade() -> None:
    op.drop_index("ix_waterfall_effect_organization_id", table_name="waterfall_effect")
    op.drop_table("waterfall_effect")
    op.drop_index("ix_waterfall_phase_organization_id", table_name="waterfall_phase")
    op.drop_table("waterfall_phase")
