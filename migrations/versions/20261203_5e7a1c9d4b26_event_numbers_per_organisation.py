"""events numbered per organisation: the cursor and global id a tenant sees count its own events only

Revision ID: 5e7a1c9d4b26
Revises: 8b41f0c2d9e3
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e7a1c9d4b26'
down_revision: str | Sequence[str] | None = '8b41f0c2d9e3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('event_counter',
    sa.Column('id', ID, autoincrement=False, nullable=False),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['id'], ['organization.id'], name=op.f('fk_event_counter_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_counter'))
    )
    with op.batch_alter_table('event') as batch_op:
        batch_op.add_column(sa.Column('org_seq', sa.BigInteger(), nullable=True))
    # the events so far, numbered per organisation in id order (ids followed commit order
    # per organisation); window functions and UPDATE ... FROM: PostgreSQL, SQLite 3.33+
    op.execute(
        'UPDATE event SET org_seq = numbered.n FROM '
        '(SELECT id, ROW_NUMBER() OVER (PARTITION BY organization_id ORDER BY id) AS n FROM event) AS numbered '
        'WHERE event.id = numbered.id'
    )
    _renumber_retried_events()
    op.execute('INSERT INTO event_counter (id, last_number) SELECT organization_id, MAX(org_seq) FROM event GROUP BY organization_id')
    with op.batch_alter_table('event') as batch_op:
        batch_op.alter_column('org_seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_event_organization_id_org_seq'), ['organization_id', 'org_seq'])
        # readers order an organisation's events by their number now, not by id
        batch_op.drop_index('ix_event_org_id')
        batch_op.drop_index('ix_event_subject')
        batch_op.drop_index('ix_event_project')
        batch_op.create_index('ix_event_subject', ['organization_id', 'subject_type', 'subject_id', 'org_seq'])
        batch_op.create_index('ix_event_project', ['organization_id', 'project_id', 'org_seq'])


def _renumber_retried_events() -> None:
    """``automation_run.retried`` recorded the retried run's event by id: by its number now."""
    event = sa.table('event', sa.column('id', ID), sa.column('org_seq', sa.BigInteger()), sa.column('type', sa.String()), sa.column('data', sa.JSON()))
    bind = op.get_bind()
    retried = bind.execute(sa.select(event.c.id, event.c.data).where(event.c.type == 'automation_run.retried')).all()
    for event_id, data in retried:
        if not isinstance(data, dict) or data.get('event_id') is None:
            continue
        number = bind.execute(sa.select(event.c.org_seq).where(event.c.id == data['event_id'])).scalar()
        bind.execute(sa.update(event).where(event.c.id == event_id).values(data={**data, 'event_id': number}))


def downgrade() -> None:
    with op.batch_alter_table('event') as batch_op:
        batch_op.drop_index('ix_event_subject')
        batch_op.drop_index('ix_event_project')
        batch_op.create_index('ix_event_org_id', ['organization_id', 'id'])
        batch_op.create_index('ix_event_subject', ['organization_id', 'subject_type', 'subject_id', 'id'])
        batch_op.create_index('ix_event_project', ['organization_id', 'project_id', 'id'])
        batch_op.drop_constraint(batch_op.f('uq_event_organization_id_org_seq'), type_='unique')
        batch_op.drop_column('org_seq')
    op.drop_table('event_counter')
