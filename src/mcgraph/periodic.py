"""Background jobs of one process: run a job every so many seconds, and tasks for the life of a block."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from mcgraph.logs import get_logger

log = get_logger("mcgraph.periodic")


async def every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    """Run ``job`` every ``seconds`` until cancelled; a failure is logged and tried again next time.

    A job that returns a count other than zero has it logged.
    """
    while True:
        await asyncio.sleep(seconds)
        try:
            count = await job()
            if isinstance(count, int) and count:
                log.info(name, count=count)
        except Exception:
            log.exception(f"{name} failed")


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGTERM or SIGINT (in the main thread; elsewhere the caller stops it)."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(number, stop.set)
        except (NotImplementedError, RuntimeError):
            return


@contextlib.asynccontextmanager
async def running(*jobs: Coroutine[Any, Any, object]) -> AsyncIterator[None]:
    """Run ``jobs`` as tasks for the life of the block; cancel them (and wait) when it ends."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
