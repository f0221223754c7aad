"""agile sprints and sprint membership

Revision ID: 8b6479ce4ef8
Revises:
Create Date: 2026-03-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "8b6479ce4ef8"
down_revision = None
branch_labels = ("agile",)
depends_on = "fefe34c0b67c"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agile_sprint",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("organization_id", Id, nullable=False),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("number", Id, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("planned", "active", "completed", name="agile_sprint_state", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("committed_points", sa.Double(), nullable=True),
        sa.Column("completed_points", sa.Double(), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("started_at", Stamp, nullable=True),
        sa.Column("completed_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"], name="fk_agile_sprint_organization_id_organization", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_agile_sprint_project_id_project", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_agile_sprint"),
        sa.UniqueConstraint("project_id", "number", name="uq_agile_sprint_project_id_number"),
    )
    op.create_index("ix_agile_sprint_organization_id", "agile_sprint", ["organization_id"])
    op.create_index("ix_agile_sprint_project_id", "agile_sprint", ["project_id"])
    op.create_index(
        "uq_agile_sprint_one_active",
        "agile_sprint",
        ["project_id"],
        unique=True,
        sqlite_where=sa.text("state = 'active'"),
        postgresql_where=sa.text("state = 'active'"),
    )

    op.create_table(
        "agile_sprint_task",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("organization_id", Id, nullable=False),
        sa.Column("sprint_id", Id, nullable=False),
        sa.Column("task_id", Id, nullable=False),
        sa.Column("added_at", Stamp, nullable=False),
        sa.Column("removed_at", Stamp, nullable=True),
        sa.Column("points", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name="fk_agile_sprint_task_organization_id_organization",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sprint_id"], ["agile_sprint.id"], name="fk_agile_sprint_task_sprint_id_agile_sprint", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name="fk_agile_sprint_task_task_id_task", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_agile_sprint_task"),
    )
    op.create_index("ix_agile_sprint_task_organization_id", "agile_sprint_task", ["organization_id"])
    op.create_index("ix_agile_sprint_task_task_id", "agile_sprint_task", ["task_id"])
    op.create_index("ix_agile_sprint_task_sprint", "agile_sprint_task", ["sprint_id", "removed_at"])


def downgrade() -> None:
    op.drop_table("agile_sprint_task")
    op.drop_table("agile_sprint")
