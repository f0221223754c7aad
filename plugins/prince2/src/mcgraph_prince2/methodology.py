"""The PRINCE2 methodology: management stages with a board decision at every boundary."""

from __future__ import annotations

from mcgraph.plugins import Methodology, Stage, StateCategory, TaskState

DELIVERY_STAGES = ("delivery_1", "delivery_2", "delivery_3")

PRINCE2 = Methodology(
    key="prince2",
    name="PRINCE2",
    description=(
        "Starting up, initiating, delivery stages and closing; the project board authorises "
        "every stage boundary on an end-stage report, and each stage runs within tolerances."
    ),
    stages=[
        Stage("starting_up", "Starting up", description="Is the project viable and worthwhile?"),
        Stage("initiating", "Initiating", gated=True, description="The project initiation documentation."),
        Stage("delivery_1", "Delivery 1", gated=True, description="A delivery stage."),
        Stage("delivery_2", "Delivery 2", gated=True, description="A delivery stage."),
        Stage("delivery_3", "Delivery 3", gated=True, description="A delivery stage."),
        Stage("closing", "Closing", gated=True, description="Hand over the products and close the project."),
    ],
    states=[
        TaskState("todo", "To do", StateCategory.TODO),
        TaskState("in_progress", "In progress", StateCategory.IN_PROGRESS),
        TaskState("blocked", "Blocked", StateCategory.BLOCKED),
        TaskState("done", "Done", StateCategory.DONE),
    ],
)


def is_prince2(methodology_key: str) -> bool:
    """Whether a project of this methodology key is one of ours."""
    return methodology_key == PRINCE2.key


def stage_name(key: str) -> str:
    """The stage's display name ("Initiating"), or the key itself when unknown."""
    stage = PRINCE2.stage(key)
    return stage.name if stage is not None else key
