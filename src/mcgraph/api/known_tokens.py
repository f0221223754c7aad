"""Bearer tokens this process has checked, trusted again while nothing about them changed.

Checking a token reads its row and its membership. What they say changes only by a
write to a token, a membership, a user or an organisation (the token revoked, its
member's role changed or the member removed), and every such write bumps the
organisation's access version (:mod:`mcgraph.db.versions`); other writes, however
many, leave it alone. So a token once found is trusted again, with one read of the
versions instead of its rows, while the access version is the same, the token has not
expired, and its last use was written less than ``LAST_USED_RESOLUTION`` ago (after that
it is checked in full, which writes its last use). The versions it is trusted by are
read before its rows, so a change committed while they are read shows: a token seen for
the first time is checked in full twice. The data version read with them, before
anything else of the request, is the one the response cache keys its answers by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cachetools import LRUCache

from mcgraph.db import Database
from mcgraph.domain import tokens
from mcgraph.domain.permissions import Actor

KNOWN_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class Known:
    actor: Actor
    access: int | None  # the organisation's access version read before the token was checked
    expires_at: datetime | None
    checked_at: datetime


class KnownTokens:
    def __init__(self, size: int = KNOWN_TOKENS) -> None:
        self._known: LRUCache[str, Known] = LRUCache(maxsize=size)

    async def authenticate(self, database: Database, secret: str, now: datetime) -> tuple[Actor, int]:
        """The token's actor and its organisation's data version; :class:`Unauthenticated` for a bad token."""
        known, version = await self.check(database, secret, now)
        return known.actor, version

    async def check(self, database: Database, secret: str, now: datetime) -> tuple[Known, int]:
        """What is known of a good token now (its actor, expiry and the access version it was
        checked at) and its organisation's data version; :class:`Unauthenticated` for a bad token."""
        key = tokens.digest(secret)
        known = self._known.get(key)
        before: tuple[int, int] | None = None
        if known is not None:
            before = await database.versions(known.actor.organization_id)
            fresh = now - known.checked_at < tokens.LAST_USED_RESOLUTION
            if fresh and (known.expires_at is None or now < known.expires_at) and before[1] == known.access:
                return known, before[0]
        async with database.session() as session:
            actor, expires_at = await tokens.authenticate(session, secret, now)
        access: int | None
        if before is not None and known is not None and known.actor.organization_id == actor.organization_id:
            version, access = before  # read before the token's rows: a change after them shows
        else:
            # read after the rows, a change in between would not show: trusted once checked again
            version, _ = await database.versions(actor.organization_id)
            access = None
        known = Known(actor, access, expires_at, now)
        self._known[key] = known
        return known, version
