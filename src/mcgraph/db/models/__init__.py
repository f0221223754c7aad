"""Every mapped model, imported here so that ``Base.metadata`` knows them all."""

from mcgraph.db.models.enums import DependencyType, Health, Priority, ProjectStatus, StateCategory
from mcgraph.db.models.events import Event
from mcgraph.db.models.projects import (
    Comment,
    CommentMention,
    CostEntry,
    Dependency,
    Milestone,
    Project,
    ProjectLabel,
    ProjectMember,
    Task,
    TaskLabel,
    TimeEntry,
)
from mcgraph.db.models.tenancy import ApiToken, Membership, Organization, Role, Team, TeamMember, User

__all__ = [
    "ApiToken",
    "Comment",
    "CommentMention",
    "CostEntry",
    "Dependency",
    "DependencyType",
    "Event",
    "Health",
    "Membership",
    "Milestone",
    "Organization",
    "Priority",
    "Project",
    "ProjectLabel",
    "ProjectMember",
    "ProjectStatus",
    "Role",
    "StateCategory",
    "Task",
    "TaskLabel",
    "Team",
    "TeamMember",
    "TimeEntry",
    "User",
]
