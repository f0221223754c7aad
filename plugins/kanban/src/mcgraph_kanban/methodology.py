"""The Lean / Kanban methodology (one continuous stage, a flow of six task states) and its settings."""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mcgraph.plugins import Methodology, Stage, StateCategory, TaskState

KEY = "kanban"

KANBAN = Methodology(
    key=KEY,
    name="Lean / Kanban",
    description=(
        "Continuous flow: work is pulled from the backlog through ready, doing and review "
        "to done, with work-in-progress limits per state; no gates."
    ),
    stages=[
        Stage("continuous", "Continuous", description="Work flows continuously."),
        Stage("closed", "Closed", description="The board is closed."),
    ],
    states=[
        TaskState("backlog", "Backlog", StateCategory.TODO),
        TaskState("ready", "Ready", StateCategory.TODO),
        TaskState("doing", "Doing", StateCategory.IN_PROGRESS),
        TaskState("review", "Review", StateCategory.IN_PROGRESS),
        TaskState("blocked", "Blocked", StateCategory.BLOCKED),
        TaskState("done", "Done", StateCategory.DONE),
    ],
)

STATE_KEYS: tuple[str, ...] = tuple(state.key for state in KANBAN.states)


def state_name(key: str) -> str:
    """The display name of state ``key`` ("Doing"), or the key itself when unknown."""
    state = KANBAN.state(key)
    return state.name if state else key


def category_of(key: str) -> StateCategory | None:
    """The category of state ``key``, or None when it is not a kanban state."""
    state = KANBAN.state(key)
    return state.category if state else None


class KanbanSettings(BaseSettings):
    """``MCGRAPH_KANBAN_DEFAULT_WIP``: the WIP limits of every kanban project that sets
    none of its own, a JSON object of state -> limit such as ``{"doing": 3}``."""

    model_config = SettingsConfigDict(env_prefix="MCGRAPH_KANBAN_")

    default_wip: dict[str, int] = {}

    @field_validator("default_wip")
    @classmethod
    def _known_states_and_positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(STATE_KEYS))
        if unknown:
            raise ValueError(f"unknown kanban states {unknown}; the states are {list(STATE_KEYS)}")
        bad = sorted(state for state, limit in value.items() if limit < 1)
        if bad:
            raise ValueError(f"WIP limits must be at least 1 (see {bad})")
        return value
