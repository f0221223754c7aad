"""The phase gate: when a waterfall project may move from one stage to another.

Moving back (rework) is always allowed. Moving forward needs, of the phase being left:

- a milestone linked to it (``setPhaseMilestone``), which closes the phase;
- every task of that milestone done;
- that milestone signed off.

and no phase may be skipped. Each failed condition is one reason, in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mcgraph.plugins import MilestoneInfo, StateCategory, TaskInfo

from mcgraph_waterfall.methodology import STAGE_KEYS, stage_name

MAX_NAMED = 5
"""How many open tasks a reason names before it says 'and N more'."""


def moves_forward(from_stage: str, to_stage: str) -> bool:
    """Whether the move goes forward through the waterfall (the only kind the gate checks)."""
    if from_stage not in STAGE_KEYS or to_stage not in STAGE_KEYS:
        return False
    return STAGE_KEYS.index(to_stage) > STAGE_KEYS.index(from_stage)


def gate_reasons(
    from_stage: str,
    to_stage: str,
    tasks: Sequence[TaskInfo],
    milestones: Sequence[MilestoneInfo],
    links: Mapping[str, int],
) -> list[str]:
    """Why the move from ``from_stage`` to ``to_stage`` is refused; empty when it is allowed.

    ``links`` maps a phase key to the id of the milestone that closes it.
    """
    if not moves_forward(from_stage, to_stage):
        return []
    start, end = STAGE_KEYS.index(from_stage), STAGE_KEYS.index(to_stage)
    reasons = []
    skipped = STAGE_KEYS[start + 1 : end]
    if skipped:
        reasons.append(skip_reason(skipped))
    reasons.extend(phase_unfinished(from_stage, tasks, milestones, links.get(from_stage)))
    return reasons


def skip_reason(skipped: Sequence[str]) -> str:
    names = [stage_name(key) for key in skipped]
    if len(names) == 1:
        return f"the {names[0]} phase cannot be skipped: move to {skipped[0]} first"
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    return f"the {listed} phases cannot be skipped: move to {skipped[0]} first"


def phase_unfinished(
    phase: str, tasks: Sequence[TaskInfo], milestones: Sequence[MilestoneInfo], milestone_id: int | None
) -> list[str]:
    """What is left to do before ``phase`` is finished, in words; empty when it is."""
    name = stage_name(phase)
    milestone = next((m for m in milestones if m.id == milestone_id), None)
    if milestone is None:
        return [f"no milestone closes the {name} phase: link one with setPhaseMilestone"]
    reasons = []
    open_tasks = [t for t in phase_tasks(tasks, milestone.id) if t.category is not StateCategory.DONE]
    if open_tasks:
        reasons.append(f"{_count(len(open_tasks))} of the {name} phase not done: {_titles(open_tasks)}")
    if milestone.signed_off_at is None:
        reasons.append(f"the {name} milestone '{milestone.name}' is not signed off")
    return reasons


def phase_tasks(tasks: Sequence[TaskInfo], milestone_id: int | None) -> list[TaskInfo]:
    """The tasks of a phase: those of the milestone that closes it."""
    if milestone_id is None:
        return []
    return [t for t in tasks if t.milestone_id == milestone_id]


def _count(n: int) -> str:
    return "1 task" if n == 1 else f"{n} tasks"


def _titles(tasks: Sequence[TaskInfo]) -> str:
    named = ", ".join(f"'{t.title}'" for t in tasks[:MAX_NAMED])
    rest = len(tasks) - MAX_NAMED
    return f"{named} and {rest} more" if rest > 0 else named
