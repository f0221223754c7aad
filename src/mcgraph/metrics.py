"""Prometheus metrics of one mcgraph app, served at ``/metrics`` in the text format.

Each :class:`Metrics` has a ``CollectorRegistry`` of its own (never the process-wide
default one), so that several apps in one process, as in tests, count apart. Counters
and the latency histogram move as things happen; the gauges that describe stored state
(automation runs by state, relay lag, broker queue depth) are read by :func:`read_state`
just before each scrape is rendered.

A process counts what it serves: with ``mcgraph serve --workers N`` each API process
has its own registry, and a scrape reaches one of them.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select

from mcgraph.db.models import AutomationRun, Event
from mcgraph.db.models.enums import AutomationRunState
from mcgraph.logs import get_logger

if TYPE_CHECKING:
    from mcgraph.runtime import Runtime

log = get_logger("mcgraph.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
OUTCOMES = ("ok", "user_error", "refused", "error", "timeout", "cancelled")
# ``operation`` labels that no GraphQL operation name can take
ANONYMOUS = "(anonymous)"
NO_OPERATION = "(none)"  # refused before the document was read
INVALID = "(invalid)"  # an operationName that is not a GraphQL name
OTHER = "(other)"  # past MAX_OPERATION_NAMES distinct names: they come from clients
MAX_OPERATION_NAMES = 200
NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
READ_TIMEOUT = 5.0


class Metrics:
    """The metrics of one app and the registry they are rendered from."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "mcgraph_graphql_requests",
            "GraphQL operations served (HTTP and WebSocket, subscriptions aside), by operation name and outcome.",
            ["operation", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "mcgraph_graphql_request_duration_seconds",
            "Time from parsing a GraphQL operation to its result, by operation name.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.websockets = Gauge("mcgraph_websocket_connections", "Open GraphQL WebSocket connections.", registry=registry)
        self.subscriptions = Gauge(
            "mcgraph_subscriptions_active", "Subscription operations running on this process's sockets.", registry=registry
        )
        self.slow_subscribers = Counter(
            "mcgraph_slow_subscribers", "WebSockets closed because their client read too slowly (SLOW_SUBSCRIBER).", registry=registry
        )
        self.events_written = Counter(
            "mcgraph_events_written", "Events committed by this process's transactions.", registry=registry
        )
        self.events_published = Counter(
            "mcgraph_events_published", "Events this process's relay marked published.", registry=registry
        )
        self.relay_lag = Gauge(
            "mcgraph_relay_lag_seconds",
            "Seconds since the oldest unpublished event occurred (0 when none waits); read at scrape time.",
            registry=registry,
        )
        self.automation_runs = Gauge(
            "mcgraph_automation_runs", "Automation runs stored, by state; read at scrape time.", ["state"], registry=registry
        )
        self.broker_queue_depth = Gauge(
            "mcgraph_broker_queue_depth",
            "Messages waiting in the automation broker's queues (NAME.DQ: delayed); read at scrape time.",
            ["queue"],
            registry=registry,
        )
        self.response_cache = Counter(
            "mcgraph_response_cache_lookups",
            "Queries looked up in the response cache: hit (served again) or miss (executed).",
            ["outcome"],
            registry=registry,
        )
        self.read_failures = Counter(
            "mcgraph_metrics_read_failures",
            "Scrape-time readings that failed (their gauges keep the last value read).",
            ["reading"],
            registry=registry,
        )
        self._operations: set[str] = set()

    def operation_label(self, name: str | None) -> str:
        """The ``operation`` label for an operation name: bounded in length and in number."""
        if not name:
            return ANONYMOUS
        if not NAME.match(name):
            return INVALID
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_NAMES:
                return OTHER
            self._operations.add(name)
        return name

    def observe_request(self, operation: str | None, outcome: str, seconds: float, *, label: str | None = None) -> None:
        """Count one GraphQL request and its duration, labelled by its operation's name (or ``label``)."""
        label = label or self.operation_label(operation)
        self.requests.labels(label, outcome).inc()
        self.latency.labels(label).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def read_state(runtime: Runtime) -> None:
    """Set the scrape-time gauges of ``runtime.metrics``; a reading that fails is logged and counted."""
    metrics = runtime.metrics
    for name, reading in (("database", _read_database), ("broker", _read_broker)):
        try:
            await asyncio.wait_for(reading(runtime), READ_TIMEOUT)
        except Exception:
            metrics.read_failures.labels(name).inc()
            log.warning("a metrics reading failed", reading=name, exc_info=True)


async def _read_database(runtime: Runtime) -> None:
    metrics = runtime.metrics
    async with runtime.database.session() as session:
        rows = await session.execute(select(AutomationRun.state, func.count()).group_by(AutomationRun.state))
        by_state = {state: count for state, count in rows}
        oldest = await session.scalar(select(func.min(Event.occurred_at)).where(Event.published_at.is_(None)))
    for state in AutomationRunState:
        metrics.automation_runs.labels(state.value).set(by_state.get(state, 0))
    metrics.relay_lag.set(0.0 if oldest is None else max(0.0, (runtime.clock.now() - _aware(oldest)).total_seconds()))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _read_broker(runtime: Runtime) -> None:
    """The queue depths of the broker this process's automations send to, when they run here."""
    gauge = runtime.metrics.broker_queue_depth
    automations = runtime.automations
    if automations is None:
        gauge.clear()
        return
    depths = await asyncio.to_thread(queue_depths, automations.broker)
    gauge.clear()
    for queue, depth in depths.items():
        gauge.labels(queue).set(depth)


def queue_depths(broker: Any) -> dict[str, int]:
    """Messages waiting per queue of a Dramatiq broker (blocking: call it off the event loop)."""
    from dramatiq.brokers.stub import StubBroker

    if isinstance(broker, StubBroker):
        return {name: queue.qsize() for name, queue in broker.queues.items()}
    names = sorted(broker.get_declared_queues())
    if hasattr(broker, "namespace"):  # Redis: each queue is a list of message ids
        return {
            queue: int(broker.client.llen(f"{broker.namespace}:{queue}"))
            for name in names
            for queue in (name, f"{name}.DQ")
        }
    depths: dict[str, int] = {}
    for name in names:  # RabbitMQ: a queue declaration answers with its message count
        waiting, delayed, _dead = broker.get_queue_message_counts(name)
        depths[name], depths[f"{name}.DQ"] = waiting, delayed
    return depths
