"""Pooled PostgreSQL connections: pinged before use only after being idle, replaced when dead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import exc, text

from mcgraph.db import Database
from mcgraph.db import engine as engine_module


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
