"""API tokens: random bearer secrets, shown once, stored as a SHA-256 digest.

A token is 256 random bits, so a fast digest is the right store for it (a slow password
hash protects guessable secrets and would cost every request). Looking one up is a
single indexed equality on the digest.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcgraph.db import versions
from mcgraph.db.engine import begin_write
from mcgraph.db.models import ApiToken, Membership
from mcgraph.domain.errors import Unauthenticated, UserError, UserErrorCode
from mcgraph.domain.identifiers import identifier
from mcgraph.domain.permissions import Action, Actor, can

TOKEN_PREFIX = "mcg_"
# A token's last-used time is written at most this often, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[: len(TOKEN_PREFIX) + 6]


async def authenticate(session: AsyncSession, secret: str, now: datetime) -> tuple[Actor, datetime | None]:
    """The actor a bearer token stands for and when the token expires (None: never);
    :class:`Unauthenticated` when it is not valid."""
    row = (
        await session.execute(
            select(ApiToken, Membership.role)
            .join(
                Membership,
                (Membership.user_id == ApiToken.user_id)
                & (Membership.organization_id == ApiToken.organization_id),
            )
            .where(ApiToken.digest == digest(secret))
        )
    ).first()
    if row is None:
        raise Unauthenticated("The token is not valid. Create one with `mcgraph token create`.")
    token, role = row
    if token.revoked_at is not None:
        raise Unauthenticated("The token has been revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("The token has expired.")
    actor = Actor(user_id=token.user_id, organization_id=token.organization_id, role=role, token_id=token.id)
    expires_at = token.expires_at
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # End the read first: on SQLite a read that turns into a write fails when another
        # write committed in between, so the write starts afresh and waits its turn.
        await session.rollback()
        await begin_write(session)
        # bookkeeping: an answer showing lastUsedAt is never served again (see ApiToken)
        versions.bookkeeping(session)
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == actor.token_id)
            .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_RESOLUTION))
            .values(last_used_at=now)
        )
        await session.commit()
    return actor, expires_at


async def issue(
    session: AsyncSession,
    *,
    organization_id: int,
    user_id: int,
    name: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for a member; returns the row and the secret, which is never kept."""
    if expires_at is not None and expires_at <= now:
        raise UserError.one("expiresAt", "The expiry must be in the future.", UserErrorCode.INVALID)
    name = identifier(name, "name")
    if len(name) > 200:
        raise UserError.one("name", "A token name has at most 200 characters.", UserErrorCode.TOO_LONG)
    secret = new_secret()
    token = ApiToken(
        organization_id=organization_id,
        user_id=user_id,
        name=name,
        digest=digest(secret),
        prefix=display_prefix(secret),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def revoke(session: AsyncSession, actor: Actor, token_id: int, now: datetime) -> ApiToken:
    """Revoke a token: one's own, or anyone's in the organisation for owners and admins."""
    token = await session.get(ApiToken, token_id)
    if token is None or token.organization_id != actor.organization_id or (
        token.user_id != actor.user_id and not can(actor, Action.TOKEN_MANAGE_ANY)
    ):
        raise UserError.one("id", "No such token.", UserErrorCode.NOT_FOUND)
    if token.revoked_at is not None:
        raise UserError.one("id", "The token is already revoked.", UserErrorCode.ALREADY_REVOKED)
    token.revoked_at = now
    await session.flush()
    return token


async def revoke_by_secret(session: AsyncSession, secret: str, now: datetime) -> bool:
    """Revoke the token whose secret is given (for the CLI); False when there is none."""
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.digest == digest(secret), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)
