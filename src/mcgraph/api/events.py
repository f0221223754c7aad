"""The ``events`` query: the organisation's audit trail, read in order from a cursor.

An event's cursor is its number in the organisation's log (``Event.org_seq``: 1, 2,
3... as the organisation's events commit), the same cursor the ``events``
subscription resumes from. It counts the organisation's own events only, so a cursor
tells nothing of how busy other organisations are.
"""

from __future__ import annotations

import strawberry
from sqlalchemy import func, select

from mcgraph.api.fields import query
from mcgraph.api.projects.collab_types import Event
from mcgraph.api.ids import Connection, decode_id, window
from mcgraph.db.base import parse_id
from mcgraph.db.pagination import Page
from mcgraph.domain.errors import BadInput
from mcgraph.domain.history import event_log, newest_event_number
from mcgraph.domain.permissions import Action

# subject_type of the log -> the API type whose ids name it
_SUBJECTS = {"Project": "project", "Task": "task", "Milestone": "milestone", "Dependency": "dependency", "Process": "process", "ProcessRun": "process_run", "Comment": "comment"}


def parse_cursor(value: str | None) -> int | None:
    if value is None:
        return None
    cursor = parse_id(value)
    if cursor is None:
        raise BadInput(f"{value!r} is not an event cursor: pass the `cursor` of an event.")
    return cursor


async def read_cursor(info: strawberry.Info, value: str | None) -> int | None:
    """The event number ``value`` names, which must be in the organisation's log (or 0: from the start).

    A cursor past the newest event was not given by this organisation (one kept from
    another, or from before event numbers were per organisation): reading after it would
    silently skip every event up to it, so it is refused.
    """
    cursor = parse_cursor(value)
    if cursor:
        async with info.context.read() as session:
            newest = await session.scalar(newest_event_number(info.context.actor.organization_id))
        if cursor > (newest or 0):
            raise BadInput(f"{value!r} is not the cursor of an event of this organisation: pass the `cursor` of one of its events.")
    return cursor


@strawberry.type
class EventsQuery:
    @query(Action.PROJECT_READ, description="The audit trail, oldest first, from after the event `after` (a cursor).")
    async def events(
        self,
        info: strawberry.Info,
        after: str | None = None,
        types: list[str] | None = None,
        subject_id: strawberry.ID | None = None,
        first: int | None = None,
    ) -> Connection[Event]:
        subject = None
        if subject_id is not None:
            decoded = decode_id(subject_id)
            if decoded is None or decoded[0] not in _SUBJECTS:
                raise BadInput(f"{subject_id!r} is not the id of something events are recorded about.")
            subject = (_SUBJECTS[decoded[0]], decoded[1])
        win = window(info, first, None, None, None)
        stmt = event_log(info.context.actor.organization_id, after=await read_cursor(info, after), types=types or (), subject=subject)
        async with info.context.read() as session:
            rows = list(await session.scalars(stmt.limit(win.size + 1)))

        async def count() -> int:
            counted = select(func.count()).select_from(stmt.order_by(None).subquery())
            return int((await info.context.scope.session.execute(counted)).scalar_one())

        items = rows[: win.size]
        page = Page(items, [str(e.org_seq) for e in items], len(rows) > win.size, after is not None, count)
        return Connection.of(page, info.context.scope)


    @query(
        Action.PROJECT_READ,
        description=(
            "The cursor of the organisation's newest event, null before the first. Read it before "
            "the data a live view shows, then subscribe to `events(after:)` with it: no change in "
            "between is missed."
        ),
    )
    async def latest_event_cursor(self, info: strawberry.Info) -> str | None:
        async with info.context.read() as session:
            newest = await session.scalar(newest_event_number(info.context.actor.organization_id))
        return None if newest is None else str(newest)
