"""Live status: the event bus, the relay that feeds it after commit, and the hub that
hands new events to this process's subscriptions.

The event log itself (one row per change, written in the change's transaction) is
``mcgraph.db.models.Event``, written by ``mcgraph.domain.unit.Unit.record``.

The bus carries *signals*, not events: "organisation 7 has events up to its number
1042". A process that has subscribers in organisation 7 reads the new rows from the
log, in the order of their numbers, once for all its subscribers. So a lost or doubled signal costs a read,
never an event, and every subscriber sees the log's order.
"""
