"""The values that pass between mcgraph and its plugins.

Plugins receive snapshots (``ProjectInfo``, ``TaskInfo``...), never database rows, so
that what a plugin sees is documented here and stays stable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mcgraph.db.models.enums import Health, ProjectStatus, StateCategory  # noqa: F401  (re-exported by mcgraph.plugins)


@dataclass(frozen=True, slots=True)
class Stage:
    """A stage of a methodology. Moving *into* a ``gated`` stage asks the gate hooks."""

    key: str
    name: str
    gated: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class TaskState:
    """A task state of a methodology, in one of the four categories mcgraph understands."""

    key: str
    name: str
    category: StateCategory


@dataclass(frozen=True, slots=True)
class Methodology:
    """A way of running projects: ordered stages and task states.

    The first stage is where new projects start, the first state where new tasks start,
    unless ``initial_stage`` or ``initial_state`` say otherwise.
    """

    key: str
    name: str
    stages: Sequence[Stage]
    states: Sequence[TaskState]
    description: str = ""
    initial_stage: str | None = None
    initial_state: str | None = None
    plugin: str = field(default="", compare=False)  # filled in by mcgraph: who declared it

    def stage(self, key: str) -> Stage | None:
        return next((s for s in self.stages if s.key == key), None)

    def state(self, key: str) -> TaskState | None:
        return next((s for s in self.states if s.key == key), None)

    @property
    def first_stage(self) -> Stage:
        return self.stage(self.initial_stage) if self.initial_stage else self.stages[0]  # type: ignore[return-value]

    @property
    def first_state(self) -> TaskState:
        return self.state(self.initial_state) if self.initial_state else self.states[0]  # type: ignore[return-value]

    def done_state(self) -> TaskState:
        return next(s for s in self.states if s.category is StateCategory.DONE)


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: int
    organization_id: int
    key: str
    name: str
    methodology: str
    stage: str
    status: ProjectStatus
    start_date: date | None
    target_end_date: date | None
    planned_budget: Decimal | None
    manager_id: int | None


@dataclass(frozen=True, slots=True)
class TaskInfo:
    id: int
    project_id: int | None
    title: str
    state: str
    category: StateCategory
    assignee_id: int | None
    estimate_hours: float | None
    points: float | None
    due_date: date | None
    completed_at: datetime | None
    milestone_id: int | None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MilestoneInfo:
    id: int
    project_id: int
    name: str
    due_date: date | None
    done: bool
    signed_off_at: datetime | None


@dataclass(frozen=True, slots=True)
class StageMove:
    """A project about to move from one stage to another.

    ``tasks()`` and ``milestones()`` fetch the project's current tasks and milestones;
    ``session`` is the request's SQLAlchemy ``AsyncSession``, for plugins' own tables.
    """

    project: ProjectInfo
    methodology: Methodology
    from_stage: str
    to_stage: str
    actor_id: int
    now: datetime
    forced: bool
    session: Any
    tasks: Callable[[], Awaitable[list[TaskInfo]]]
    milestones: Callable[[], Awaitable[list[MilestoneInfo]]]


@dataclass(frozen=True, slots=True)
class TaskTransition:
    """A task about to change state; ``tasks()`` fetches the sibling tasks of its container."""

    task: TaskInfo
    project: ProjectInfo | None
    methodology: Methodology
    from_state: str
    to_state: str
    actor_id: int
    now: datetime
    session: Any
    tasks: Callable[[], Awaitable[list[TaskInfo]]]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a plugin refused a move: the plugin's name and the reason, in words."""

    plugin: str
    reason: str

