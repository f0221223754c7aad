"""The async engine and session factory for one database URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from mcgraph.db.scoping import OrgSession


class Database:
    """Owns the engine of one database URL and makes sessions on it."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = _create_engine(url, echo=echo)
        self.sessions = async_sessionmaker(
            self.engine, sync_session_class=OrgSession, expire_on_commit=False, autoflush=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self, organization_id: int | None = None) -> AsyncSession:
        """A new session; with ``organization_id`` it sees that organisation's rows only."""
        session = self.sessions()
        if organization_id is not None:
            session.info["organization_id"] = organization_id
        return session

    @asynccontextmanager
    async def transaction(self, organization_id: int | None = None) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction: committed on success, rolled back on error."""
        async with self.session(organization_id) as session, session.begin():
            await begin_write(session)
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


WRITE = "mcgraph_write"


async def begin_write(session: AsyncSession) -> None:
    """Start the session's transaction as a write (on SQLite: BEGIN IMMEDIATE).

    SQLite lets one writer in at a time; a transaction that read first and writes later
    would fail when another wrote in between, so writers take the write lock up front
    and wait their turn. Does nothing once the session's transaction has begun.
    """
    await session.connection(execution_options={WRITE: True})


def _create_engine(url: str, *, echo: bool) -> AsyncEngine:
    options: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    else:
        options.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


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
