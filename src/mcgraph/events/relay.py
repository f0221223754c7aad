"""The relay: after a transaction commits events, it tells the bus and the automations;
nothing is lost on the way.

``committed`` is called (by the session's after-commit hook) with the events the
transaction wrote. The relay's task wakes this process's hub, publishes one signal
per organisation, hands the events to the automations (``dispatcher``), then marks the
events published in one statement per batch. When
publishing fails, or the process dies between commit and publish, the events stay
unpublished, and :meth:`Relay.sweep` (on start, and every ``MCGRAPH_RELAY_SWEEP_SECONDS``)
publishes them again. Republishing is harmless: signals only make hubs read the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence

from sqlalchemy import select, update

from mcgraph.db import Database
from mcgraph.db.models import Event
from mcgraph.domain.clock import Clock
from mcgraph.events.bus import Bus, Signal
from mcgraph.events.hub import Hub
from mcgraph.logs import get_logger
from mcgraph.metrics import Metrics

log = get_logger("mcgraph.relay")

SWEEP_BATCH = 5000
MARK_BATCH = 500


class Relay:
    def __init__(self, database: Database, bus: Bus, hub: Hub, clock: Clock, *, metrics: Metrics | None = None) -> None:
        self.database = database
        self.metrics = metrics or Metrics()
        self.bus = bus
        self.hub = hub
        self.clock = clock
        self._pending: dict[int, int] = {}
        self._ids: list[int] = []
        self._wake = asyncio.Event()
        self._flushing: asyncio.Future[None] | None = None
        self._seen_unpublished: set[int] = set()
        # automations' hook: called with the ids of committed events before they count as published
        self.dispatcher: Callable[[list[int]], Awaitable[None]] | None = None
        # plugins' reactions (``mcgraph.events.observers``): called the same way, first
        self.observers: Callable[[list[int]], Awaitable[None]] | None = None

    def committed(self, events: Iterable[Event]) -> None:
        """Note events that just committed; the relay's task publishes them."""
        written = 0
        for event in events:
            if event.id is None:
                continue
            written += 1
            self._ids.append(event.id)
            if event.org_seq > self._pending.get(event.organization_id, 0):
                self._pending[event.organization_id] = event.org_seq
        if written:
            self.metrics.events_written.inc(written)
        if self._ids:
            self._wake.set()

    async def run(self) -> None:
        """Publish what commits, until cancelled.

        A flush is never cut short by the cancellation: one cut in the middle of a
        transaction could leave its connection, and the organisation's write lock it
        holds, to nobody. :meth:`close` waits for it.
        """
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._flushing = asyncio.ensure_future(self.flush())
            await asyncio.shield(self._flushing)

    async def close(self) -> None:
        """Finish the flush under way, then hand on what committed since (on shutdown)."""
        if self._flushing is not None:
            await asyncio.wait([self._flushing])
        await self.flush()

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        ids, self._ids = self._ids, []
        if not ids:
            return
        for organization_id, last in pending.items():
            self.hub.wake(organization_id, last)
        try:
            await self._publish(pending)
            await self._hand_on(ids)
        except Exception:
            log.exception("publishing events failed; the sweep will publish them", events=len(ids))
            return
        try:
            await self._mark(ids)
        except Exception:
            log.exception("marking events published failed; the sweep will publish them again", events=len(ids))

    async def sweep(self, *, everything: bool = False) -> int:
        """Publish events left unpublished; how many.

        An event counts as left behind when the previous sweep saw it unpublished too (so
        one that is being published right now is not sent twice), or always with
        ``everything`` (on start: whatever a dead process left).
        """
        async with self.database.session() as session:
            rows = (
                await session.execute(
                    select(Event.id, Event.organization_id, Event.org_seq)
                    .where(Event.published_at.is_(None))
                    .order_by(Event.id)
                    .limit(SWEEP_BATCH)
                )
            ).all()
        unpublished = {event_id: (organization_id, number) for event_id, organization_id, number in rows}
        stuck = {i: row for i, row in unpublished.items() if everything or i in self._seen_unpublished}
        self._seen_unpublished = set(unpublished) - set(stuck)
        if not stuck:
            return 0
        last: dict[int, int] = {}
        for organization_id, number in stuck.values():
            last[organization_id] = max(number, last.get(organization_id, 0))
        for organization_id, number in last.items():
            self.hub.wake(organization_id, number)
        await self._publish(last)
        await self._hand_on(list(stuck))
        await self._mark(list(stuck))
        log.info("relay published events left behind", events=len(stuck))
        return len(stuck)

    async def _hand_on(self, ids: list[int]) -> None:
        if self.observers is not None:
            await self.observers(ids)
        if self.dispatcher is not None:
            await self.dispatcher(ids)

    async def _publish(self, last: dict[int, int]) -> None:
        for organization_id, number in last.items():
            await self.bus.publish(Signal(organization_id, number))

    async def _mark(self, ids: Sequence[int]) -> None:
        now = self.clock.now()
        for start in range(0, len(ids), MARK_BATCH):
            chunk = list(ids[start : start + MARK_BATCH])
            async with self.database.transaction(bookkeeping=True) as session:  # no query shows when it was handed on
                await session.execute(update(Event).where(Event.id.in_(chunk)).values(published_at=now))
            self.metrics.events_published.inc(len(chunk))
