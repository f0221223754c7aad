"""Work-in-progress limits, as plain rules: which limit applies, and when it refuses.

A project's limit for a state is its own row when it has one (a row with no limit lifts
the limit), else the default of the settings (``MCGRAPH_KANBAN_DEFAULT_WIP``). A task
may enter a state while fewer tasks than the limit are already in it, not counting the
task itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mcgraph_kanban.methodology import STATE_KEYS, state_name


@dataclass(frozen=True, slots=True)
class WipStatus:
    """One state of a board: its limit (None: no limit) and how many tasks are in it."""

    state: str
    limit: int | None
    count: int

    @property
    def over(self) -> bool:
        return self.limit is not None and self.count > self.limit


def effective_limits(defaults: Mapping[str, int], overrides: Mapping[str, int | None]) -> dict[str, int]:
    """The limit of each limited state: the project's own, else the default."""
    merged: dict[str, int | None] = {**defaults, **overrides}
    return {state: limit for state, limit in merged.items() if limit is not None}


def count_states(states: Iterable[str]) -> dict[str, int]:
    """How many tasks are in each state, given every task's state."""
    return dict(Counter(states))


def board(limits: Mapping[str, int], counts: Mapping[str, int]) -> list[WipStatus]:
    """Every kanban state, in board order, with its limit and count."""
    return [WipStatus(state, limits.get(state), counts.get(state, 0)) for state in STATE_KEYS]


def refusal(to_state: str, limit: int | None, others: int) -> str | None:
    """Why a task may not enter ``to_state`` where ``others`` tasks already are, or None."""
    if limit is None or others < limit:
        return None
    noun = "task" if others == 1 else "tasks"
    return f"WIP limit of {limit} reached in {state_name(to_state)} ({others} {noun})"


def check_limit(state: str, limit: int | None) -> tuple[str, str, str] | None:
    """What is wrong with setting ``limit`` on ``state`` as ``(field, message, code)``, or None."""
    if state not in STATE_KEYS:
        return "state", f"{state!r} is not a kanban state; the states are {', '.join(STATE_KEYS)}.", "UNKNOWN_STATE"
    if limit is not None and limit < 1:
        return "limit", "A WIP limit is at least 1; set it to null to remove it.", "INVALID"
    return None
