"""The Agile (Scrum) methodology: its stages and its task states."""

from __future__ import annotations

from mcgraph.plugins import Methodology, Stage, StateCategory, TaskState

KEY = "agile"
RELEASE = "release"
CLOSED = "closed"

AGILE = Methodology(
    key=KEY,
    name="Agile (Scrum)",
    description="Work in time-boxed sprints from a prioritised backlog; release when no sprint is left open.",
    stages=[
        Stage("discovery", "Discovery", description="Shape the product backlog."),
        Stage("delivery", "Delivery", description="Sprint after sprint."),
        Stage(RELEASE, "Release", gated=True, description="Needs the active sprint's tasks all done."),
        Stage(CLOSED, "Closed", gated=True, description="Needs no active sprint."),
    ],
    states=[
        TaskState("backlog", "Backlog", StateCategory.TODO),
        TaskState("selected", "Sprint backlog", StateCategory.TODO),
        TaskState("in_progress", "In progress", StateCategory.IN_PROGRESS),
        TaskState("review", "Review", StateCategory.IN_PROGRESS),
        TaskState("blocked", "Blocked", StateCategory.BLOCKED),
        TaskState("done", "Done", StateCategory.DONE),
    ],
)
