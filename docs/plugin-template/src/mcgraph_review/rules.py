"""The review methodology, its settings, and its one rule: the gate into ``published``.

The rule is a plain function of plain values, so it is tested without a database.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mcgraph.plugins import Methodology, Stage, StateCategory, TaskState

KEY = "review"

REVIEW = Methodology(
    key=KEY,
    name="Review",
    description="Draft, review, publish: publishing needs the review approved.",
    stages=[
        Stage("draft", "Draft"),
        Stage("review", "Review"),
        Stage("published", "Published", gated=True),
    ],
    states=[
        TaskState("todo", "To do", StateCategory.TODO),
        TaskState("doing", "Doing", StateCategory.IN_PROGRESS),
        TaskState("done", "Done", StateCategory.DONE),
    ],
)


class ReviewSettings(BaseSettings):
    """``MCGRAPH_REVIEW_REQUIRED_APPROVALS``: how many approvals publishing needs (default 1)."""

    model_config = SettingsConfigDict(env_prefix="MCGRAPH_REVIEW_")

    required_approvals: int = Field(default=1, ge=1)


def gate_reasons(approvals: int, required: int) -> list[str]:
    """Why a project with ``approvals`` approvals may not be published; empty when it may."""
    if approvals >= required:
        return []
    if approvals == 0:
        return ["nobody has approved the review yet"]
    return [f"{approvals} of the {required} approvals needed so far"]
