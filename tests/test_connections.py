"""Connections: pooled PostgreSQL ones pinged only after being idle and replaced when dead;
lazy transactions, which take one only for their first statement."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, exc, text

from mcgraph.db import Database
from mcgraph.db import engine as engine_module
from mcgraph.db.models import Role


@pytest.fixture
async def pooled(database_url: str) -> AsyncIterator[Database]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the pool's ping is PostgreSQL's")
    database = Database(database_url)
    yield database
    await database.engine.dispose()


async def _backend(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")))


async def _terminate(database_url: str, pid: int) -> None:
    """End the backend from another connection, and wait until it is gone."""
    import asyncpg

    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await connection.execute("SELECT pg_terminate_backend($1)", pid)
        deadline = time.monotonic() + 10
        while await connection.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            assert time.monotonic() < deadline, "the backend did not end"
            await asyncio.sleep(0.02)
    finally:
        await connection.close()


async def test_a_connection_idle_past_the_limit_is_pinged_and_a_dead_one_replaced(pooled, database_url, monkeypatch):
    first = await _backend(pooled)
    await _terminate(database_url, first)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert await _backend(pooled) != first  # the ping failed, and the pool gave a new connection


async def test_a_connection_used_a_moment_ago_is_not_pinged(pooled, database_url, monkeypatch):
    first = await _backend(pooled)
    await _terminate(database_url, first)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    with pytest.raises(exc.DBAPIError) as raised:  # no round trips were spent on it: its statement finds it dead
        await _backend(pooled)
    assert raised.value.connection_invalidated
    assert await _backend(pooled) != first  # the pool was invalidated: the next request is served


async def test_a_lazy_transaction_takes_the_organisation_lock_at_its_first_statement_only(pooled, database_url):
    import asyncpg

    from mcgraph.db.engine import ORGANIZATION_WRITE_LOCK

    other = await asyncpg.connect(database_url.replace("+asyncpg", ""))

    async def free() -> bool:
        async with other.transaction():
            return bool(await other.fetchval("SELECT pg_try_advisory_xact_lock($1)", ORGANIZATION_WRITE_LOCK + 7))

    checkouts = []
    event.listen(pooled.engine.sync_engine.pool, "checkout", lambda *_: checkouts.append(1))
    try:
        async with pooled.transaction(7, lazy=True):
            assert await free()  # nothing done yet: no connection, no lock
        assert checkouts == []
        async with pooled.transaction(7, lazy=True) as session:
            await session.execute(text("SELECT 1"))
            assert not await free()  # its first statement came after the lock
        assert await free()
    finally:
        await other.close()


async def test_plugins_that_let_an_event_pass_cost_no_transaction(app, gql, acme, database_url):
    from sqlalchemy import select

    from mcgraph.db.models import Event
    from mcgraph.events.observers import notify
    from mcgraph.testing import eventually
    from tests.project_helpers import create_project

    runtime = app.state.runtime
    assert runtime.plugins.observers  # kanban, prince2 and waterfall watch every event
    await create_project(gql, acme[Role.OWNER], "WEB")  # a "simple" project: none of theirs
    async def handed_on() -> list[int]:  # the app's relay is done with them: it will not count below
        async with runtime.database.session() as session:
            assert not await session.scalar(select(Event.id).where(Event.published_at.is_(None)))
            return list(await session.scalars(select(Event.id)))

    ids = await eventually(handed_on)
    checkouts = []
    event.listen(runtime.database.engine.sync_engine.pool, "checkout", lambda *_: checkouts.append(asyncio.current_task()))
    task = asyncio.ensure_future(notify(runtime, ids))
    await task
    # the events read, and on PostgreSQL nothing more; SQLite's one writer takes its lock up front
    assert checkouts.count(task) == (1 if database_url.startswith("postgresql") else 2)
