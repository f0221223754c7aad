"""Helpers for tests against running servers: serve an app, spawn a server process, and a
small GraphQL-over-WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

TIMEOUT = 10
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
KEEP_ALIVE = {"ka", "ping", "pong"}


def _free_socket(send_buffer: int | None = None, port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", port))
    return sock


def free_port() -> int:
    """A port nothing listens on now (for a server started later)."""
    with contextlib.closing(_free_socket()) as sock:
        return sock.getsockname()[1]


class serving:  # noqa: N801 - used like contextlib.closing
    """``app`` served by uvicorn on a local port, in a thread with its own event loop.

    ``with`` it in plain code, ``async with`` it in a coroutine: the async form waits for
    the server to start and stop without blocking the test's event loop, whose tasks
    (the test app's relay, say) may hold a database lock the server needs to start or stop.
    Either form gives the base URL.
    """

    def __init__(self, app: Any, *, send_buffer: int | None = None, port: int = 0) -> None:
        import uvicorn

        self._sock = _free_socket(send_buffer, port)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(app, lifespan="on", log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, name="live-server", daemon=True)

    def _started(self, deadline: float) -> bool:
        if self._server.started:
            return True
        if not self._thread.is_alive():
            pytest.fail("the live server stopped while starting")
        if time.monotonic() > deadline:
            pytest.fail("the live server did not start within 10 s")
        return False

    def _stopped(self) -> None:
        self._sock.close()
        assert not self._thread.is_alive(), "the live server did not stop"

    def __enter__(self) -> str:
        self._thread.start()
        try:
            deadline = time.monotonic() + 10
            while not self._started(deadline):
                time.sleep(0.01)
        except BaseException:
            self.__exit__()
            raise
        return self.url

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._stopped()

    async def __aenter__(self) -> str:
        self._thread.start()
        try:
            deadline = time.monotonic() + 10
            while not self._started(deadline):
                await asyncio.sleep(0.01)
        except BaseException:
            await self.__aexit__()
            raise
        return self.url

    async def __aexit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        await asyncio.to_thread(self._thread.join, 10)
        self._stopped()


def _environment(settings: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **{f"MCGRAPH_{name.upper()}": value for name, value in settings.items()}}


@contextlib.contextmanager
def command(*args: str, stderr: IO[bytes] | None = None, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    """``mcgraph <args>`` in a process of its own, with ``MCGRAPH_*`` settings; stopped (SIGTERM) at the end.

    ``stderr``, a file, receives its logs.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "mcgraph.cli", *args], env=_environment(settings), stdin=subprocess.DEVNULL, stderr=stderr
    )
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Poll ``url``'s ``/healthz`` until it answers; fail when ``process`` exits first, or after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server process exited with {process.returncode} while starting")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"the server process did not start within {timeout} s")
        time.sleep(0.05)


@contextlib.contextmanager
def spawned(**settings: str) -> Iterator[str]:
    """``mcgraph`` served by uvicorn in a process of its own, with ``MCGRAPH_*`` settings; yields its URL."""
    port = free_port()
    env = _environment(settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "mcgraph.app:create_app_from_env",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield url
    finally:
        _stop(process)


@contextlib.contextmanager
def served(**settings: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``mcgraph serve`` in a process of its own, with ``MCGRAPH_*`` settings; yields its URL and the process."""
    port = free_port()
    with command("serve", "--host", "127.0.0.1", "--port", str(port), **settings) as process:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, process)
        yield url, process


async def until(condition: Any, what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``condition()`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Live:
    """A served app: its URL, and its runtime and feeds to look at."""

    def __init__(self, url: str, app: Any) -> None:
        self.url = url
        self.app = app
        self.runtime = app.state.runtime
        self.feeds = app.state.feeds

    async def listening(self, count: int) -> None:
        """Wait until ``count`` subscriptions listen to the hub."""
        await until(lambda: self.runtime.hub.listener_count() == count, f"{count} subscriptions to listen")


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://", 1) + "/graphql"


class Socket:
    """One GraphQL WebSocket connection, on either protocol."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._ids = iter(range(1, 1_000_000))

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message that is not a keep-alive, waiting at most ``timeout`` seconds."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] not in KEEP_ALIVE:
                return message

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send({"id": operation_id, "type": kind, "payload": {"query": query, "variables": variables or {}}})
        return operation_id

    async def stop(self, operation_id: str) -> None:
        await self.send({"id": operation_id, "type": "complete" if self.protocol == TRANSPORT_WS else "stop"})

    async def data(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The data of the next result; fails on an error."""
        message = await self.receive(timeout)
        assert message["type"] in ("next", "data"), message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]

    async def results(self, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        return [await self.data(timeout) for _ in range(count)]

    async def nothing_queued(self) -> bool:
        """True when nothing but keep-alives comes before the answer to a ping sent now.

        The server queues its pong behind every message it queued before, so this tells
        what the server had sent when it read the ping. Call it once whatever could send
        has finished its round (a positive signal), never after a fixed wait.
        """
        await self.send({"type": "ping"})
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
            if message["type"] == "pong":
                return True
            if message["type"] not in KEEP_ALIVE:
                return False


@contextlib.asynccontextmanager
async def open_socket(base: str, token: str, protocol: str = TRANSPORT_WS, **options: Any) -> Any:
    async with connect(ws_url(base), subprotocols=[protocol], **options) as ws:
        sock = Socket(ws, protocol)
        await sock.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert (await sock.receive())["type"] == "connection_ack"
        yield sock


class Http:
    """GraphQL over HTTP to a running server."""

    def __init__(self, base: str) -> None:
        self.client = httpx.AsyncClient(base_url=base, timeout=30)

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def data(self, query: str, variables: dict[str, Any] | None = None, *, token: str) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}
        )
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]
