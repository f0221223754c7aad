"""data versions: a number per organisation (and one for all) that every committed change bumps

Revision ID: 3c0a9e5d2b71
Revises: 75d00b3874fe
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3c0a9e5d2b71'
down_revision: str | Sequence[str] | None = '75d00b3874fe'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_version',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version'))
    )


def downgrade() -> None:
    op.drop_table('data_version')
