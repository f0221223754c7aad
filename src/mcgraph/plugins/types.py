"""The values that pass between mcgraph and its plugins.

Plugins receive snapshots (``ProjectInfo``, ``TaskInfo``...), never database rows, so
that what a plugin sees is documented here and stays stable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from mcgraph.db.models.enums import Health, ProjectStatus, StateCategory  # noqa: F401  (re-exported by mcgraph.plugins)
from mcgraph.domain.health import HealthReason, HealthReport, ProjectFacts  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from mcgraph.plugins.host import PluginUnit

T = TypeVar("T")
SettingsOf = Callable[[type[T]], T]


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
    created_at: datetime | None = None
    start_date: date | None = None
    process_run_id: int | None = None
    parent_id: int | None = None  # set on subtasks; progress counts tasks without subtasks


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
    settings: SettingsOf[Any] = field(default=lambda cls: cls())  # this plugin's settings object


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
    settings: SettingsOf[Any] = field(default=lambda cls: cls())


@dataclass(frozen=True, slots=True)
class HealthContext:
    """What a health hook may read beyond the facts: the project's tasks and milestones,
    the session (for the plugin's own tables) and the plugin's settings."""

    today: date
    session: Any
    tasks: Callable[[], Awaitable[list[TaskInfo]]]
    milestones: Callable[[], Awaitable[list[MilestoneInfo]]]
    settings: SettingsOf[Any] = field(default=lambda cls: cls())


@dataclass(frozen=True, slots=True)
class EventInfo:
    """An event as plugins see it: ``task.state_changed`` about subject ``task`` 42.

    ``data`` holds what the event type documents; ``data["changes"]`` is
    ``{field: [before, after]}`` for changes.
    """

    id: int
    type: str
    organization_id: int
    subject_type: str
    subject_id: int
    project_id: int | None
    actor_id: int | None
    occurred_at: datetime
    data: Mapping[str, Any]
    # the methodology of the project the event concerns (None when it concerns none):
    # an observer of one methodology's projects can skip the others without a query
    methodology: str | None = None

    def change(self, name: str) -> tuple[Any, Any] | None:
        """``(before, after)`` of field ``name`` when this event changed it."""
        pair = (self.data.get("changes") or {}).get(name)
        return (pair[0], pair[1]) if pair else None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a plugin refused a move: the plugin's name and the reason, in words."""

    plugin: str
    reason: str



# -- Automations -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One run of a plugin's automation action.

    ``params`` are the rule's params for it, templates already filled in; ``names`` what
    the rule's condition saw (``event``, ``task``, ``project``, ``run``, ``rule``);
    ``key`` names this effect uniquely (rule, event, action), for idempotency: a run may
    be retried, and an action that already took effect should not take it twice.
    """

    unit: PluginUnit
    params: Mapping[str, Any]
    names: Mapping[str, Any]
    key: str


@dataclass(frozen=True, slots=True)
class AutomationAction:
    """An action automation rules can run: ``{"type": type, "params": {...}}``.

    ``run`` (may be async) does it in the unit's transaction and returns what it did
    (ids, in a dict, shown on the automation run); raising
    :class:`~mcgraph.plugins.ActionFailed` fails the action with that message. Params
    named in ``templates`` may hold ``{{ expression }}`` parts. ``check`` returns what is
    wrong with a rule's params, in words, when the rule is saved.

    Params named in ``secret_params`` (an API token, a signing key) are secrets: each
    must be a string; mcgraph stores it encrypted, hands it to ``run`` decrypted, and
    never shows it again: events, ``automationRules`` answers, dry runs (``describe``
    gets ``********`` in its place) and run errors carry ``********`` or ``[redacted]``.
    """

    type: str
    description: str
    run: Callable[[ActionCall], Awaitable[Mapping[str, Any]] | Mapping[str, Any]]
    required: Sequence[str] = ()
    optional: Sequence[str] = ()
    templates: Sequence[str] = ()
    check: Callable[[Mapping[str, Any]], Sequence[str]] | None = None
    describe: Callable[[Mapping[str, Any], Mapping[str, Any]], str] | None = None
    secret_params: Sequence[str] = ()
    plugin: str = field(default="", compare=False)  # filled in by mcgraph


@dataclass(frozen=True, slots=True)
class AutomationTrigger:
    """An event type a plugin records, offered to rules as a trigger (``eventType``).

    ``data`` documents the keys of the event's data, name -> meaning.
    """

    event_type: str
    description: str
    data: Mapping[str, str] = field(default_factory=dict)
    plugin: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class ConditionFunction:
    """A function rules may call in conditions and templates, e.g. ``wip_count(task)``.

    ``function`` takes plain values (numbers, strings, lists, objects, None) and returns
    one; it must not do I/O. A function that raises makes the condition false.
    """

    name: str
    function: Callable[..., Any]
    description: str
    plugin: str = field(default="", compare=False)


# -- GraphQL -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphQLContribution:
    """What a plugin adds to the GraphQL schema.

    ``query``, ``mutation`` and ``subscription`` are ``@strawberry.type`` classes whose
    fields join the root types. ``fields`` maps a core type's name (``Project``,
    ``Task``, ``Milestone``) to a ``@strawberry.type`` class whose fields are added to
    that type; their resolvers get the object as a snapshot (``ProjectInfo``,
    ``TaskInfo``, ``MilestoneInfo``) in ``self``. ``types`` lists types the schema
    cannot reach through fields (nodes fetched only by ``node(id:)``).
    """

    query: type | None = None
    mutation: type | None = None
    subscription: type | None = None
    fields: Mapping[str, type] = field(default_factory=dict)
    types: Sequence[type] = ()
