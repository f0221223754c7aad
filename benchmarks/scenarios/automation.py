"""automation: from an event to its action's effect, with one ``mcgraph worker`` on Redis,
against a no-op Dramatiq actor on the same broker with as many threads.

mcgraph: a rule of organisation 5 answers the raised event ``bench.ping`` by raising
``bench.pong``. Latency: a ``raiseEvent`` mutation, then the time from the event's
``occurred_at`` (the API's clock) to its automation run's ``finished_at`` (the worker's,
on the same machine). Throughput: a batch of ``bench.ping`` rows written straight into
the event table, which the API's relay hands on; runs per second from the first start
to the last finish. The baseline: messages sent one at a time (latency from send to run)
and a batch (from the first run to the last). A load of ``seconds`` takes two samples
and 40 batched events per second of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime

import asyncpg
import httpx
import redis

from benchmarks import noop_actor
from benchmarks.context import Context, keep_as_generated
from benchmarks.dataset import asyncpg_url, token
from benchmarks.measure import Figures, Outcome, interleave, median, percentile, ratio
from benchmarks.servers import mcgraph as mcgraph_server
from benchmarks.servers import noop_worker, post, worker
from mcgraph.api.ids import pk_of

ORGANIZATION = 5
THREADS = 2
CHANNEL = "mcgraph_bench"
DEADLINE_SECONDS = 120

RULE = """mutation($input: CreateAutomationRuleInput!) { createAutomationRule(input: $input) { rule { id } userErrors { field message code } } }"""
RAISE = """mutation { raiseEvent(input: {name: "bench.ping"}) { eventId userErrors { field message code } } }"""


def _broker_env() -> dict[str, str]:
    return {"MCGRAPH_BROKER_URL": noop_actor.URL, "MCGRAPH_BUS_CHANNEL": CHANNEL, "MCGRAPH_RELAY_SWEEP_SECONDS": "0.2"}


def _latency_figures(latencies: list[float]) -> Figures:
    return {"p50_ms": median(latencies) * 1000, "p95_ms": percentile(latencies, 0.95) * 1000}


async def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def _sizes(seconds: float) -> tuple[int, int]:
    return max(3, round(seconds * 2)), round(seconds * 40)


class McgraphTarget:
    def __init__(self, url: str, api: str) -> None:
        self.url, self.api = url, api

    def __call__(self, seconds: float) -> Figures:
        return asyncio.run(self._measure(*_sizes(seconds)))

    async def _measure(self, samples: int, batch: int) -> Figures:
        connection = await asyncpg.connect(self.url)
        try:
            latencies = [await self._one(connection) for _ in range(samples)]
            return {"rps": await self._batch(connection, batch), **_latency_figures(latencies)}
        finally:
            await connection.close()

    async def _one(self, connection: asyncpg.Connection) -> float:
        async with httpx.AsyncClient() as client:
            answer = (await client.post(self.api, json={"query": RAISE}, headers={"Authorization": f"Bearer {token(ORGANIZATION)}"})).json()
        event_id = pk_of(answer["data"]["raiseEvent"]["eventId"], "Event")
        done = "SELECT r.finished_at - e.occurred_at FROM automation_run r JOIN event e ON e.id = r.event_id WHERE r.event_id = $1 AND r.state = 'succeeded'"

        async def finished() -> bool:
            return await connection.fetchval(done, event_id) is not None

        await _wait(finished, "the automation run")
        return (await connection.fetchval(done, event_id)).total_seconds()

    async def _batch(self, connection: asyncpg.Connection, batch: int) -> float:
        first = await connection.fetchval("SELECT coalesce(max(id), 0) FROM event")
        now = datetime.now(UTC)
        await connection.copy_records_to_table(
            "event",
            columns=["organization_id", "type", "subject_type", "subject_id", "data", "occurred_at"],
            records=[(ORGANIZATION, "event.raised", "organization", ORGANIZATION, json.dumps({"name": "bench.ping", "payload": {}}), now)] * batch,
        )
        count = "SELECT count(*) FROM automation_run WHERE event_id > $1 AND state = 'succeeded'"

        async def all_done() -> bool:
            return await connection.fetchval(count, first) >= batch

        await _wait(all_done, f"{batch} automation runs")
        span = await connection.fetchval(
            "SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM automation_run WHERE event_id > $1", first
        )
        return batch / float(span)


class NoopTarget:
    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(noop_actor.URL)

    def __call__(self, seconds: float) -> Figures:
        samples, batch = _sizes(seconds)
        latencies = []
        for _ in range(samples):
            self.redis.delete(noop_actor.DONE)
            noop_actor.noop.send(time.time())
            _, item = self.redis.blpop([noop_actor.DONE], timeout=DEADLINE_SECONDS)
            sent, ran = map(float, item.split())
            latencies.append(ran - sent)
        self.redis.delete(noop_actor.DONE)
        for _ in range(batch):
            noop_actor.noop.send(time.time())
        deadline = time.monotonic() + DEADLINE_SECONDS
        while self.redis.llen(noop_actor.DONE) < batch:
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {batch} no-op messages")
            time.sleep(0.01)
        ran = [float(item.split()[1]) for item in self.redis.lrange(noop_actor.DONE, 0, -1)]
        return {"rps": batch / (max(ran) - min(ran)), **_latency_figures(latencies)}


async def _reset_rules(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DELETE FROM automation_rule WHERE organization_id = $1", ORGANIZATION)
    finally:
        await connection.close()


def run(context: Context) -> Outcome:
    url = asyncpg_url(context.scale)
    asyncio.run(_reset_rules(url))
    keep_as_generated(context)
    with contextlib.ExitStack() as stack:
        return _measure(context, stack, url)


def _measure(context: Context, stack: contextlib.ExitStack, url: str) -> Outcome:
    api = stack.enter_context(mcgraph_server(context.scale, "mcgraph-automation", **_broker_env()))
    rule = {
        "name": "Answer pings",
        "trigger": {"kind": "EVENT", "eventType": "event.raised", "filter": [{"path": "event.data.name", "op": "eq", "value": "bench.ping"}]},
        "actions": [{"type": "RAISE_EVENT", "params": {"name": "bench.pong"}}],
    }
    answer = post(api.url, json.dumps({"query": RULE, "variables": {"input": rule}}), token(ORGANIZATION))
    if "errors" in answer or answer["data"]["createAutomationRule"]["userErrors"]:
        raise RuntimeError(f"the rule was refused: {answer}")
    stack.enter_context(worker(context.scale, THREADS, **_broker_env()))
    stack.enter_context(noop_worker(THREADS, MCGRAPH_BENCH_REDIS_URL=noop_actor.URL))
    figures = interleave(
        {"mcgraph": McgraphTarget(url, api.url), "noop_actor": NoopTarget()},
        context.plan,
        context.log,
        settle=lambda: None,
    )
    outcome = Outcome(figures=figures)
    outcome.ratios["ratio_throughput_vs_noop"] = ratio(figures["mcgraph"]["rps"], figures["noop_actor"]["rps"])
    outcome.targets["ratio_throughput_vs_noop"] = ">= 0.7"
    outcome.ratios["ratio_p50_latency_vs_noop"] = ratio(figures["mcgraph"]["p50_ms"], figures["noop_actor"]["p50_ms"])
    outcome.targets["ratio_p50_latency_vs_noop"] = "<= 1.5"
    samples, batch = _sizes(context.plan.round_seconds)
    outcome.notes.append(f"{samples} single events per round for latency, batches of {batch} for throughput; {THREADS} worker threads each")
    return outcome
