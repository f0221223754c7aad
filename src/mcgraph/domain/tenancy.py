"""Organisations, their members and roles, and teams.

Rules kept here: e-mail addresses are unique and compared lower-cased, and they, slugs and
team and user names are identifiers (NFKC, no hidden characters; see
:mod:`mcgraph.domain.identifiers`); only an owner
may make or unmake an owner; an organisation always keeps at least one owner; a member
who leaves loses the organisation's tokens and team places.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db.models import ApiToken, Membership, Organization, Role, Team, TeamMember, User
from mcgraph.domain.errors import UserError, UserErrorCode
from mcgraph.domain.identifiers import identifier
from mcgraph.domain.permissions import Action, Actor, can

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def normalize_email(email: str) -> str:
    email = identifier(email, "email").lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise UserError.one("email", f"{email!r} is not an e-mail address.", UserErrorCode.INVALID)
    return email


def check_slug(slug: str) -> str:
    slug = identifier(slug, "slug")
    if not _SLUG.match(slug):
        raise UserError.one(
            "slug",
            "A slug is 1 to 64 lower-case letters, digits and inner hyphens.",
            UserErrorCode.INVALID,
        )
    return slug


def _check_name(value: str, field: str, *, required: bool = True, limit: int = 200) -> str:
    value = value.strip()
    if required and not value:
        raise UserError.one(field, f"`{field}` must not be blank.", UserErrorCode.REQUIRED)
    if len(value) > limit:
        raise UserError.one(field, f"`{field}` has at most {limit} characters.", UserErrorCode.TOO_LONG)
    return value


async def ensure_organization(session: AsyncSession, slug: str, name: str | None = None) -> Organization:
    slug = check_slug(slug)
    org = await session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        org = Organization(slug=slug, name=name or slug)
        session.add(org)
        await session.flush()
    return org


async def ensure_user(session: AsyncSession, email: str, name: str = "") -> User:
    email = normalize_email(email)
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=identifier(name, "name") or email.split("@", 1)[0])
        session.add(user)
        await session.flush()
    return user


async def ensure_membership(session: AsyncSession, org: Organization, user: User, role: Role) -> Membership:
    """The user's membership with exactly ``role`` (for the CLI and demo seeding)."""
    membership = await session.scalar(
        select(Membership).where(Membership.organization_id == org.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(organization_id=org.id, user_id=user.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    await session.flush()
    return membership


async def update_organization(session: AsyncSession, actor: Actor, *, name: str) -> Organization:
    org = await session.get_one(Organization, actor.organization_id)
    org.name = _check_name(name, "name")
    await session.flush()
    return org


async def add_member(session: AsyncSession, actor: Actor, *, email: str, name: str, role: Role) -> Membership:
    _check_may_grant(actor, role)
    user = await ensure_user(session, email, name)
    existing = await session.scalar(
        select(Membership.id).where(
            Membership.organization_id == actor.organization_id, Membership.user_id == user.id
        )
    )
    if existing is not None:
        raise UserError.one("email", f"{user.email} is already a member.", UserErrorCode.TAKEN)
    membership = Membership(organization_id=actor.organization_id, user_id=user.id, role=role)
    session.add(membership)
    await session.flush()
    return membership


async def change_role(session: AsyncSession, actor: Actor, membership_id: int, role: Role) -> Membership:
    membership = await _membership(session, actor, membership_id)
    _check_may_grant(actor, membership.role)
    _check_may_grant(actor, role)
    if membership.role == Role.OWNER and role != Role.OWNER:
        await _check_not_last_owner(session, membership)
    membership.role = role
    await session.flush()
    return membership


async def remove_member(session: AsyncSession, actor: Actor, membership_id: int, now: datetime) -> Membership:
    membership = await _membership(session, actor, membership_id)
    _check_may_grant(actor, membership.role)
    if membership.role == Role.OWNER:
        await _check_not_last_owner(session, membership)
    org_id, user_id = membership.organization_id, membership.user_id
    await session.execute(
        update(ApiToken)
        .where(ApiToken.organization_id == org_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        delete(TeamMember).where(TeamMember.organization_id == org_id, TeamMember.user_id == user_id)
    )
    await session.delete(membership)
    await session.flush()
    return membership


async def create_team(
    session: AsyncSession, actor: Actor, *, name: str, description: str = "", member_ids: Sequence[int] = ()
) -> Team:
    name = _check_name(identifier(name, "name"), "name")
    await _check_team_name_free(session, actor, name)
    team = Team(
        organization_id=actor.organization_id,
        name=name,
        description=_check_name(description, "description", required=False, limit=2000),
    )
    session.add(team)
    await session.flush()
    await _add_team_members(session, actor, team, member_ids)
    return team


async def update_team(
    session: AsyncSession, actor: Actor, team_id: int, *, name: str | None = None, description: str | None = None
) -> Team:
    team = await _team(session, actor, team_id)
    if name is not None and identifier(name, "name") != team.name:
        team.name = _check_name(identifier(name, "name"), "name")
        await _check_team_name_free(session, actor, team.name)
    if description is not None:
        team.description = _check_name(description, "description", required=False, limit=2000)
    await session.flush()
    return team


async def delete_team(session: AsyncSession, actor: Actor, team_id: int) -> Team:
    team = await _team(session, actor, team_id)
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    await session.delete(team)
    await session.flush()
    return team


async def add_team_members(session: AsyncSession, actor: Actor, team_id: int, user_ids: Sequence[int]) -> Team:
    team = await _team(session, actor, team_id)
    await _add_team_members(session, actor, team, user_ids)
    return team


async def remove_team_members(session: AsyncSession, actor: Actor, team_id: int, user_ids: Sequence[int]) -> Team:
    team = await _team(session, actor, team_id)
    await session.execute(
        delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id.in_(list(user_ids)))
    )
    await session.flush()
    return team


async def _add_team_members(session: AsyncSession, actor: Actor, team: Team, user_ids: Sequence[int]) -> None:
    wanted = set(user_ids)
    if not wanted:
        return
    members = set(
        await session.scalars(
            select(Membership.user_id).where(
                Membership.organization_id == actor.organization_id, Membership.user_id.in_(wanted)
            )
        )
    )
    strangers = wanted - members
    if strangers:
        raise UserError.one(
            "memberIds",
            f"{len(strangers)} of the given users are not members of the organisation.",
            UserErrorCode.NOT_A_MEMBER,
        )
    already = set(
        await session.scalars(
            select(TeamMember.user_id).where(TeamMember.team_id == team.id, TeamMember.user_id.in_(wanted))
        )
    )
    for user_id in sorted(wanted - already):
        session.add(TeamMember(organization_id=actor.organization_id, team_id=team.id, user_id=user_id))
    await session.flush()


async def _check_team_name_free(session: AsyncSession, actor: Actor, name: str) -> None:
    taken = await session.scalar(
        select(Team.id).where(Team.organization_id == actor.organization_id, Team.name == name)
    )
    if taken is not None:
        raise UserError.one("name", f"A team named {name!r} exists already.", UserErrorCode.TAKEN)


def _check_may_grant(actor: Actor, role: Role) -> None:
    if role == Role.OWNER and not can(actor, Action.ROLE_GRANT_OWNER):
        raise UserError.one("role", "Only an owner may make, change or remove an owner.", UserErrorCode.FORBIDDEN)


async def _check_not_last_owner(session: AsyncSession, membership: Membership) -> None:
    owners = await session.scalar(
        select(func.count()).where(
            Membership.organization_id == membership.organization_id, Membership.role == Role.OWNER
        )
    )
    if (owners or 0) <= 1:
        raise UserError.one("role", "An organisation keeps at least one owner.", UserErrorCode.LAST_OWNER)


async def _membership(session: AsyncSession, actor: Actor, membership_id: int) -> Membership:
    membership = await session.get(Membership, membership_id)
    if membership is None or membership.organization_id != actor.organization_id:
        raise UserError.one("membershipId", "No such member.", UserErrorCode.NOT_FOUND)
    return membership


async def _team(session: AsyncSession, actor: Actor, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None or team.organization_id != actor.organization_id:
        raise UserError.one("teamId", "No such team.", UserErrorCode.NOT_FOUND)
    return team


async def ensure_teams(session: AsyncSession, org: Organization, teams: dict[str, list[int]]) -> None:
    """Make sure each named team exists with at least the given members (for seeding)."""
    for given, user_ids in teams.items():
        name = identifier(given, "name")
        team = await session.scalar(select(Team).where(Team.organization_id == org.id, Team.name == name))
        if team is None:
            team = Team(organization_id=org.id, name=name)
            session.add(team)
            await session.flush()
        present = set(await session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team.id)))
        for user_id in user_ids:
            if user_id not in present:
                session.add(TeamMember(organization_id=org.id, team_id=team.id, user_id=user_id))
    await session.flush()
