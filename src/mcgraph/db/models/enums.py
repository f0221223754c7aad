"""Enumerations stored in columns and shared by the domain and the API."""

from __future__ import annotations

import enum


class ProjectStatus(enum.StrEnum):
    """A project's lifecycle status."""

    PROPOSED = "proposed"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Health(enum.StrEnum):
    """How a project (or process) is doing, best first."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"

    @property
    def rank(self) -> int:
        return list(Health).index(self)


class StateCategory(enum.StrEnum):
    """What every methodology's task states mean to mcgraph."""

    TODO = "todo"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"


class Priority(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class DependencyType(enum.StrEnum):
    """How a successor task depends on its predecessor."""

    FS = "fs"  # finish to start: the successor starts after the predecessor finishes
    SS = "ss"  # start to start
    FF = "ff"  # finish to finish
    SF = "sf"  # start to finish
