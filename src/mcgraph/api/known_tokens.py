"""Bearer tokens this process has checked, trusted again while nothing about them changed.

Checking a token reads its row and its membership. What they say changes only by a
write to the token's organisation (the token revoked, its member's role changed or the
member removed) or to its user, and every such write bumps the organisation's data
version (:mod:`mcgraph.db.versions`). So a token once found is trusted again, with one
read of that version instead of its rows, while the version is the same, the token has
not expired, and its last use was written less than ``LAST_USED_RESOLUTION`` ago (after
that it is checked in full, which writes its last use). The version read here, before
anything else of the request, is the one the response cache keys its answers by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cachetools import LRUCache

from mcgraph.db import Database, versions
from mcgraph.domain import tokens
from mcgraph.domain.permissions import Actor

KNOWN_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class Known:
    actor: Actor
    version: int
    expires_at: datetime | None
    checked_at: datetime


class KnownTokens:
    def __init__(self, size: int = KNOWN_TOKENS) -> None:
        self._known: LRUCache[str, Known] = LRUCache(maxsize=size)

    async def authenticate(self, database: Database, secret: str, now: datetime) -> tuple[Actor, int]:
        """The token's actor and its organisation's data version; :class:`Unauthenticated` for a bad token."""
        key = tokens.digest(secret)
        known = self._known.get(key)
        fresh = known is not None and now - known.checked_at < tokens.LAST_USED_RESOLUTION
        if known is not None and fresh and (known.expires_at is None or now < known.expires_at):
            version = await database.data_version(known.actor.organization_id)
            if version == known.version:
                return known.actor, version
        async with database.session() as session:
            actor, expires_at = await tokens.authenticate(session, secret, now)
            version = await versions.current(session, actor.organization_id)
        self._known[key] = Known(actor, version, expires_at, now)
        return actor, version
