"""The waterfall methodology: five phases run in order, then closure.

Each phase but the first is gated: a project enters it only when the phase before is
finished (see :mod:`mcgraph_waterfall.gate`). Tasks move through four states.
"""

from __future__ import annotations

from mcgraph.plugins import Methodology, Stage, StateCategory, TaskState

KEY = "waterfall"

PHASES: tuple[Stage, ...] = (
    Stage("requirements", "Requirements", description="Gather and agree what the system must do."),
    Stage("design", "Design", gated=True, description="Decide how the system will do it."),
    Stage("build", "Build", gated=True, description="Build what was designed."),
    Stage("test", "Test", gated=True, description="Verify the build against the requirements."),
    Stage("deploy", "Deploy", gated=True, description="Put the system into service."),
)
CLOSED = Stage("closed", "Closed", gated=True, description="The project is over.")

PHASE_KEYS: tuple[str, ...] = tuple(phase.key for phase in PHASES)

WATERFALL = Methodology(
    key=KEY,
    name="Waterfall",
    description=(
        "Requirements, design, build, test and deploy, in order: a phase starts when the one "
        "before has all its tasks done and its milestone signed off."
    ),
    stages=[*PHASES, CLOSED],
    states=[
        TaskState("todo", "To do", StateCategory.TODO),
        TaskState("in_progress", "In progress", StateCategory.IN_PROGRESS),
        TaskState("blocked", "Blocked", StateCategory.BLOCKED),
        TaskState("done", "Done", StateCategory.DONE),
    ],
)

STAGE_KEYS: tuple[str, ...] = tuple(stage.key for stage in WATERFALL.stages)


def stage_index(key: str) -> int:
    """The position of stage ``key`` in the waterfall (0 for requirements, 5 for closed)."""
    return STAGE_KEYS.index(key)


def stage_name(key: str) -> str:
    stage = WATERFALL.stage(key)
    return stage.name if stage else key


def is_phase(key: str) -> bool:
    """Whether ``key`` is one of the five working phases (``closed`` is not)."""
    return key in PHASE_KEYS
