"""The Dramatiq side of automations: the broker, the actor, and the in-process worker.

``MCGRAPH_BROKER_URL`` picks the broker: nothing for the embedded default (Dramatiq's
in-memory broker, consumed by worker threads inside ``mcgraph serve``: nothing to
start), ``redis://`` or ``amqp://`` for ``mcgraph worker`` processes.

Messages carry a run's id and its organisation's (which the run's transaction locks
first; a message of the run's id alone is read as well); the actor runs :func:`mcgraph.automation.engine.execute`
on the event loop of the runtime that owns the database (the server's own loop in the
embedded default, the worker's loop in ``mcgraph worker``) and, on failure, sends the
message again with the run's backoff as its delay.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker

from mcgraph.automation import engine
from mcgraph.metrics import queue_depths
from mcgraph.logs import configure_logging, get_logger
from mcgraph.periodic import every, running, stop_on_signals
from mcgraph.runtime import Runtime
from mcgraph.settings import Settings

log = get_logger("mcgraph.automation")

ACTOR = "mcgraph_run_automation"
# the longest an action may take before Dramatiq gives up on it (milliseconds)
TIME_LIMIT_MS = 10 * 60 * 1000
# The longest an idle worker sleeps between looks at the queue (milliseconds). The Redis
# broker polls, backing off up to this while the queue stays empty: it is the delay a
# message sent to an idle worker waits, on average about half of it. 20 ms costs an idle
# worker about a hundred cheap fetches a second.
IDLE_POLL_MS = 20


def create_broker(url: str | None, namespace: str) -> dramatiq.Broker:
    if url is None:
        return StubBroker()
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=f"{namespace}-dramatiq")
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    return RabbitmqBroker(url=url)


class Automations:
    """One runtime's broker and actor; ``loop`` is where the runtime's database lives."""

    def __init__(self, runtime: Runtime, loop: asyncio.AbstractEventLoop) -> None:
        self.runtime = runtime
        self.loop = loop
        settings = runtime.settings
        self.broker = create_broker(settings.broker_url, settings.bus_channel)
        self.actor = dramatiq.actor(
            self._run,
            broker=self.broker,
            actor_name=ACTOR,
            queue_name=f"{settings.bus_channel}_automations",  # deployments sharing a broker stay apart
            max_retries=0,
            time_limit=TIME_LIMIT_MS,
        )
        self.worker: dramatiq.Worker | None = None

    def _run(self, run_id: int, organization_id: int | None = None) -> None:
        """The actor, on a Dramatiq worker thread: execute on the runtime's loop, and wait."""
        future = asyncio.run_coroutine_threadsafe(engine.execute(self.runtime, run_id, organization_id), self.loop)
        try:
            outcome = future.result(timeout=TIME_LIMIT_MS / 1000)
        except concurrent.futures.CancelledError:
            return  # the server is stopping: the run stays RUNNING and the sweep sends it again
        if outcome is not None and outcome.retry_in is not None:
            self.enqueue([(run_id, organization_id)] if organization_id is not None else [run_id], outcome.retry_in)

    def enqueue(self, runs: Sequence[int | tuple[int, int]], delay: timedelta | None = None) -> None:
        """Send a message for each run: its id, or (its id, its organisation's id)."""
        options: dict[str, Any] = {}
        if delay is not None:
            options["delay"] = int(delay.total_seconds() * 1000)
        for run in runs:
            self.actor.send_with_options(args=run if isinstance(run, tuple) else (run,), **options)

    async def dispatch(self, event_ids: Sequence[int]) -> None:
        """The relay's hook: create the runs the events call for and send them."""
        runs = await engine.dispatch(self.runtime, event_ids)
        if runs:
            await asyncio.to_thread(self.enqueue, runs)

    async def sweep(self) -> int:
        """Send again the runs that wait too long, are due for a retry, or were left running.

        Runs still QUEUED are sent again only while the queue is empty: when messages wait
        in it, theirs are likely among them, and sending every one again would only pile
        duplicates on a queue that is behind already.
        """
        try:
            depths = await asyncio.to_thread(queue_depths, self.broker)
            queue_empty = depths.get(self.actor.queue_name, 0) == 0
        except Exception:  # noqa: BLE001 - a broker that cannot say: send them, as before
            log.warning("could not read the automation queue's depth", exc_info=True)
            queue_empty = True
        due = await engine.due_for_sending(self.runtime, queue_empty=queue_empty)
        if due:
            await asyncio.to_thread(self.enqueue, due)
        return len(due)

    def start_worker(self, threads: int) -> None:
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=IDLE_POLL_MS)
        self.worker.start()

    async def stop_worker(self) -> None:
        """Stop consuming. Dramatiq lets the running actions finish (for up to
        ``MCGRAPH_SHUTDOWN_SECONDS``) and puts the messages it fetched but did not start
        back on the queue; a run cut short stays RUNNING and is sent again by the sweep."""
        if self.worker is not None:
            worker, self.worker = self.worker, None
            await asyncio.to_thread(worker.stop, int(self.runtime.settings.shutdown_seconds * 1000))


@contextlib.asynccontextmanager
async def automations_running(runtime: Runtime, *, consume: bool) -> AsyncIterator[Automations]:
    """Automations for the life of the block: the relay dispatches to them; with ``consume``,
    worker threads in this process run them (the embedded default, and ``mcgraph worker``)."""
    automations = Automations(runtime, asyncio.get_running_loop())
    runtime.relay.dispatcher = automations.dispatch
    runtime.automations = automations
    if consume:
        automations.start_worker(runtime.settings.worker_threads)
    jobs = []
    if runtime.settings.automation_sweep_seconds > 0:
        jobs.append(every(runtime.settings.automation_sweep_seconds, automations.sweep, "automation sweep"))
    try:
        async with running(*jobs):
            yield automations
    finally:
        runtime.relay.dispatcher = None
        runtime.automations = None
        await automations.stop_worker()
        automations.broker.close()


@contextlib.asynccontextmanager
async def live_with_automations(runtime: Runtime, *, consume: bool) -> AsyncIterator[Automations]:
    """Automations and the runtime's live pieces (bus, relay) for the life of the block.

    Automations start first, so that the relay's start-up sweep dispatches to them; on the
    way out the worker stops while the relay still runs, so that the events its last
    actions wrote are handed on.
    """
    async with automations_running(runtime, consume=consume) as automations, runtime.live():
        try:
            yield automations
        finally:
            await automations.stop_worker()


@contextlib.asynccontextmanager
async def service(settings: Settings, name: str, *, consume: bool, stop: asyncio.Event | None = None) -> AsyncIterator[tuple[Runtime, asyncio.Event]]:
    """A process of its own (``mcgraph worker``, ``mcgraph scheduler``): logging, a runtime
    with its automations and relay running, and an event set on SIGTERM or SIGINT."""
    configure_logging(settings)
    runtime = Runtime.from_settings(settings)
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    try:
        async with live_with_automations(runtime, consume=consume):
            yield runtime, stop
    finally:
        await runtime.close()
        log.info(f"mcgraph {name} stopped")
