"""The hub: this process's reader of the event log, for the subscriptions it serves.

Subscriptions register a :class:`Listener` for their organisation. When a signal says
an organisation has new events, the hub reads them from the log once, in the order of
their numbers in the organisation's log (``Event.org_seq``),
and offers them to every listener of that organisation. Each listener keeps at most
``capacity`` events: one that falls that far behind is marked overflowed, and its
subscription ends with an error that tells the client where to resume.

Per organisation, event numbers increase in commit order (they are taken from a
counter row whose lock the taking transaction holds until it ends, see
``mcgraph.db.event_numbers``), so reading "after the last number seen" never skips an
event that commits late.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import func, select

from mcgraph.db import Database
from mcgraph.db.models import Event
from mcgraph.events.bus import Signal
from mcgraph.logs import get_logger

log = get_logger("mcgraph.hub")

READ_BATCH = 500


class Overflow(Exception):
    """The listener fell more than its capacity behind; its subscription must resume from a cursor."""


class Listener:
    """One subscription's view of an organisation's new events, in order."""

    def __init__(self, organization_id: int, capacity: int) -> None:
        self.organization_id = organization_id
        self.capacity = capacity
        self.overflowed = False
        self.start_after = 0
        self._queue: deque[Event] = deque()
        self._ready = asyncio.Event()

    def offer(self, events: Sequence[Event]) -> None:
        if self.overflowed:
            return
        if len(self._queue) + len(events) > self.capacity:
            self.overflowed = True
            self._queue.clear()
        else:
            self._queue.extend(events)
        self._ready.set()

    async def next(self) -> list[Event]:
        """The events that arrived since the last call, waiting for at least one."""
        while not self._queue and not self.overflowed:
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed:
            raise Overflow
        batch = list(self._queue)
        self._queue.clear()
        return batch


class Hub:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._listeners: dict[int, set[Listener]] = defaultdict(set)
        self._cursor: dict[int, int] = {}
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._dirty: set[int] = set()
        self._readers: dict[int, asyncio.Task[None]] = {}

    @property
    def organizations(self) -> list[int]:
        return list(self._listeners)

    def listener_count(self) -> int:
        return sum(len(group) for group in self._listeners.values())

    @asynccontextmanager
    async def listen(self, organization_id: int, capacity: int) -> AsyncIterator[Listener]:
        """A listener for the organisation's events committed from now on."""
        listener = Listener(organization_id, capacity)
        async with self._locks[organization_id]:
            if organization_id not in self._cursor:
                self._cursor[organization_id] = await self._last_number(organization_id)
            listener.start_after = self._cursor[organization_id]
            self._listeners[organization_id].add(listener)
        try:
            yield listener
        finally:
            group = self._listeners.get(organization_id)
            if group is not None:
                group.discard(listener)
                if not group:
                    del self._listeners[organization_id]
                    self._cursor.pop(organization_id, None)

    def wake(self, organization_id: int, event_number: int) -> None:
        """A signal: the organisation has events up to its number ``event_number``."""
        if organization_id not in self._listeners or event_number <= self._cursor.get(organization_id, event_number):
            return
        self._dirty.add(organization_id)
        if organization_id not in self._readers:
            self._readers[organization_id] = asyncio.create_task(self._catch_up(organization_id))

    def wake_signal(self, signal: Signal) -> None:
        self.wake(signal.organization_id, signal.event_number)

    async def poll(self) -> None:
        """Look for new events of every organisation listened to (after a lost connection, and now and then)."""
        organizations = self.organizations
        if not organizations:
            return
        async with self.database.session() as session:
            rows = await session.execute(
                select(Event.organization_id, func.max(Event.org_seq))
                .where(Event.organization_id.in_(organizations))
                .group_by(Event.organization_id)
            )
            for organization_id, last in rows:
                self.wake(organization_id, last)

    async def close(self) -> None:
        for task in list(self._readers.values()):
            task.cancel()
        for task in list(self._readers.values()):
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _catch_up(self, organization_id: int) -> None:
        try:
            while organization_id in self._dirty:
                self._dirty.discard(organization_id)
                await self._read_new(organization_id)
        except Exception:
            log.exception("reading new events failed", organization_id=organization_id)
        finally:
            self._readers.pop(organization_id, None)

    async def _read_new(self, organization_id: int) -> None:
        async with self._locks[organization_id]:
            while (cursor := self._cursor.get(organization_id)) is not None:
                async with self.database.session(organization_id) as session:
                    events = list(
                        await session.scalars(
                            select(Event)
                            .where(Event.organization_id == organization_id, Event.org_seq > cursor)
                            .order_by(Event.org_seq)
                            .limit(READ_BATCH)
                        )
                    )
                if not events:
                    return
                self._cursor[organization_id] = events[-1].org_seq
                for listener in list(self._listeners.get(organization_id, ())):
                    listener.offer(events)
                if len(events) < READ_BATCH:
                    return

    async def _last_number(self, organization_id: int) -> int:
        async with self.database.session(organization_id) as session:
            last = await session.scalar(select(func.max(Event.org_seq)).where(Event.organization_id == organization_id))
        return int(last or 0)
