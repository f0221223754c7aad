"""data versions: an access version beside each, bumped by changes to tokens, members, users and organisations

Revision ID: 8b41f0c2d9e3
Revises: 3c0a9e5d2b71
Create Date: 2026-12-02 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '8b41f0c2d9e3'
down_revision: str | Sequence[str] | None = '3c0a9e5d2b71'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('data_version') as batch_op:
        batch_op.add_column(sa.Column('access', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('data_version') as batch_op:
        batch_op.drop_column('access')
