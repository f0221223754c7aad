"""Each organisation numbers its own events: 1, 2, 3... in commit order.

``Event.id`` increases across every organisation, so a tenant that saw it (as a cursor,
or inside an Event's global id) could tell how many events the others wrote in between.
What a tenant sees is ``Event.org_seq`` instead, assigned here when the event is
flushed, from the organisation's row of ``event_counter`` in the same transaction.

Taking numbers updates that row, which holds its lock until the transaction ends: a
second transaction of the same organisation that writes events waits for the first to
commit (on PostgreSQL the organisation's write lock, ``mcgraph.db.engine.begin_write``,
has usually made it wait already). So per organisation the numbers follow commit order,
and a reader that resumes "after number N" never skips one that commits late. A
transaction rolled back gives its numbers back with it: the log has no holes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, bindparam, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from mcgraph.db.base import Base, BigId
from mcgraph.db.models.events import Event
from mcgraph.db.scoping import OrgSession


class EventCounter(Base):
    """The number of the organisation's newest event; ``id`` is the organisation's."""

    __tablename__ = "event_counter"

    id: Mapped[int] = mapped_column(BigId, ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(BigInteger)


_table = EventCounter.__table__


def _take_statement(insert: Any) -> Any:
    statement = insert(_table).values(id=bindparam("organization_id"), last_number=bindparam("count"))
    statement = statement.on_conflict_do_update(
        index_elements=[_table.c.id], set_={"last_number": _table.c.last_number + bindparam("count")}
    )
    return statement.returning(_table.c.last_number)


# a Core statement on the connection: the data-version hooks do not count it as a change
_TAKE = {"postgresql": _take_statement(postgresql.insert), "sqlite": _take_statement(sqlite.insert)}


@event.listens_for(OrgSession, "before_flush")
def _number_new_events(session: Session, _context: Any, _instances: Any) -> None:
    new = [row for row in session.new if isinstance(row, Event) and row.org_seq is None]
    if not new:
        return
    new.sort(key=lambda row: inspect(row).insert_order)  # the order they were recorded in
    by_organization: dict[int, list[Event]] = defaultdict(list)
    for row in new:
        by_organization[row.organization_id].append(row)
    connection = session.connection()
    take = _TAKE[connection.dialect.name]
    for organization_id in sorted(by_organization):  # always in the same order: no cycle of waits
        rows = by_organization[organization_id]
        last = connection.execute(take, {"organization_id": organization_id, "count": len(rows)}).scalar_one()
        for number, row in enumerate(rows, start=last - len(rows) + 1):
            row.org_seq = number
