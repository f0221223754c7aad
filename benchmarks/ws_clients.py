"""Many WebSocket subscribers in one asyncio process, driven by the runner over stdin/stdout.

``python -m benchmarks.ws_clients URL COUNT [--subscribe JSON --token T]`` opens COUNT
connections (``graphql-transport-ws`` with ``connection_init`` and one ``subscribe`` when
``--subscribe`` is given, else bare), prints ``ready``; then, for every ``go`` line read,
prints ``armed``, waits until every connection has received one message and prints the
arrival times (``time.time()``) as a JSON list, the first message's text, and how many
connections had nothing within :data:`WAIT_SECONDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import websockets

CONNECT_AT_ONCE = 100
WAIT_SECONDS = 30


async def _open(url: str, subscribe: str | None, token: str | None):
    if subscribe is None:
        return await websockets.connect(url, max_size=None, ping_interval=None)
    socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=None, ping_interval=None)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    ack = json.loads(await socket.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": json.loads(subscribe)}))
    return socket


async def _next(socket) -> tuple[float, str]:
    while True:
        text = await socket.recv()
        if '"ping"' in text[:40]:
            await socket.send(json.dumps({"type": "pong"}))
            continue
        return time.time(), text


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("--subscribe")
    parser.add_argument("--token")
    args = parser.parse_args()
    sockets = []
    for start in range(0, args.count, CONNECT_AT_ONCE):
        batch = range(start, min(args.count, start + CONNECT_AT_ONCE))
        sockets += await asyncio.gather(*(_open(args.url, args.subscribe, args.token) for _ in batch))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while (line := await loop.run_in_executor(None, sys.stdin.readline)).strip() == "go":
        waiting = [asyncio.ensure_future(_next(socket)) for socket in sockets]
        print("armed", flush=True)
        done, missing = await asyncio.wait(waiting, timeout=WAIT_SECONDS)
        for future in missing:
            future.cancel()
        arrivals = [future.result() for future in done]
        message = arrivals[0][1] if arrivals else ""
        print(json.dumps({"times": [t for t, _ in arrivals], "message": message, "missing": len(missing)}), flush=True)
    for socket in sockets:
        await socket.close()


if __name__ == "__main__":
    asyncio.run(main())
