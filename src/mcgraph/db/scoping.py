"""Organisation scoping: a session opened for an organisation sees only its rows.

``Database.session(organization_id)`` stores the id in ``session.info``; this hook adds
``organization_id = :id`` to every ORM SELECT, UPDATE and DELETE that touches an
:class:`~mcgraph.db.base.OrgScoped` model, joins and relationship loads included.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from mcgraph.db.base import OrgScoped


class OrgSession(Session):
    """The sync session class behind every mcgraph ``AsyncSession``."""


@event.listens_for(OrgSession, "do_orm_execute")
def _scope_to_organization(state: ORMExecuteState) -> None:
    organization_id = state.session.info.get("organization_id")
    if organization_id is None or state.is_column_load or state.is_relationship_load:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            OrgScoped, lambda cls: cls.organization_id == organization_id, include_aliases=True
        )
    )
