"""The role x action matrix: who may do what in an organisation.

Every resolver declares the action it needs, and every check goes through
:func:`authorize`. Rules about a particular row (an admin may not demote an owner, a
member may edit only their own tokens) live in the service that owns the row, which
uses :func:`can` to ask the matrix.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mcgraph.db.models import Role
from mcgraph.domain.errors import Forbidden, Unauthenticated


class Action(enum.StrEnum):
    ORG_READ = "org.read"
    ORG_UPDATE = "org.update"
    MEMBER_MANAGE = "member.manage"
    ROLE_GRANT_OWNER = "role.grant_owner"
    TEAM_MANAGE = "team.manage"
    TOKEN_MANAGE_OWN = "token.manage_own"
    TOKEN_MANAGE_ANY = "token.manage_any"
    PROJECT_READ = "project.read"
    PROJECT_MANAGE = "project.manage"
    PROJECT_FORCE = "project.force"
    TASK_WRITE = "task.write"
    COMMENT_WRITE = "comment.write"
    TIME_LOG = "time.log"
    PROCESS_MANAGE = "process.manage"
    PROCESS_RUN = "process.run"
    AUTOMATION_MANAGE = "automation.manage"


_EVERYONE = frozenset(Role)
_ADMINS = frozenset({Role.OWNER, Role.ADMIN})

MATRIX: dict[Action, frozenset[Role]] = {
    Action.ORG_READ: _EVERYONE,
    Action.ORG_UPDATE: _ADMINS,
    Action.MEMBER_MANAGE: _ADMINS,
    Action.ROLE_GRANT_OWNER: frozenset({Role.OWNER}),
    Action.TEAM_MANAGE: _ADMINS | {Role.MANAGER},
    Action.TOKEN_MANAGE_OWN: _EVERYONE,
    Action.TOKEN_MANAGE_ANY: _ADMINS,
    Action.PROJECT_READ: _EVERYONE,
    Action.PROJECT_MANAGE: _ADMINS | {Role.MANAGER},
    Action.PROJECT_FORCE: _ADMINS | {Role.MANAGER},
    Action.TASK_WRITE: _EVERYONE - {Role.VIEWER},
    Action.COMMENT_WRITE: _EVERYONE - {Role.VIEWER},
    Action.TIME_LOG: _EVERYONE - {Role.VIEWER},
    Action.PROCESS_MANAGE: _ADMINS | {Role.MANAGER},
    Action.PROCESS_RUN: _EVERYONE - {Role.VIEWER},
    Action.AUTOMATION_MANAGE: _ADMINS | {Role.MANAGER},
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user, in one organisation, with one role, through one token."""

    user_id: int
    organization_id: int
    role: Role
    token_id: int | None = None

    @property
    def person_id(self) -> int | None:
        """The user's id for a row's "by whom" column; None when mcgraph itself acts."""
        return self.user_id or None


def system_actor(organization_id: int) -> Actor:
    """mcgraph itself, acting in an organisation (sweeps, automations): no user."""
    return Actor(user_id=0, organization_id=organization_id, role=Role.OWNER)


def can(actor: Actor | None, action: Action) -> bool:
    return actor is not None and actor.role in MATRIX[action]


def authorize(actor: Actor | None, action: Action) -> Actor:
    """Return ``actor`` when it may perform ``action``; raise otherwise."""
    if actor is None:
        raise Unauthenticated(
            "Authentication required: send the header 'Authorization: Bearer <token>'."
        )
    if actor.role not in MATRIX[action]:
        raise Forbidden(f"Your role '{actor.role}' may not {action.value}.")
    return actor
