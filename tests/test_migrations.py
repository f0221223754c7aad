"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from mcgraph.db import Base
from mcgraph.db.migrate import current_revisions, head_revisions, upgrade


def _differences(sync_conn) -> list:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True, "compare_server_default": True})
    return compare_metadata(context, Base.metadata)


async def test_the_migrated_database_matches_the_models(database_url):
    engine = create_async_engine(database_url)
    try:
        for attempt in ("as migrated by the fixture", "after upgrading again"):
            async with engine.connect() as conn:
                assert await conn.run_sync(_differences) == [], attempt
            assert await current_revisions(engine) == head_revisions(database_url) != set(), attempt
            upgrade(database_url)
    finally:
        await engine.dispose()
