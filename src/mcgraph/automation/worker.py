"""``mcgraph worker``: run automations from the broker, in a process of their own.

The worker owns a runtime like the API's: its actions' events go through its relay to
the bus (so dashboards see them) and to the automations (so chains go on), exactly as
changes made through the API do. SIGTERM lets the running actions finish first (for up to
``MCGRAPH_SHUTDOWN_SECONDS``) and puts the messages fetched but not started back on the queue.
"""

from __future__ import annotations

import asyncio

from mcgraph.automation.broker import service
from mcgraph.logs import get_logger
from mcgraph.settings import Settings

log = get_logger("mcgraph.worker")


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Consume automation messages until ``stop`` is set (or SIGTERM / SIGINT arrives)."""
    async with service(settings, "worker", consume=True, stop=stop) as (_, stopping):
        log.info("mcgraph worker started", threads=settings.worker_threads)
        await stopping.wait()
        log.info("mcgraph worker stopping: running automations finish first")
