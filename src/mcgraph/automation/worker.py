"""``mcgraph worker``: run automations from the broker, in a process of their own.

The worker owns a runtime like the API's: its actions' events go through its relay to
the bus (so dashboards see them) and to the automations (so chains go on), exactly as
changes made through the API do. SIGTERM lets the running actions finish first.
"""

from __future__ import annotations

import asyncio

from mcgraph.automation.broker import automations_running
from mcgraph.logs import configure_logging, get_logger
from mcgraph.periodic import stop_on_signals
from mcgraph.runtime import Runtime
from mcgraph.settings import Settings

log = get_logger("mcgraph.worker")


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Consume automation messages until ``stop`` is set (or SIGTERM / SIGINT arrives)."""
    configure_logging(settings)
    runtime = Runtime.from_settings(settings)
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    try:
        async with automations_running(runtime, consume=True), runtime.live():
            log.info("mcgraph worker started", threads=settings.worker_threads)
            await stop.wait()
    finally:
        await runtime.close()
        log.info("mcgraph worker stopped")
