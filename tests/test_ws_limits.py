"""The WebSocket's limits: a slow subscriber, subscriptions per connection, keep-alive, origins."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from typing import Any

import pytest
from websockets.asyncio.client import connect
from starlette.websockets import WebSocketState
from websockets.exceptions import InvalidStatus

from mcgraph.api.ws import Member, Outbox
from mcgraph.app import create_app
from mcgraph.db.models import Role
from mcgraph.events.hub import Listener, Overflow
from tests.live import TIMEOUT, TRANSPORT_WS, Http, Live, open_socket, served, serving, ws_url
from tests.test_subscriptions import EVENTS, create_project

BIG = "x" * 8000
CHANGES = "subscription { taskChanged { event { cursor } task { description } } }"


class StalledClient:
    """A graphql-transport-ws client that reads only when asked, with small buffers.

    (Client libraries read ahead into their own buffers; this one lets the server see
    a reader that has stopped.)
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str, token: str) -> StalledClient:
        host, port = url.removeprefix("http://").split(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /graphql HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {TRANSPORT_WS}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        client = cls(reader, writer)
        await client.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert (await client.receive())["type"] == "connection_ack"
        return client

    async def send(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        assert len(payload) < 1 << 16
        size = bytes([0x80 | len(payload)]) if len(payload) < 126 else bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        self.writer.write(bytes([0x81]) + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        await self.writer.drain()

    async def frame(self) -> tuple[int, bytes]:
        first, second = await asyncio.wait_for(self.reader.readexactly(2), TIMEOUT)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return first & 0x0F, await asyncio.wait_for(self.reader.readexactly(length), TIMEOUT)

    async def receive(self) -> dict[str, Any]:
        """The next text message (keep-alives skipped); a close frame as ``{"type": "close", "code": ...}``."""
        while True:
            opcode, payload = await self.frame()
            if opcode == 0x8:
                return {"type": "close", "code": struct.unpack("!H", payload[:2])[0]}
            if opcode == 0x1:
                message = json.loads(payload)
                if message["type"] not in ("ping", "pong"):
                    return message

    def close(self) -> None:
        self.writer.close()


async def test_a_slow_subscriber_is_dropped_with_a_resume_cursor_and_slows_nobody(settings, clock, acme):
    token = acme[Role.MANAGER]
    app = create_app(settings.model_copy(update={"ws_queue_size": 4}), clock=clock)
    async with serving(app, send_buffer=4096) as url:
        server = Live(url, app)
        async with Http(url) as http:
            project = await create_project(http, token, "WEB")
            slow = await StalledClient.open(url, acme[Role.VIEWER])
            async with open_socket(url, acme[Role.VIEWER]) as fast:
                await slow.send({"id": "1", "type": "subscribe", "payload": {"query": CHANGES}})
                await fast.subscribe(CHANGES)
                await server.listening(1)  # one feed for both

                # 60 tasks of 8 kB each; the slow client reads nothing meanwhile
                for start in range(0, 60, 15):
                    fields = " ".join(
                        f'm{n}: createTask(input: {{projectId: "{project}", title: "T{n}", description: "{BIG}"}}) {{ userErrors {{ code }} }}'
                        for n in range(start, start + 15)
                    )
                    await http.data(f"mutation {{ {fields} }}", token=token)
                fast_cursors = [int((await fast.data())["taskChanged"]["event"]["cursor"]) for _ in range(60)]
                assert fast_cursors == sorted(set(fast_cursors))

                # the slow one now reads: what reached it, then the error, then the close
                received: list[int] = []
                while True:
                    message = await slow.receive()
                    if message["type"] != "next":
                        break
                    received.append(int(message["payload"]["data"]["taskChanged"]["event"]["cursor"]))
                assert message["type"] == "error"
                (error,) = message["payload"]
                assert error["extensions"]["code"] == "SLOW_SUBSCRIBER"
                assert len(received) < 60
                assert error["extensions"]["resumeAfter"] == (str(received[-1]) if received else None)
                assert await slow.receive() == {"type": "close", "code": 1013}
                slow.close()

            # it resumes where it was: every event it missed, once, in order
            async with open_socket(url, acme[Role.VIEWER]) as again:
                await again.subscribe(EVENTS, {"after": error["extensions"]["resumeAfter"] or "0", "types": ["task.created"]})
                rest = [int((await again.data())["events"]["cursor"]) for _ in range(len(fast_cursors) - len(received))]
                # nothing more, nothing twice: the next one is the task created after them all
                await http.data(f'mutation {{ createTask(input: {{projectId: "{project}", title: "Last"}}) {{ userErrors {{ code }} }} }}', token=token)
                assert int((await again.data())["events"]["cursor"]) > max(fast_cursors)
    assert received + rest == fast_cursors


async def test_subscriptions_per_connection_are_limited(settings, clock, acme):
    app = create_app(settings.model_copy(update={"ws_max_subscriptions": 2}), clock=clock)
    async with serving(app) as url:
        async with open_socket(url, acme[Role.VIEWER]) as sock:
            await sock.subscribe(EVENTS)
            await sock.subscribe(CHANGES)
            third = await sock.subscribe(EVENTS, {"types": ["project.created"]})
            message = await sock.receive()
            assert (message["id"], message["type"]) == (third, "error")
            assert "limit" in message["payload"][0]["message"]


async def test_the_server_pings_an_idle_connection(settings, clock, acme):
    app = create_app(settings.model_copy(update={"ws_keep_alive_seconds": 0.1}), clock=clock)
    async with serving(app) as url:
        async with connect(ws_url(url), subprotocols=[TRANSPORT_WS]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {acme[Role.VIEWER]}"}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            assert json.loads(await ws.recv()) == {"type": "ping"}


async def handshake(url: str, origin: str | None) -> Any:
    headers = {"Origin": origin} if origin else {}
    async with connect(ws_url(url), subprotocols=[TRANSPORT_WS], additional_headers=headers) as ws:
        return ws.subprotocol


async def extensions(url: str) -> str | None:
    """The extensions ``mcgraph serve`` accepted of a client that offers permessage-deflate."""
    async with connect(ws_url(url), subprotocols=[TRANSPORT_WS], compression="deflate") as ws:
        return ws.response.headers.get("Sec-WebSocket-Extensions")


@pytest.mark.timeout(120)
async def test_serve_compresses_websockets_only_when_told(database_url):
    with served(database_url=database_url) as (url, _):
        assert await extensions(url) is None
    with served(database_url=database_url, ws_compression="true") as (url, _):
        assert (await extensions(url) or "").startswith("permessage-deflate")


async def test_only_allowed_origins_may_open_a_websocket(settings, clock):
    app = create_app(settings.model_copy(update={"allowed_origins": ["https://dash.example.com"]}), clock=clock)
    async with serving(app) as url:
        assert await handshake(url, "https://dash.example.com") == TRANSPORT_WS
        assert await handshake(url, None) == TRANSPORT_WS  # not a browser: no ambient credentials
        with pytest.raises(InvalidStatus) as refused:
            await handshake(url, "https://evil.example.net")
        assert refused.value.response.status_code == 403


def test_a_listener_that_falls_too_far_behind_overflows():
    listener = Listener(organization_id=1, capacity=3)
    listener.offer(["e1", "e2"])  # type: ignore[list-item]
    listener.offer(["e3", "e4"])  # type: ignore[list-item]
    assert listener.overflowed


async def test_an_overflowed_listener_ends_its_subscription():
    listener = Listener(organization_id=1, capacity=1)
    listener.offer(["e1", "e2"])  # type: ignore[list-item]
    with pytest.raises(Overflow):
        await listener.next()


class RecordingSocket:
    """Takes what an outbox sends; ``send_text`` waits until ``flowing`` is set."""

    application_state = WebSocketState.CONNECTED

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.stalled = asyncio.Event()  # set once a send waits for the stalled reader

    async def send_text(self, text: str) -> None:
        if not self.flowing.is_set():
            self.stalled.set()
        await self.flowing.wait()
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_an_outbox_sends_in_order_and_holds_no_task_while_idle():
    socket = RecordingSocket()
    outbox = Outbox(socket, limit=2, on_overflow=lambda: None)  # type: ignore[arg-type]
    assert not outbox.sending
    outbox.send("ack")
    assert outbox.sending
    assert await outbox.sent(TIMEOUT)
    assert not outbox.sending
    assert socket.sent == ["ack"]

    socket.flowing.clear()  # a reader that stalls: what comes meanwhile waits behind
    outbox.send("ping")
    await asyncio.sleep(0)
    member = Member("1", outbox, lambda operation_id, payload: payload, asyncio.get_running_loop().create_future())
    member.deliver("first", 7)
    outbox.close_when_sent(1000, "done")
    await asyncio.wait_for(socket.stalled.wait(), TIMEOUT)  # the sender waits at the reader
    assert not await outbox.sent(0) and socket.sent == ["ack"]
    socket.flowing.set()
    assert await outbox.sent(TIMEOUT)
    assert (socket.sent, socket.closed, member.last_sent) == (["ack", "ping", "first"], (1000, "done"), 7)
    outbox.send("too late")
    assert not outbox.sending
