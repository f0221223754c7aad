"""The built-in default methodology: simple stages, no gates. A plugin like any other."""

from __future__ import annotations

from mcgraph.plugins import Methodology, Stage, StateCategory, TaskState, hookimpl

SIMPLE = Methodology(
    key="simple",
    name="Simple",
    description="Plan, do, close: no gates, four task states.",
    stages=[
        Stage("plan", "Plan"),
        Stage("execute", "Execute"),
        Stage("close", "Close"),
    ],
    states=[
        TaskState("todo", "To do", StateCategory.TODO),
        TaskState("in_progress", "In progress", StateCategory.IN_PROGRESS),
        TaskState("blocked", "Blocked", StateCategory.BLOCKED),
        TaskState("done", "Done", StateCategory.DONE),
    ],
)


@hookimpl
def mcgraph_methodologies() -> list[Methodology]:
    return [SIMPLE]
