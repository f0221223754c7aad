"""A socket that never reads holds at most ``MCGRAPH_WS_QUEUE_BYTES`` of results, and the
memory comes back once it is gone: measured on a server process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path

import httpx
import pytest

from mcgraph.api.ws import Member, Outbox
from mcgraph.db.models import Role
from tests.live import TIMEOUT, Http, open_socket, served, until
from tests.test_subscriptions import create_project
from tests.test_ws_limits import StalledClient

DESCRIPTION = "d" * 10_000
TASKS = 50  # a result of about 500 kB
SUBSCRIPTIONS = 10  # distinct documents: a feed, and a copy of every result, each
EVENTS = 8  # what a stalled socket would be sent: about 40 MB
QUEUE_BYTES = 4 * 1024 * 1024
# what the kernel takes of a socket before the server's writes wait: at most the largest
# send buffer TCP grows to, and the stalled client's small receive buffer
SOCKET_BUFFERS = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2]) + 64 * 1024


def rss(pid: int) -> int:
    """The resident memory of process ``pid``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def subscription(n: int, project: str) -> str:
    return f'subscription {{ s{n}: projectUpdated(id: "{project}") {{ event {{ cursor }} project {{ tasks(first: 100) {{ nodes {{ description }} }} }} }} }}'


def gauge(url: str, name: str) -> float:
    """A gauge of the server's ``/metrics``."""
    text = httpx.get(url + "/metrics", timeout=5).text
    (line,) = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


def sockets_open(url: str) -> float:
    return gauge(url, "mcgraph_websocket_connections")


@pytest.mark.timeout(180)
async def test_a_stalled_socket_is_cut_off_within_its_byte_budget_and_its_memory_given_back(database_url, acme):
    token = acme[Role.MANAGER]
    with served(database_url=database_url, ws_queue_bytes=str(QUEUE_BYTES), rate_limit_requests_per_minute="0",
                rate_limit_cost_per_minute="0") as (url, process):
        async with Http(url) as http:
            project = await create_project(http, token, "BIG")
            for start in range(0, TASKS, 10):
                fields = " ".join(
                    f'm{n}: createTask(input: {{projectId: "{project}", title: "T{n}", description: "{DESCRIPTION}"}}) {{ userErrors {{ code }} }}'
                    for n in range(start, start + 10)
                )
                await http.data(f"mutation {{ {fields} }}", token=token)
            touch = f'mutation {{ createTask(input: {{projectId: "{project}", title: "touch"}}) {{ userErrors {{ code }} }} }}'

            # warm up: the same load served to a reader, so that what the process keeps for
            # good (code, caches, the database connections the load opened) is in the baseline
            async with open_socket(url, token, max_queue=None, max_size=None) as reader:  # reads all as it comes
                for n in range(SUBSCRIPTIONS):
                    await reader.subscribe(subscription(n, project))
                await until(lambda: gauge(url, "mcgraph_subscriptions_active") == SUBSCRIPTIONS, "subscriptions")
                for _ in range(EVENTS):
                    await http.data(touch, token=token)
                for _ in range(EVENTS * SUBSCRIPTIONS):
                    await reader.data(timeout=30)
            await until(lambda: sockets_open(url) == 0, "the reader to close")
            baseline = rss(process.pid)

            stalled = await StalledClient.open(url, token)
            for n in range(SUBSCRIPTIONS):
                await stalled.send({"id": str(n), "type": "subscribe", "payload": {"query": subscription(n, project)}})
            await until(lambda: gauge(url, "mcgraph_subscriptions_active") == SUBSCRIPTIONS, "subscriptions")
            for _ in range(EVENTS):
                await http.data(touch, token=token)
            # the server cuts it off on its own, while it reads nothing
            await until(lambda: gauge(url, "mcgraph_slow_subscribers_total") == 1, "the stalled socket to be cut off", 60)
            held = rss(process.pid) - baseline

            # it reads at last: what reached it, then SLOW_SUBSCRIBER, then the close
            received = errors = 0
            with contextlib.suppress(TimeoutError):
                while (message := await stalled.receive())["type"] != "close":
                    if message["type"] == "next":
                        received += len(json.dumps(message))
                    elif message["type"] == "error":
                        assert message["payload"][0]["extensions"]["code"] == "SLOW_SUBSCRIBER"
                        errors += 1
            stalled.close()
            assert errors == SUBSCRIPTIONS, (received, errors)
            # the budget, what the kernel holds, and a result on its way (being written when the budget filled)
            assert received <= QUEUE_BYTES + SOCKET_BUFFERS + 2 * TASKS * len(DESCRIPTION)

            await until(lambda: sockets_open(url) == 0, "the stalled socket to close")
            print(f"RSS {baseline / 2**20:.1f} MiB, +{held / 2**20:.1f} MiB while stalled", file=sys.stderr, flush=True)
            seen: list[int] = []
            try:
                await until(lambda: seen.append(rss(process.pid)) or seen[-1] <= baseline * 1.10, "the memory to come back", 30)
            finally:
                print(f"RSS after the close: {seen[-1] / 2**20:.1f} MiB", file=sys.stderr, flush=True)


async def test_an_outbox_refuses_results_beyond_its_byte_budget():
    from tests.test_ws_limits import RecordingSocket

    socket = RecordingSocket()
    socket.flowing.clear()  # a client that reads nothing
    overflowed: list[bool] = []
    outbox = Outbox(socket, limit=256, on_overflow=lambda: overflowed.append(True), byte_limit=3_000)  # type: ignore[arg-type]
    member = Member("1", outbox, lambda operation_id, payload: payload, asyncio.get_running_loop().create_future())
    assert outbox.offer("a" * 1_000, member, 1)
    assert outbox.offer("b" * 1_000, member, 2)
    assert not overflowed
    assert not outbox.offer("c" * 1_000, member, 3)  # three would hold more than 3,000 bytes
    assert overflowed == [True]
    assert outbox.bytes_waiting <= 3_000
    outbox.drop_results()
    assert (outbox.results_waiting, outbox.bytes_waiting) == (0, 0)
    await outbox.stop()
