"""prince2: project board, end-stage reports, approvals, stage plans, exceptions

Revision ID: bc592c3b7dd0
Revises:
Create Date: 2026-03-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bc592c3b7dd0"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("prince2",)
depends_on: str | Sequence[str] | None = "fefe34c0b67c"

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(14, 2)
WHEN = sa.DateTime(timezone=True)


def _org_project_table(name: str, *columns: sa.SchemaItem) -> None:
    """Create a table with an id, its organisation and its project, indexed on both."""
    op.create_table(
        name,
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("organization_id", BIG_ID, nullable=False),
        sa.Column("project_id", BIG_ID, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organization.id"], name=f"fk_{name}_organization_id_organization", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=f"fk_{name}_project_id_project", ondelete="CASCADE"),
    )
    op.create_index(f"ix_{name}_organization_id", name, ["organization_id"])
    op.create_index(f"ix_{name}_project_id", name, ["project_id"])


def _user_fk(table: str, column: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["user_account.id"], name=f"fk_{table}_{column}_user_account", ondelete=ondelete)


def upgrade() -> None:
    _org_project_table(
        "prince2_board",
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("project_id", name="uq_prince2_board_project_id"),
    )
    _org_project_table(
        "prince2_board_member",
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _user_fk("prince2_board_member", "user_id", "CASCADE"),
        sa.UniqueConstraint("project_id", "user_id", name="uq_prince2_board_member_project_id_user_id"),
    )
    _org_project_table(
        "prince2_stage_report",
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("submitted_by_id", BIG_ID, nullable=True),
        sa.Column("submitted_at", WHEN, nullable=False),
        _user_fk("prince2_stage_report", "submitted_by_id", "SET NULL"),
        sa.UniqueConstraint("project_id", "stage", name="uq_prince2_stage_report_project_id_stage"),
    )
    _org_project_table(
        "prince2_approval",
        sa.Column("from_stage", sa.String(100), nullable=False),
        sa.Column("to_stage", sa.String(100), nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("approved_at", WHEN, nullable=False),
        _user_fk("prince2_approval", "user_id", "CASCADE"),
        sa.UniqueConstraint(
            "project_id", "from_stage", "to_stage", "user_id", name="uq_prince2_approval_project_id_from_stage_to_stage_user_id"
        ),
    )
    _org_project_table(
        "prince2_stage_plan",
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("budget", MONEY, nullable=True),
        sa.Column("cost_tolerance", MONEY, nullable=False),
        sa.Column("planned_end", sa.Date(), nullable=True),
        sa.Column("time_tolerance_days", sa.Integer(), nullable=False),
        sa.Column("baseline_cost", MONEY, nullable=True),
        sa.Column("baseline_at", WHEN, nullable=True),
        sa.Column("baseline_event_id", BIG_ID, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("project_id", "stage", name="uq_prince2_stage_plan_project_id_stage"),
    )
    _org_project_table(
        "prince2_exception",
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_at", WHEN, nullable=False),
        sa.Column("requested_at", WHEN, nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("reported_at", WHEN, nullable=True),
        sa.Column("reported_by_id", BIG_ID, nullable=True),
        _user_fk("prince2_exception", "reported_by_id", "SET NULL"),
        sa.UniqueConstraint("project_id", "stage", "kind", name="uq_prince2_exception_project_id_stage_kind"),
    )


def downgrade() -> None:
    for name in (
        "prince2_exception",
        "prince2_stage_plan",
        "prince2_approval",
        "prince2_stage_report",
        "prince2_board_member",
        "prince2_board",
    ):
        op.drop_table(name)
