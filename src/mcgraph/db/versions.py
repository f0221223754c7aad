"""Data versions: a number per organisation that grows with every committed change to what
its queries can read.

The response cache (:mod:`mcgraph.api.response_cache`) keys each answer by it, so that an
answer is served again only while nothing it could have read has changed. Writers do not
have to call anything: the session hooks below count a transaction as a change of

* its session's organisation, when a session of one organisation
  (``Database.session(organization_id)``) flushes a row or executes an INSERT, UPDATE
  or DELETE;
* a flushed row's organisation, in a session of no organisation;
* every organisation, when a session of no organisation executes an INSERT, UPDATE or
  DELETE statement that changed rows and its writer named no organisation with
  :func:`changed`, or when a row of a table that belongs to no organisation (users,
  organisations) is written.

A writer that knows better says so: :func:`changed` names the organisations a statement
changed; :func:`bookkeeping` marks a transaction whose writes no query shows (events
marked published, idempotency records).

The versions are stored in ``data_version`` (row 0 counts the changes of every
organisation at once, row N those of organisation N) and bumped by the transaction
itself just before it commits, so a version and the rows it counts commit, or roll
back, together. :func:`current` reads an organisation's version: the sum of both.
Read before the data, it never claims data older than it.

Each row also has an **access** version, bumped only by the changes that decide who may
do what: to tokens, memberships, users and organisations (:data:`ACCESS_TABLES`). A
checked token is trusted again while it stands (:mod:`mcgraph.api.known_tokens`), so that
a busy organisation's writes do not have every request's token read again.
:func:`versions_of` reads both in one statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, bindparam, event, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from mcgraph.db.base import Base
from mcgraph.db.scoping import OrgSession

EVERY = 0  # the scope that counts the changes of every organisation at once
# the tables whose rows decide who may do what (a token's last use is bookkeeping)
ACCESS_TABLES = frozenset({"api_token", "membership", "user_account", "organization"})

_CHANGED = "mcgraph.data_changed"  # set of scopes this transaction changes
_NAMED = "mcgraph.data_changes_named"  # True: the writer named them (changed / bookkeeping)
_UNNAMED = "mcgraph.data_changes_unnamed"  # True: a statement of no organisation changed rows
_BOOKKEEPING = "mcgraph.data_bookkeeping"  # True: nothing written here shows in a query
_ACCESS = "mcgraph.access_changed"  # set of scopes whose access this transaction changes
_UNNAMED_ACCESS = "mcgraph.access_changes_unnamed"  # True: that statement wrote one of ACCESS_TABLES


class DataVersion(Base):
    __tablename__ = "data_version"

    # the scope: EVERY, or an organisation's id
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    # the changes among them to ACCESS_TABLES
    access: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


def changed(session: AsyncSession | Session, organization_ids: int | Iterable[int]) -> None:
    """Count this transaction as a change of these organisations (and of no others for
    the statements it executes outside any organisation's session)."""
    info = session.info
    info[_NAMED] = True
    ids = (organization_ids,) if isinstance(organization_ids, int) else organization_ids
    info.setdefault(_CHANGED, set()).update(ids)


def bookkeeping(session: AsyncSession | Session) -> None:
    """This transaction's writes change nothing a query shows: count none of them."""
    session.info[_NAMED] = True
    session.info[_BOOKKEEPING] = True


_table = DataVersion.__table__
_CURRENT = select(func.coalesce(func.sum(_table.c.version), 0), func.coalesce(func.sum(_table.c.access), 0)).where(
    or_(_table.c.id == EVERY, _table.c.id == bindparam("organization_id"))
)


async def versions_of(session: AsyncSession | AsyncConnection, organization_id: int) -> tuple[int, int]:
    """The organisation's data version and access version as ``session`` (or a connection) sees them now."""
    # a Core statement on the connection: this runs for every request, and the ORM's
    # handling of a statement costs more than the round trip itself here
    connection = await session.connection() if isinstance(session, AsyncSession) else session
    data, access = (await connection.execute(_CURRENT, {"organization_id": organization_id})).one()
    return int(data or 0), int(access or 0)


async def current(session: AsyncSession | AsyncConnection, organization_id: int) -> int:
    """The organisation's data version as ``session`` (or a connection) sees it now."""
    return (await versions_of(session, organization_id))[0]


def _touch(session: Session, scope: int, table: str | None = None) -> None:
    session.info.setdefault(_CHANGED, set()).add(scope)
    if table in ACCESS_TABLES:
        session.info.setdefault(_ACCESS, set()).add(scope)


def _scope_of(session: Session, row: Any) -> int:
    organization_id = getattr(row, "organization_id", None)
    if organization_id is None and "organization_id" not in row.__table__.columns:
        return EVERY  # users, organisations: rows more than one organisation reads
    return organization_id if organization_id is not None else session.info.get("organization_id", EVERY)


@event.listens_for(OrgSession, "after_flush")
def _count_flushed(session: Session, _context: Any) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(row, DataVersion) and hasattr(row, "__table__"):
            _touch(session, _scope_of(session, row), row.__table__.name)


@event.listens_for(OrgSession, "do_orm_execute")
def _count_statement(state: ORMExecuteState) -> Any:
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    table = getattr(state.statement, "table", None)
    if table is not None and getattr(table, "name", None) == DataVersion.__tablename__:
        return None
    session = state.session
    organization_id = session.info.get("organization_id")
    name = getattr(table, "name", None)
    if table is not None and "organization_id" not in table.columns:
        _touch(session, EVERY, name)
        return None
    if organization_id is not None:
        _touch(session, organization_id, name)
        return None
    result = state.invoke_statement()
    if getattr(result, "rowcount", None) != 0:  # a statement that changed no row changes no answer
        session.info[_UNNAMED] = True
        if name in ACCESS_TABLES:
            session.info[_UNNAMED_ACCESS] = True
    return result


def _bump_statement(insert: Any) -> Any:
    statement = insert(_table).values(id=bindparam("scope"), version=1, access=bindparam("access"))
    return statement.on_conflict_do_update(
        index_elements=[_table.c.id],
        set_={"version": _table.c.version + 1, "access": _table.c.access + bindparam("access")},
    )


# built once: a Core statement on the connection, as every write transaction runs it
_BUMPS = {"postgresql": _bump_statement(postgresql.insert), "sqlite": _bump_statement(sqlite.insert)}


@event.listens_for(OrgSession, "before_commit")
def _bump(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: its changes are counted with the whole
        return
    session.flush()  # the transaction's last changes are counted too
    info = session.info
    if info.get(_BOOKKEEPING):
        return
    scopes = set(info.get(_CHANGED, ()))
    if info.get(_UNNAMED) and not info.get(_NAMED):
        scopes.add(EVERY)
    access = set(info.get(_ACCESS, ()))
    if info.get(_UNNAMED_ACCESS):  # the organisations its writer named, or every one
        access |= scopes
    if not scopes:
        return
    connection = session.connection()
    bump = _BUMPS[connection.dialect.name]
    for scope in sorted(scopes):  # always in the same order: two writers never wait on each other in a cycle
        connection.execute(bump, {"scope": scope, "access": int(scope in access)})


@event.listens_for(OrgSession, "after_commit")
@event.listens_for(OrgSession, "after_rollback")
def _forget(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint undone: counting its changes anyway is harmless
        return
    for key in (_CHANGED, _NAMED, _UNNAMED, _BOOKKEEPING, _ACCESS, _UNNAMED_ACCESS):
        session.info.pop(key, None)
