"""The mcgraph plugin API: every hook a plugin may implement.

This module is the contract. Each hook is documented here, in its docstring: when mcgraph
calls it, what each argument is, what to return, and how the answers of several plugins
combine. Implement a hook by defining a function of the same name, decorated with
``mcgraph.plugins.hookimpl``, in a module or class that your package registers under
the ``mcgraph`` entry-point group::

    [project.entry-points.mcgraph]
    kanban = "mcgraph_kanban.plugin"

A hook may be a plain function or ``async def``; mcgraph awaits what needs awaiting.
Return ``None`` (or nothing) from any hook to say "not my concern". An implementation
takes only the arguments it needs, by name (``def mcgraph_event(event): ...``).

mcgraph calls every hook through pluggy, so pluggy's rules hold: implementations run
``tryfirst`` first, ``trylast`` last, otherwise the last registered first; a
``wrapper=True`` implementation runs around the others and sees (and may replace)
their result. Hooks whose answers are told apart by plugin (declarations, checks,
reactions) are called once per plugin, each call wrapped by every wrapper, so that a
clash or a refusal names its plugin and a plugin that raises affects no other.
An async implementation's answer is a coroutine when a wrapper sees it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

import pluggy

from mcgraph.plugins.types import (
    AutomationAction,
    AutomationTrigger,
    ConditionFunction,
    EventInfo,
    GraphQLContribution,
    HealthContext,
    HealthReport,
    Methodology,
    ProjectFacts,
    ProjectInfo,
    StageMove,
    TaskTransition,
)

if TYPE_CHECKING:
    from mcgraph.plugins.host import PluginUnit

hookspec = pluggy.HookspecMarker("mcgraph")


# -- Methodologies ---------------------------------------------------------------------


@hookspec
def mcgraph_methodologies() -> Sequence[Methodology] | None:
    """Declare the methodologies this plugin provides.

    Called once, when the app starts. Return a sequence of
    :class:`~mcgraph.plugins.Methodology` (their stages, which stages are gated, their
    task states with categories). Each methodology key must be unique across all
    plugins; a clash stops the start with an error naming both plugins.

    Results of all plugins are combined: every declared methodology is offered.
    """


# -- Rules -----------------------------------------------------------------------------


@hookspec
def mcgraph_check_stage_move(move: StageMove) -> Sequence[str] | Awaitable[Sequence[str] | None] | None:
    """Check a project's move from ``move.from_stage`` to ``move.to_stage``.

    Called for every stage move, before it is made, whatever the methodology. ``move``
    is a :class:`~mcgraph.plugins.StageMove`: the project, its methodology, both stages,
    who moves it and when, ``tasks()`` and ``milestones()`` to read the project, the
    session for the plugin's own tables and ``settings(cls)``. Check
    ``move.methodology.key`` and return ``None`` for projects that are not yours.
    Return the reasons to refuse the move, in words (``["the design milestone is not
    signed off"]``); an empty sequence or ``None`` allows it.

    Every plugin is asked; the move is made only when no plugin refuses, and a refused
    move reports every reason of every plugin, each with the plugin's name. A plugin
    whose check raises refuses the move (the error is logged).
    """


@hookspec
def mcgraph_check_task_transition(
    transition: TaskTransition,
) -> Sequence[str] | Awaitable[Sequence[str] | None] | None:
    """Check a task's change of state from ``transition.from_state`` to ``to_state``.

    Called before every state change of a task (in a project or a process run), unless
    an owner, admin or manager forces it. ``transition`` is a
    :class:`~mcgraph.plugins.TaskTransition`: the task, its project (None in a process
    run), the methodology, both states, who and when, ``tasks()`` for the task's
    siblings, the session and ``settings(cls)``. Return
    the reasons to refuse, in words (``["WIP limit of 3 reached in Doing"]``), or
    ``None`` to allow. Combined like :func:`mcgraph_check_stage_move`.
    """


# -- Health ----------------------------------------------------------------------------


@hookspec(firstresult=True)
def mcgraph_project_health(
    project: ProjectInfo, facts: ProjectFacts, default: HealthReport, context: HealthContext
) -> HealthReport | Awaitable[HealthReport | None] | None:
    """Compute the health of a project of a methodology this plugin declared.

    Called whenever mcgraph assesses such a project (after each change to it or its
    tasks, and by the periodic refresh). ``project`` is a
    :class:`~mcgraph.plugins.ProjectInfo`, ``facts`` the
    :class:`~mcgraph.plugins.ProjectFacts` mcgraph measured (progress, overdue tasks,
    forecast end, planned budget, actual cost, today), ``default`` the
    :class:`~mcgraph.plugins.HealthReport` of mcgraph's default rules, and ``context``
    a :class:`~mcgraph.plugins.HealthContext` to read the project's tasks, milestones,
    the plugin's own tables (``context.session``) and its settings.

    Return a :class:`~mcgraph.plugins.HealthReport` to replace the default (include
    ``default.reasons`` to add to the default rules rather than replace them), or
    ``None`` to keep the default. Only the plugin that declared the project's
    methodology is asked, so the answer never depends on which plugins are installed;
    it stops at the first non-None result (a ``wrapper`` may change it). A hook that
    raises keeps the default report (the error is logged).
    """


# -- GraphQL ---------------------------------------------------------------------------


@hookspec
def mcgraph_graphql() -> GraphQLContribution | None:
    """Add types, queries, mutations, subscriptions and fields on core types.

    Called once per app, when the schema is built. Return a
    :class:`~mcgraph.plugins.GraphQLContribution`. Its resolvers use
    :mod:`mcgraph.plugins.graphql` for the request's session, the viewer, permissions
    (``field(Action.PROJECT_READ, ...)``, ``mutation(...)``), ids and user errors.

    Contributions of all plugins are merged; a field name two plugins (or a plugin and
    mcgraph) both add stops the start with an error naming them. A disabled plugin's
    fields are absent from the schema.
    """


# -- Automations -----------------------------------------------------------------------


@hookspec
def mcgraph_automation_actions() -> Sequence[AutomationAction] | None:
    """Declare actions automation rules may run.

    Called once, when the app (or a worker) starts. Return a sequence of
    :class:`~mcgraph.plugins.AutomationAction`. Types are namespaced by the plugin
    (``agile.close_sprint``); a type declared twice, or one of mcgraph's, stops the
    start. The action's ``run`` is called in a worker, once per rule run, in a
    transaction of its own; all actions of all plugins are offered.

    An action's ``secret_params`` name its params that are secrets (tokens, signing
    keys): mcgraph stores them encrypted with a key derived from
    ``MCGRAPH_SECRET_KEY``, passes them to ``run`` decrypted, and shows ``********``
    instead of them in events, answers and dry runs. Each must also be in ``required``
    or ``optional``, and not in ``templates``; a declaration breaking this stops the
    start. Events written before a param was declared secret are scrubbed by
    ``mcgraph secrets rotate``.
    """


@hookspec
def mcgraph_automation_triggers() -> Sequence[AutomationTrigger] | None:
    """Declare the event types this plugin records, so rules can be triggered by them.

    Called once, when the app starts. Return a sequence of
    :class:`~mcgraph.plugins.AutomationTrigger`. The ``automationCatalog`` query lists
    them beside mcgraph's own; a rule with ``trigger: {kind: EVENT, eventType: ...}``
    listens to them. Results of all plugins are combined.
    """


@hookspec
def mcgraph_automation_conditions() -> Sequence[ConditionFunction] | None:
    """Declare functions that automation rules' conditions may call.

    Called once, when the app starts. Return a sequence of
    :class:`~mcgraph.plugins.ConditionFunction` (a name, a function of plain values
    that does no I/O, a description): a rule's condition may then say
    ``is_blocker(task.labels)``. A function that raises makes the condition false. A
    name declared twice stops the start. Results of all plugins are combined, and the
    ``automationCatalog`` query lists them.
    """


# -- Events ----------------------------------------------------------------------------


@hookspec
def mcgraph_event(event: EventInfo, unit: PluginUnit) -> Awaitable[None] | None:
    """React to an event, after the transaction that wrote it has committed.

    Called for every event of every organisation, in event order per organisation, by
    the process whose transaction wrote it (or by the relay's sweep after a crash: so
    at least once; make reactions idempotent). ``event`` is an
    :class:`~mcgraph.plugins.EventInfo`; ``unit`` a
    :class:`~mcgraph.plugins.host.PluginUnit` of the event's organisation, acting as
    mcgraph itself, in a transaction of its own for this plugin: write your tables
    through ``unit.session`` and record follow-up events with ``unit.record``.

    Return nothing. A plugin whose reaction raises is logged and its transaction rolled
    back; the request that caused the event is never affected, nor are other plugins.
    """


# -- Tables and settings ---------------------------------------------------------------


@hookspec
def mcgraph_migrations() -> str | os.PathLike[str] | None:
    """Name the folder of this plugin's Alembic revisions: a branch of its own.

    Called by ``mcgraph migrate`` (and by the app's start-up check), for every installed
    plugin, enabled or not, so that disabling a plugin never strands its tables. Return
    the folder's path (``str(Path(__file__).parent / "migrations")``), or ``None`` when
    the plugin keeps no tables. The
    revisions carry ``branch_labels = ("<plugin>",)``, start from ``down_revision =
    None`` and ``depends_on`` the core revision whose tables they refer to. Models use
    :mod:`mcgraph.plugins.db` (tables named ``<plugin>_...``).
    """


@hookspec
def mcgraph_settings() -> type | None:
    """Declare this plugin's settings: a ``pydantic_settings.BaseSettings`` subclass.

    Called once, when the app starts. Return the class (or ``None``); mcgraph builds
    the object from the environment (a bad value stops the start, naming the setting) and hands it back wherever a hook gets a ``settings``
    callable or a unit (``unit.settings(MySettings)``). Give the class an
    ``env_prefix`` of ``MCGRAPH_<PLUGIN>_``.
    """
