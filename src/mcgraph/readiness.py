"""Readiness checks: is each service this process depends on reachable right now?"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from mcgraph.runtime import Runtime

CHECK_TIMEOUT = 3.0


async def check_database(runtime: Runtime) -> None:
    await asyncio.wait_for(runtime.database.ping(), CHECK_TIMEOUT)


async def check_broker(runtime: Runtime) -> None:
    url = runtime.settings.broker_url
    if url is None:
        return  # the in-process broker is always there
    if url.startswith(("redis://", "rediss://")):
        import redis.asyncio as redis

        client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT)
        try:
            await asyncio.wait_for(client.ping(), CHECK_TIMEOUT)
        finally:
            await client.aclose()
        return
    parts = urlsplit(url)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname or "localhost", parts.port or 5672), CHECK_TIMEOUT
    )
    try:
        writer.write(b"AMQP\x00\x00\x09\x01")
        await writer.drain()
        frame = await asyncio.wait_for(reader.read(1), CHECK_TIMEOUT)
        if frame != b"\x01":  # a method frame: Connection.Start
            raise ConnectionError("the broker did not answer as an AMQP 0-9-1 server")
    finally:
        writer.close()


async def check_bus(runtime: Runtime) -> None:
    await asyncio.wait_for(runtime.bus.ping(), CHECK_TIMEOUT)


async def readiness(runtime: Runtime) -> dict[str, str]:
    """Each check's outcome: ``"ok"`` or the reason it failed."""
    results: dict[str, str] = {}
    for name, check in (("database", check_database), ("broker", check_broker), ("bus", check_bus)):
        try:
            await check(runtime)
            results[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            results[name] = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return results
