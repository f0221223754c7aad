"""The flow history: an observer of task events that writes one transition per event."""

from __future__ import annotations

from mcgraph.plugins import EventInfo, PluginUnit

from mcgraph_kanban import store
from mcgraph_kanban.methodology import KEY, category_of

OBSERVED = ("task.created", "task.state_changed")


def states_of(event: EventInfo) -> tuple[str | None, str] | None:
    """``(from_state, to_state)`` a task event records, or None when it moves no task.

    A created task enters its initial state from None.
    """
    if event.type == "task.created" and event.data.get("state"):
        return None, str(event.data["state"])
    if event.type == "task.state_changed":
        change = event.change("state")
        if change is not None and change[1] is not None:
            return (str(change[0]) if change[0] is not None else None), str(change[1])
    return None


async def observe(event: EventInfo, unit: PluginUnit) -> bool:
    """Record ``event``'s transition when it moves a task of a kanban project; whether it did."""
    if event.type not in OBSERVED or event.project_id is None or event.methodology != KEY:
        return False
    states = states_of(event)
    if states is None:
        return False
    project = await unit.project(event.project_id)
    category = category_of(states[1])
    if project.methodology != KEY or category is None:
        return False
    return await store.add_transition(
        unit.session,
        organization_id=event.organization_id,
        event_id=event.id,
        project_id=event.project_id,
        task_id=event.subject_id,
        from_state=states[0],
        to_state=states[1],
        category=category,
        at=event.occurred_at,
    )
