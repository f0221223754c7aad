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


class ProcessStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class RunState(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class RunTrigger(enum.StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    EVENT = "event"


class Assignment(enum.StrEnum):
    """Who does a process step."""

    USER = "user"  # a named user
    OWNER = "owner"  # the process owner
    TEAM_ROLE = "team_role"  # a member of the process's team with a given role (round robin among them)
    PAYLOAD = "payload"  # the user whose e-mail is at a path of the trigger's payload
    ROUND_ROBIN = "round_robin"  # the members of the process's team in turn
    UNASSIGNED = "unassigned"


class StepOutcome(enum.StrEnum):
    DONE = "done"
    APPROVED = "approved"
    REJECTED = "rejected"
    SKIPPED = "skipped"


class RejectAction(enum.StrEnum):
    """What a rejected approval step does to its run."""

    END = "end"  # the run fails
    BACK = "back"  # the run goes back to a named step, which is done again


class TriggerKind(enum.StrEnum):
    """What starts an automation rule."""

    EVENT = "event"  # an event of a type (or family), with a filter on it
    SCHEDULE = "schedule"  # a cron schedule, in a time zone
    RUN_COMPLETED = "run_completed"  # a run of a process (or of any) completed
    TASK_OVERDUE = "task_overdue"  # a task passed its due date without being done


class AutomationRunState(enum.StrEnum):
    """Where one run of a rule for one event stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # will be tried again
    DEAD = "dead"  # failed every attempt, or cannot run; only retryAutomationRun revives it
    SKIPPED = "skipped"  # its conditions did not hold
