"""The automation baseline: a Dramatiq actor that does nothing but say when it ran.

Run by ``dramatiq benchmarks.noop_actor`` with the same broker, processes and threads as
``mcgraph worker``; it pushes the time it ran to a Redis list the runner reads.
"""

from __future__ import annotations

import os
import time

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

URL = os.environ.get("MCGRAPH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
QUEUE = "mcgraph_bench_noop"
DONE = "mcgraph_bench_noop_done"

broker = RedisBroker(url=URL)
dramatiq.set_broker(broker)
_redis = redis.Redis.from_url(URL)


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def noop(sent_at: float) -> None:
    _redis.rpush(DONE, f"{sent_at} {time.time()}")
