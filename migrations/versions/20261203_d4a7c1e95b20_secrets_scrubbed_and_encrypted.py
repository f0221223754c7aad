"""secrets: masked in the events written before, encrypted where rules keep them

Revision ID: d4a7c1e95b20
Revises: 5e7a1c9d4b26
Create Date: 2026-12-03 18:00:00

``updateAutomationRule`` used to write a webhook's secret, before and after, into its
event. This masks the secret params of mcgraph's own actions in every stored event, and
encrypts the secrets rules keep in clear with the key of the environment's
``MCGRAPH_SECRET_KEY`` (the one ``mcgraph migrate`` and ``mcgraph serve`` read). Plugins'
actions are not known here: ``mcgraph secrets rotate`` does the same for every declared
action, plugins' included. Downgrading leaves events masked (what was shown is gone) and
secrets encrypted.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mcgraph.domain import secrets
from mcgraph.settings import load_settings

revision: str = 'd4a7c1e95b20'
down_revision: str | Sequence[str] | None = '5e7a1c9d4b26'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# mcgraph's own actions' secret params, as they stand at this revision
BUILT_IN_SECRETS = {"send_webhook": ("secret",)}
BATCH = 500

event = sa.table("event", sa.column("id", sa.Integer), sa.column("type", sa.String), sa.column("data", sa.JSON))
rule = sa.table("automation_rule", sa.column("id", sa.Integer), sa.column("actions", sa.JSON))


def _secrets_of(action_type: str) -> tuple[str, ...]:
    return BUILT_IN_SECRETS.get(action_type, ())


def upgrade() -> None:
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(event.c.id, event.c.data)
            .where(event.c.id > last, event.c.type.like("automation\\_rule.%", escape="\\"))
            .order_by(event.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for event_id, data in rows:
            scrubbed = secrets.scrub_event_data(data, _secrets_of)
            if scrubbed is not None:
                connection.execute(sa.update(event).where(event.c.id == event_id).values(data=scrubbed))
        last = rows[-1][0]
    keyring = secrets.Keyring.of(load_settings())
    for rule_id, actions in connection.execute(sa.select(rule.c.id, rule.c.actions)).all():
        sealed = _seal(actions, keyring)
        if sealed is not None:
            connection.execute(sa.update(rule).where(rule.c.id == rule_id).values(actions=sealed))


def _seal(actions: object, keyring: secrets.Keyring) -> list | None:
    """The actions with their secrets in clear encrypted (None: there were none)."""
    if not isinstance(actions, list):
        return None
    sealed = [
        {**a, "params": secrets.seal_params(a["params"], _secrets_of(str(a.get("type"))), keyring)}
        if isinstance(a, dict) and isinstance(a.get("params"), dict)
        else a
        for a in actions
    ]
    return sealed if sealed != actions else None


def downgrade() -> None:
    pass
