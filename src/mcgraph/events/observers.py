"""Plugins' reactions to events (``mcgraph_event``), after the events have committed.

The relay hands each batch of committed event ids here. Per organisation, the batch's
reactions share one transaction, and each plugin's reaction to each event runs in a
savepoint of its own: a reaction that raises is logged and undone, and nothing else is.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from sqlalchemy import select

from mcgraph.db.models import Event, Project
from mcgraph.logs import get_logger
from mcgraph.plugins.host import PluginUnit
from mcgraph.plugins.manager import maybe_await
from mcgraph.domain.snapshots import event_info

if TYPE_CHECKING:
    from mcgraph.runtime import Runtime

log = get_logger("mcgraph.observers")


async def notify(runtime: Runtime, event_ids: Sequence[int]) -> None:
    """Call every plugin's ``mcgraph_event`` for each event, in order per organisation."""
    observers = runtime.plugins.observers
    if not observers or not event_ids:
        return
    async with runtime.database.session() as session:
        rows = list(await session.scalars(select(Event).where(Event.id.in_(list(event_ids))).order_by(Event.id)))
        project_ids = {e.project_id or (e.subject_id if e.subject_type == "project" else None) for e in rows} - {None}
        methodologies = dict((await session.execute(select(Project.id, Project.methodology).where(Project.id.in_(project_ids)))).all())
    events = [event_info(e, methodologies.get(e.project_id or (e.subject_id if e.subject_type == "project" else 0))) for e in rows]
    for organization_id, group in groupby(sorted(events, key=lambda e: (e.organization_id, e.id)), key=lambda e: e.organization_id):
        try:
            async with runtime.system_unit(organization_id) as unit:
                for event in group:
                    for plugin, observe in observers:
                        try:
                            async with unit.session.begin_nested():
                                await maybe_await(observe(event=event, unit=PluginUnit(unit)))
                                await unit.session.flush()
                        except Exception:
                            log.exception("a plugin's reaction to an event failed", plugin=plugin, event_id=event.id, event_type=event.type)
        except Exception:
            log.exception("plugins' reactions to events could not be saved", organization_id=organization_id)
