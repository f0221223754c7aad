"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from mcgraph.db import Base
from mcgraph.db.migrate import SchemaOutOfDate, check_current, current_revisions, pending_revisions, upgrade

CORE_HEAD = "fefe34c0b67c"


def _differences(sync_conn) -> list:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True, "compare_server_default": True})
    return compare_metadata(context, Base.metadata)


async def test_the_migrated_database_matches_the_models(database_url):
    engine = create_async_engine(database_url)
    try:
        for attempt in ("as migrated by the fixture", "after upgrading again"):
            async with engine.connect() as conn:
                assert await conn.run_sync(_differences) == [], attempt
            current = await current_revisions(engine)
            assert current and pending_revisions(database_url, current) == [], attempt
            upgrade(database_url)
    finally:
        await engine.dispose()


async def test_plugin_branches_are_migrated_and_checked_with_the_core(tmp_path):
    """``mcgraph migrate`` runs each installed plugin's branch; a database without them is stale."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'core-only.db'}"
    upgrade(url, CORE_HEAD)
    engine = create_async_engine(url)
    try:
        with pytest.raises(SchemaOutOfDate, match="run `mcgraph migrate`"):
            await check_current(engine, url)
        assert len(pending_revisions(url, await current_revisions(engine))) >= 4  # a branch per built-in plugin at least
        upgrade(url)
        await check_current(engine, url)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert {"agile_sprint", "kanban_wip_limit", "prince2_approval", "waterfall_phase"} <= tables
    finally:
        await engine.dispose()
