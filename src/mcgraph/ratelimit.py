"""Rate limits per token: requests and query cost per minute, shared through Redis.

Every query and mutation, over HTTP or a WebSocket, is charged once its document has
been validated: one request and, when it is valid, its estimated cost (the cost
:mod:`mcgraph.api.limits` computes for ``MCGRAPH_MAX_QUERY_COST``). Requests are charged to their token; one
without a valid token, to its client address. Past either limit the operation is
refused before it runs, with RATE_LIMITED and ``extensions.retryAfter`` (seconds); over
HTTP the status is 429 with a ``Retry-After`` header. Subscriptions are not charged:
``MCGRAPH_WS_MAX_SUBSCRIPTIONS`` bounds them.

The counters are sliding windows of one minute, kept by the ``limits`` library: in the
process by default, in Redis when ``MCGRAPH_RATE_LIMIT_URL`` (or the Redis of the bus
or the broker) is set, so that every API process counts against the same budget. Keys
start with ``MCGRAPH_BUS_CHANNEL``, so deployments sharing a Redis count apart.

When Redis cannot be reached, requests are let through and a warning is logged (at most
once a minute): an outage of the counters' store must not take the API down with it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from mcgraph.logs import get_logger
from mcgraph.settings import Settings

log = get_logger("mcgraph.ratelimit")

WARN_EVERY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Refused:
    """A charge refused: which limit, and in how many seconds to try again."""

    limit: str  # "requests" or "cost"
    per_minute: int
    retry_after: int


class RateLimiter:
    """Charges operations to their key; says when one is past its limits."""

    def __init__(self, requests_per_minute: int, cost_per_minute: int, *, redis_url: str | None = None, prefix: str = "mcgraph") -> None:
        self.requests = RateLimitItemPerMinute(requests_per_minute, namespace="requests") if requests_per_minute else None
        self.cost = RateLimitItemPerMinute(cost_per_minute, namespace="cost") if cost_per_minute else None
        self._pool: Any = None
        storage: Storage
        if redis_url:
            # imported only when used: redis costs an API process about 6 MB of memory
            from limits.aio.storage import RedisStorage
            from redis.asyncio import ConnectionPool

            self._pool = ConnectionPool.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=f"{prefix}:ratelimit",
                wrap_exceptions=True,
                connection_pool=self._pool,
            )
        else:
            storage = MemoryStorage()
        self.shared = redis_url is not None
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self._warned_at = -math.inf

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(
            settings.rate_limit_requests_per_minute,
            settings.rate_limit_cost_per_minute,
            redis_url=settings.rate_limit_store,
            prefix=settings.bus_channel,
        )

    @property
    def enabled(self) -> bool:
        return self.requests is not None or self.cost is not None

    async def charge(self, key: str, cost: int) -> Refused | None:
        """Charge one request of ``cost`` to ``key``; the refusal when a limit is reached."""
        try:
            if self.requests is not None and not await self.limiter.hit(self.requests, key):
                return await self._refused(self.requests, key, "requests")
            if self.cost is not None and cost > 0 and not await self.limiter.hit(self.cost, key, cost=min(cost, self.cost.amount)):
                return await self._refused(self.cost, key, "cost")
        except Exception:  # noqa: BLE001 - the store is down: fail open, say so now and then
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning("rate limits not applied: their store cannot be reached", exc_info=True)
        return None

    async def _refused(self, item: RateLimitItem, key: str, limit: str) -> Refused:
        stats = await self.limiter.get_window_stats(item, key)
        wait = math.ceil(stats.reset_time - time.time())
        return Refused(limit, item.amount, retry_after=min(max(wait, 1), 60))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
