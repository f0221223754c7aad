"""The event bus: tells every API process that an organisation has new events.

``MCGRAPH_BUS_URL`` picks the transport: nothing for the in-process bus (one process),
``redis://`` for Redis pub/sub, ``postgresql://`` for PostgreSQL LISTEN/NOTIFY. A
transport that loses its connection reconnects with backoff and calls ``on_reconnect``,
since signals sent while it was away are gone: the hub then reads what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from mcgraph.logs import get_logger

log = get_logger("mcgraph.bus")

RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True, slots=True)
class Signal:
    """Organisation ``organization_id`` has committed events up to its event number ``event_number``."""

    organization_id: int
    event_number: int

    def encode(self) -> str:
        return f"{self.organization_id}:{self.event_number}"

    @classmethod
    def decode(cls, text: str | bytes) -> Signal | None:
        if isinstance(text, bytes):
            text = text.decode("ascii", "replace")
        organization, _, event = text.partition(":")
        if not (organization.isdigit() and event.isdigit()):
            return None
        return cls(int(organization), int(event))


Receiver = Callable[[Signal], None]


class Bus:
    """Publishes signals to every process's receiver, its own included."""

    name = "memory"

    def __init__(self) -> None:
        self._receiver: Receiver | None = None
        self._on_reconnect: Callable[[], None] | None = None

    async def start(self, receiver: Receiver, on_reconnect: Callable[[], None]) -> None:
        self._receiver = receiver
        self._on_reconnect = on_reconnect

    async def publish(self, signal: Signal) -> None:
        if self._receiver is not None:
            self._receiver(signal)

    async def ping(self) -> None:
        """Raise when the bus cannot be reached."""

    async def close(self) -> None:
        self._receiver = None

    def _receive(self, raw: str | bytes) -> None:
        signal = Signal.decode(raw)
        if signal is None:
            log.warning("bus message ignored", message=repr(raw)[:100])
        elif self._receiver is not None:
            self._receiver(signal)


class _Reconnecting(Bus):
    """A bus whose listening connection runs in a task that reconnects when it drops."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._connections = 0

    async def start(self, receiver: Receiver, on_reconnect: Callable[[], None]) -> None:
        await super().start(receiver, on_reconnect)
        self._task = asyncio.create_task(self._supervise(), name=f"{self.name}-bus")
        # Start serving once the first try to listen has succeeded or failed (the
        # supervisor goes on trying; readiness reports it), at most a few seconds.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), 5)

    async def _supervise(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen(self._connected)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure means: reconnect
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning("bus connection lost", bus=self.name, error=str(error) or type(error).__name__, retry_in=delay)
                self._listening.clear()
                self._first_attempt.set()
                await asyncio.sleep(delay)

    def _connected(self) -> None:
        self._connections += 1
        self._listening.set()
        self._first_attempt.set()
        if self._connections > 1 and self._on_reconnect is not None:
            self._on_reconnect()

    async def _listen(self, connected: Callable[[], None]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await super().close()


class RedisBus(_Reconnecting):
    name = "redis"

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel)
        import redis.asyncio as redis

        self._client = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)

    async def publish(self, signal: Signal) -> None:
        await self._client.publish(self.channel, signal.encode())

    async def ping(self) -> None:
        await self._client.ping()

    async def _listen(self, connected: Callable[[], None]) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            connected()
            while True:
                message = await pubsub.get_message(timeout=30.0)
                if message is not None and message.get("type") == "message":
                    self._receive(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def close(self) -> None:
        await super().close()
        await self._client.aclose()


class PostgresBus(_Reconnecting):
    """LISTEN/NOTIFY on a connection of its own (asyncpg), apart from the ORM's pool."""

    name = "postgresql"

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url.replace("postgresql+asyncpg://", "postgresql://", 1), channel)
        self._publisher: object | None = None
        self._publish_lock = asyncio.Lock()

    async def _connect(self) -> object:
        import asyncpg

        return await asyncpg.connect(self.url, timeout=5)

    async def publish(self, signal: Signal) -> None:
        async with self._publish_lock:
            if self._publisher is None or self._publisher.is_closed():  # type: ignore[attr-defined]
                self._publisher = await self._connect()
            try:
                await self._publisher.execute("SELECT pg_notify($1, $2)", self.channel, signal.encode())  # type: ignore[attr-defined]
            except Exception:
                with contextlib.suppress(Exception):
                    await self._publisher.close()  # type: ignore[attr-defined]
                self._publisher = None
                raise

    async def ping(self) -> None:
        connection = await self._connect()
        try:
            await connection.execute("SELECT 1")  # type: ignore[attr-defined]
        finally:
            await connection.close()  # type: ignore[attr-defined]

    async def _listen(self, connected: Callable[[], None]) -> None:
        connection = await self._connect()
        lost = asyncio.get_running_loop().create_future()

        def on_lost(_connection: object) -> None:
            if not lost.done():
                lost.set_exception(ConnectionError("the LISTEN connection closed"))

        def on_notify(_connection: object, _pid: int, _channel: str, payload: str) -> None:
            self._receive(payload)

        try:
            connection.add_termination_listener(on_lost)  # type: ignore[attr-defined]
            await connection.add_listener(self.channel, on_notify)  # type: ignore[attr-defined]
            connected()
            while True:
                # asyncpg notices a dead server only when it talks to it
                done, _ = await asyncio.wait({lost}, timeout=30)
                if done:
                    lost.result()
                await connection.execute("SELECT 1")  # type: ignore[attr-defined]
        finally:
            with contextlib.suppress(Exception):
                await connection.close()  # type: ignore[attr-defined]

    async def close(self) -> None:
        await super().close()
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.close()  # type: ignore[attr-defined]


def create_bus(url: str | None, channel: str) -> Bus:
    """The bus ``MCGRAPH_BUS_URL`` names; ``channel`` keeps deployments sharing a server apart."""
    if not url:
        return Bus()
    if url.startswith(("redis://", "rediss://")):
        return RedisBus(url, channel)
    return PostgresBus(url, channel)
