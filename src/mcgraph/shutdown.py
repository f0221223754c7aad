"""Stopping an API process gracefully: WebSockets are told to go away before uvicorn stops.

On SIGTERM uvicorn stops accepting connections, lets in-flight HTTP requests finish (for
up to ``--timeout-graceful-shutdown``; ``mcgraph serve`` passes
``MCGRAPH_SHUTDOWN_SECONDS``), then runs the app's lifespan shutdown, where the relay
hands on the events those requests wrote. But it cuts every WebSocket at once with 1012.
So the app steps in first: on SIGTERM (or SIGINT) each open socket is sent what is
queued for it and then closed with 1001 ("going away"), so that clients reconnect to
another process and resume from their last cursor; then uvicorn's own handler runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import Any, Protocol

GOING_AWAY = 1001
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Closable(Protocol):
    async def going_away(self) -> None:
        """Send what is queued, then close with 1001."""


class OpenSockets:
    """The WebSockets an app serves now; once :meth:`close_all` ran, new ones close at once."""

    def __init__(self) -> None:
        self._sockets: set[Closable] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.closing = False

    def add(self, sock: Closable) -> None:
        self._sockets.add(sock)
        if self.closing:
            task = asyncio.create_task(sock.going_away())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def discard(self, sock: Closable) -> None:
        self._sockets.discard(sock)

    async def close_all(self) -> None:
        """Close every open socket with 1001, each once what is queued for it is sent."""
        self.closing = True
        await asyncio.gather(*(sock.going_away() for sock in list(self._sockets)), return_exceptions=True)


@contextlib.contextmanager
def before_stop_signals(first: Callable[[], Awaitable[None]]) -> Iterator[None]:
    """For the life of the block, on SIGTERM or SIGINT run ``first`` on the running loop,
    then the handler that was there (uvicorn's, which starts its shutdown).

    A second signal goes straight to that handler (a second Ctrl-C forces uvicorn out).
    Only in the main thread and over a handler written in Python: a server run in a
    thread (as in tests) or with no such handler is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in SIGNALS}
    if not all(callable(handler) for handler in previous.values()):
        yield
        return
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()
    started = False

    def hand_on(number: int, frame: FrameType | None) -> None:
        handler: Any = previous[number]
        handler(number, frame)

    async def first_then_hand_on(number: int, frame: FrameType | None) -> None:
        try:
            await first()
        finally:
            hand_on(number, frame)

    def start(number: int, frame: FrameType | None) -> None:
        task = loop.create_task(first_then_hand_on(number, frame))
        pending.add(task)
        task.add_done_callback(pending.discard)

    def on_signal(number: int, frame: FrameType | None) -> None:
        nonlocal started
        if started:
            hand_on(number, frame)
            return
        started = True
        loop.call_soon_threadsafe(start, number, frame)  # a signal handler must not touch the loop itself

    for number in SIGNALS:
        signal.signal(number, on_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if signal.getsignal(number) is on_signal:
                signal.signal(number, handler)
