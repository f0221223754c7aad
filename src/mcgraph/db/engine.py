"""The async engine and session factory for one database URL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from mcgraph.db import event_numbers as _event_numbers  # noqa: F401 - registers the numbering of new events
from mcgraph.db import versions as _versions  # noqa: F401 - registers the data-version session hooks
from mcgraph.db.scoping import OrgSession

# session.info keys: the events a transaction wrote, and whom to tell once it commits
NEW_EVENTS = "mcgraph.new_events"
ON_COMMIT = "mcgraph.on_commit"
WRITE_LOCKED = "mcgraph.write_locked"

# pg_advisory_xact_lock key of an organisation's writes: this prefix plus its id
ORGANIZATION_WRITE_LOCK = 0x6D63 << 48

# a pooled PostgreSQL connection idle longer than this is pinged before it is used
PING_AFTER_IDLE_SECONDS = 5.0
# PostgreSQL connections a process opens at most: for its transactions, and for reading
# data versions (one short statement each, in autocommit)
CONNECTIONS = 20
AUTOCOMMIT_CONNECTIONS = 8


class Database:
    """Owns the engine of one database URL and makes sessions on it."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = _create_engine(url, echo=echo)
        self.sessions = async_sessionmaker(
            self.engine, sync_session_class=OrgSession, expire_on_commit=False, autoflush=False
        )
        self.on_commit: Callable[[list[Any]], None] | None = None
        # PostgreSQL: a few connections in autocommit for reading data versions, every request's
        # first read: a statement alone, without the BEGIN and ROLLBACK around it (nor around the ping)
        self._autocommit: AsyncEngine | None = None if self.is_sqlite else _create_engine(url, echo=echo, autocommit=True)

    async def versions(self, organization_id: int) -> tuple[int, int]:
        """The organisation's data version and access version (:mod:`mcgraph.db.versions`), read on their own."""
        if self._autocommit is None:
            async with self.session() as session:
                return await _versions.versions_of(session, organization_id)
        async with self._autocommit.connect() as connection:
            return await _versions.versions_of(connection, organization_id)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self, organization_id: int | None = None) -> AsyncSession:
        """A new session; with ``organization_id`` it sees that organisation's rows only."""
        session = self.sessions()
        session.info[ON_COMMIT] = self._committed
        if organization_id is not None:
            session.info["organization_id"] = organization_id
        return session

    @asynccontextmanager
    async def transaction(
        self, organization_id: int | None = None, *, bookkeeping: bool = False, lazy: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction: committed on success, rolled back on error.

        ``bookkeeping``: what it writes no query shows, so it changes no data version
        (see :mod:`mcgraph.db.versions`). ``lazy`` (PostgreSQL, one organisation): the
        transaction begins, and takes the organisation's write lock, at its first
        statement, so one that turns out to need the database for nothing costs no round
        trip (as ever, the lock comes before anything else the transaction does).
        """
        async with self.session(organization_id) as session, session.begin():
            if bookkeeping:
                _versions.bookkeeping(session)
            if lazy and organization_id is not None and not self.is_sqlite:
                event.listen(session.sync_session, "after_begin", _lock_organization)
            else:
                await begin_write(session)
            yield session

    def _committed(self, events: list[Any]) -> None:
        if self.on_commit is not None:
            self.on_commit(events)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._autocommit is not None:
            await self._autocommit.dispose()


WRITE = "mcgraph_write"


async def begin_write(session: AsyncSession) -> None:
    """Start the session's transaction as a write (on SQLite: BEGIN IMMEDIATE).

    SQLite lets one writer in at a time; a transaction that read first and writes later
    would fail when another wrote in between, so writers take the write lock up front
    and wait their turn. On PostgreSQL, a session of one organisation takes that
    organisation's advisory lock for the transaction: its writes follow commit order (its
    events' numbers, which a subscriber resumes after, do in any case: see
    :mod:`mcgraph.db.event_numbers`).
    Does nothing more once the session's transaction holds its lock.
    """
    connection = await session.connection(execution_options={WRITE: True})
    organization_id = session.info.get("organization_id")
    if organization_id is None or connection.dialect.name != "postgresql":
        return
    transaction = session.sync_session.get_transaction()
    if session.info.get(WRITE_LOCKED) is transaction:
        return
    await connection.execute(_LOCK, {"key": ORGANIZATION_WRITE_LOCK + organization_id})
    session.info[WRITE_LOCKED] = transaction


_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def _lock_organization(session: Any, _transaction: Any, connection: Any) -> None:
    """``after_begin`` of a lazy transaction: its organisation's write lock, first thing."""
    root = session.get_transaction()
    if session.info.get(WRITE_LOCKED) is root:
        return
    connection.execute(_LOCK, {"key": ORGANIZATION_WRITE_LOCK + session.info["organization_id"]})
    session.info[WRITE_LOCKED] = root


def track_event(session: AsyncSession, event: Any) -> None:
    """Remember an event written in the session's transaction, to hand on once it commits."""
    session.info.setdefault(NEW_EVENTS, []).append(event)


@event.listens_for(OrgSession, "after_commit")
def _hand_on_events(session: Any) -> None:
    events = session.info.pop(NEW_EVENTS, None)
    hook = session.info.get(ON_COMMIT)
    if events and hook is not None:
        hook(events)


@event.listens_for(OrgSession, "after_rollback")
def _forget_events(session: Any) -> None:
    session.info.pop(NEW_EVENTS, None)


def _create_engine(url: str, *, echo: bool, autocommit: bool = False) -> AsyncEngine:
    options: dict[str, Any] = {"echo": echo}
    # PostgreSQL's pools are fixed: a connection past the pool's size (SQLAlchemy's overflow)
    # is closed when it comes back, so a load above the size opened and closed a connection
    # for most requests; now a request waits the moment it takes for one to come back.
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    elif autocommit:
        options.update(pool_size=AUTOCOMMIT_CONNECTIONS, max_overflow=0, isolation_level="AUTOCOMMIT")
    else:
        options.update(pool_size=CONNECTIONS, max_overflow=0)
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    else:
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it has been idle a while.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: with asyncpg that is three
    round trips (BEGIN, ``;``, ROLLBACK), about as many as a short request's own. A
    connection back in the pool a moment ago is taken as it is; one idle longer than
    :data:`PING_AFTER_IDLE_SECONDS` (the database restarted, a proxy dropped it) is
    pinged, and replaced when the ping fails (the pool's documented ``DisconnectionError``).
    A connection lost in between fails its statement, and SQLAlchemy invalidates the pool.
    """
    dialect = engine.dialect

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError("a pooled connection failed its ping") from error

    event.listen(engine.sync_engine.pool, "checkin", checkin)
    event.listen(engine.sync_engine.pool, "checkout", checkout)


def _sqlite_begin(conn: Any) -> None:
    # The driver's own transaction handling is off (see _sqlite_pragmas): we begin here,
    # which also makes SAVEPOINTs work.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
