"""The relay marks every event it handed on as published, however many batches that takes.

The batch of the marking statement is made small here (``MARK_BATCH``), so that a flush
or a sweep of a few events spans several batches, a last one short included.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from mcgraph.db import Database
from mcgraph.db import models as m
from mcgraph.events import relay as relay_module
from mcgraph.events.bus import Bus
from mcgraph.events.hub import Hub
from mcgraph.events.relay import Relay
from mcgraph.metrics import Metrics

EVENTS = 7  # three batches of 3: full, full, and one short


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(relay_module, "MARK_BATCH", 3)
    return 3


async def write_events(database: Database, count: int) -> list[m.Event]:
    """``count`` committed, unpublished events of acme, read back as the relay is handed them."""
    async with database.transaction() as session:
        organization_id = await session.scalar(select(m.Organization.id).where(m.Organization.slug == "acme"))
        for number in range(count):
            session.add(m.Event(organization_id=organization_id, type="project.created", subject_type="Project", subject_id=number + 1))
    async with database.session() as session:
        return list(await session.scalars(select(m.Event).order_by(m.Event.id)))


async def unpublished(database: Database) -> list[int]:
    async with database.session() as session:
        return list(await session.scalars(select(m.Event.id).where(m.Event.published_at.is_(None)).order_by(m.Event.id)))


def relay_of(database: Database, clock: Any) -> Relay:
    return Relay(database, Bus(), Hub(database), clock, metrics=Metrics())


async def test_a_flush_of_several_batches_marks_every_event_published(database, acme, clock, small_batches):
    events = await write_events(database, EVENTS)
    relay = relay_of(database, clock)
    handed_on: list[int] = []

    async def dispatch(ids: list[int]) -> None:
        handed_on.extend(ids)

    relay.dispatcher = dispatch
    relay.committed(events)
    await relay.flush()

    assert handed_on == [event.id for event in events]
    assert await unpublished(database) == []
    assert relay.metrics.registry.get_sample_value("mcgraph_events_published_total") == EVENTS


async def test_a_sweep_of_several_batches_marks_every_event_published(database, acme, clock, small_batches):
    events = await write_events(database, EVENTS)
    relay = relay_of(database, clock)

    assert await relay.sweep(everything=True) == EVENTS
    assert await unpublished(database) == []
    assert await relay.sweep(everything=True) == 0  # nothing left to publish again

