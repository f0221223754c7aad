"""``mcgraph scheduler``: the periodic sweeps, run by one process at a time.

Several schedulers may run (for availability); one leads. On PostgreSQL the leader
holds a session-level advisory lock on a connection of its own: when it dies, its
connection closes, the lock is released, and another scheduler takes over within
``LEADER_CHECK_SECONDS``. On SQLite (one machine) the leader holds an exclusive lock on
a file beside the database. Each slot still runs once if two ever act together: slots
are written under guards (see ``mcgraph.domain.process_schedules`` and
``mcgraph.domain.timed_triggers``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text

from mcgraph.automation.broker import service
from mcgraph.automation.sweeps import background_jobs
from mcgraph.logs import get_logger
from mcgraph.runtime import Runtime
from mcgraph.settings import Settings

log = get_logger("mcgraph.scheduler")

LEADER_LOCK = 0x6D63_5343  # pg_advisory_lock key of the scheduler
LEADER_CHECK_SECONDS = 5.0


@contextlib.asynccontextmanager
async def leadership(runtime: Runtime, stop: asyncio.Event) -> AsyncIterator[asyncio.Event]:
    """Wait until this process leads (or ``stop`` is set); yields an event set when leadership is lost."""
    lost = asyncio.Event()
    if runtime.database.is_sqlite:
        path = Path(str(runtime.settings.sqlite_path or "mcgraph.db") + ".scheduler.lock")
        with path.open("a") as handle:
            while not stop.is_set():
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await _wait(stop, LEADER_CHECK_SECONDS)
            try:
                yield lost
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    async with runtime.database.engine.connect() as connection:
        while not stop.is_set():
            if await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}):
                await connection.commit()
                break
            await connection.commit()
            await _wait(stop, LEADER_CHECK_SECONDS)
        watch = asyncio.create_task(_watch(connection, lost))
        try:
            yield lost
        finally:
            watch.cancel()
            with contextlib.suppress(Exception):
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK})


async def _watch(connection: object, lost: asyncio.Event) -> None:
    """Set ``lost`` when the lock's connection stops answering."""
    while True:
        await asyncio.sleep(LEADER_CHECK_SECONDS)
        try:
            await connection.execute(text("SELECT 1"))  # type: ignore[attr-defined]
            await connection.commit()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            log.warning("the scheduler's lock connection failed: no longer leading")
            lost.set()
            return


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


async def run_scheduler(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Lead when possible, running the sweeps, until ``stop`` is set (or SIGTERM / SIGINT)."""
    async with service(settings, "scheduler", consume=False, stop=stop) as (runtime, stopping):
        while not stopping.is_set():
            async with leadership(runtime, stopping) as lost:
                if stopping.is_set():
                    break
                log.info("mcgraph scheduler leading")
                async with background_jobs(runtime):
                    _, pending = await asyncio.wait(
                        {asyncio.create_task(stopping.wait()), asyncio.create_task(lost.wait())},
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    for task in pending:
                        task.cancel()
