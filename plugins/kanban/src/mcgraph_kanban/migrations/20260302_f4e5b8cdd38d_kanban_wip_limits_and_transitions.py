"""kanban: WIP limits and the flow history of tasks

Revision ID: f4e5b8cdd38d
Revises:
Create Date: 2026-03-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f4e5b8cdd38d"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("kanban",)
depends_on: str | Sequence[str] | None = "fefe34c0b67c"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kanban_wip_limit",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], name="fk_kanban_wip_limit_organization_id_organization", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_kanban_wip_limit_project_id_project", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_kanban_wip_limit"),
        sa.UniqueConstraint("project_id", "state", name="uq_kanban_wip_limit_project_id_state"),
    )
    op.create_index("ix_kanban_wip_limit_organization_id", "kanban_wip_limit", ["organization_id"])

    op.create_table(
        "kanban_transition",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], name="fk_kanban_transition_organization_id_organization", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_kanban_transition_project_id_project", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name="fk_kanban_transition_task_id_task", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_kanban_transition"),
        sa.UniqueConstraint("event_id", name="uq_kanban_transition_event_id"),
    )
    op.create_index("ix_kanban_transition_organization_id", "kanban_transition", ["organization_id"])
    op.create_index("ix_kanban_transition_task_id", "kanban_transition", ["task_id"])
    op.create_index("ix_kanban_transition_project_at", "kanban_transition", ["project_id", "at"])


def downgrade() -> None:
    op.drop_table("kanban_transition")
    op.drop_table("kanban_wip_limit")
