"""The mcgraph plugin API: every hook a plugin may implement.

This module is the contract. Each hook is documented here, in its docstring: when mcgraph
calls it, what each argument is, what to return, and how the answers of several plugins
combine. Implement a hook by defining a function of the same name, decorated with
``mcgraph.plugins.hookimpl``, in a module or class that your package registers under
the ``mcgraph`` entry-point group::

    [project.entry-points.mcgraph]
    kanban = "mcgraph_kanban.plugin"

A hook may be a plain function or ``async def``; mcgraph awaits what needs awaiting.
Return ``None`` (or nothing) from any hook to say "not my concern".
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

import pluggy

from mcgraph.plugins.types import Methodology, StageMove, TaskTransition

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

    Called for every stage move, before it is made, whatever the methodology: check
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

    Called before every state change of a task (in a project or a process run). Return
    the reasons to refuse, in words (``["WIP limit of 3 reached in Doing"]``), or
    ``None`` to allow. Combined like :func:`mcgraph_check_stage_move`.
    """


# -- Health ----------------------------------------------------------------------------


@hookspec
def mcgraph_project_health(
    project: object, facts: object, default: object
) -> object | Awaitable[object | None] | None:
    """Compute the health of a project of a methodology this plugin declared.

    ``project`` is a :class:`~mcgraph.plugins.ProjectInfo`, ``facts`` the
    :class:`~mcgraph.plugins.ProjectFacts` mcgraph measured (progress, overdue tasks,
    forecast end, cost, today), and ``default`` the
    :class:`~mcgraph.plugins.HealthReport` of mcgraph's default rules.

    Return a :class:`~mcgraph.plugins.HealthReport` to replace the default (include
    ``default.reasons`` to add to the default rules rather than replace them), or
    ``None`` to keep the default. Only the plugin that declared the project's
    methodology is asked, so the answer never depends on which plugins are installed.
    """
