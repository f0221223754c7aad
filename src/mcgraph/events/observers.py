"""Plugins' reactions to events (``mcgraph_event``), after the events have committed.

The relay hands each batch of committed event ids here. Per organisation, the batch's
reactions share one transaction. Most reactions look at an event and return (another
methodology's project, an event type they ignore), so the transaction begins only when a
reaction first touches the database, and a batch nobody acted on costs no round trip.
When a reaction raises, that transaction is undone and the batch runs again with each
reaction in a savepoint of its own: the failing one is logged and undone, and nothing
else is (reactions are idempotent: delivery is at least once already).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mcgraph.db.models import Event, Project
from mcgraph.logs import get_logger
from mcgraph.plugins.host import PluginUnit
from mcgraph.plugins.manager import maybe_await
from mcgraph.domain.snapshots import event_info
from mcgraph.plugins.types import EventInfo

if TYPE_CHECKING:
    from mcgraph.runtime import Runtime

log = get_logger("mcgraph.observers")


async def notify(runtime: Runtime, event_ids: Sequence[int]) -> None:
    """Call ``mcgraph_event`` for each event, in order per organisation."""
    if not runtime.plugins.observers or not event_ids:
        return
    async with runtime.database.session() as session:
        rows = list(await session.scalars(select(Event).where(Event.id.in_(list(event_ids))).order_by(Event.id)))
        project_ids = {e.project_id or (e.subject_id if e.subject_type == "project" else None) for e in rows} - {None}
        methodologies = dict((await session.execute(select(Project.id, Project.methodology).where(Project.id.in_(project_ids)))).all())
    events = [event_info(e, methodologies.get(e.project_id or (e.subject_id if e.subject_type == "project" else 0))) for e in rows]
    for organization_id, group in groupby(sorted(events, key=lambda e: (e.organization_id, e.id)), key=lambda e: e.organization_id):
        batch = list(group)
        try:
            try:
                await _react(runtime, organization_id, batch)
            except Exception:  # noqa: BLE001 - undone; run again, each reaction on its own
                await _react_one_by_one(runtime, organization_id, batch)
        except Exception:
            log.exception("plugins' reactions to events could not be saved", organization_id=organization_id)


async def _answered(answers: list[Any]) -> None:
    """Await the reactions that are coroutines, in the order the hook answered them."""
    pending = iter(answers)
    try:
        for answer in pending:
            await maybe_await(answer)
    finally:
        for answer in pending:  # after a failure: never awaited, so closed
            if inspect.iscoroutine(answer):
                answer.close()


async def _react(runtime: Runtime, organization_id: int, events: list[EventInfo]) -> None:
    """Every reaction in one transaction, begun by the first that needs the database."""
    hook = runtime.plugins.pm.hook.mcgraph_event
    async with runtime.system_unit(organization_id, lazy=True) as unit:
        for event in events:
            await _answered(hook(event=event, unit=PluginUnit(unit)))


async def _react_one_by_one(runtime: Runtime, organization_id: int, events: list[EventInfo]) -> None:
    """Each plugin's reaction in a savepoint: one that raises is logged and undone alone."""
    async with runtime.system_unit(organization_id) as unit:
        for event in events:
            for plugin, hook in runtime.plugins.observers:
                try:
                    async with unit.session.begin_nested():
                        await _answered(hook(event=event, unit=PluginUnit(unit)))
                        await unit.session.flush()
                except Exception:
                    log.exception("a plugin's reaction to an event failed", plugin=plugin, event_id=event.id, event_type=event.type)
