"""Open WebSockets' credentials, checked again for as long as the socket lives.

A socket is authenticated by the token of its ``connection_init``; what that token
allows can change while the socket stays open: the token is revoked or expires, its
member is removed or given another role. So a socket's token is checked again

* before every operation the socket starts (a query, a mutation, a subscription);
* before every subscription result is handed to the sockets of an organisation, when
  that organisation's access version (:mod:`mcgraph.db.versions`, bumped by every change
  to tokens, memberships, users and organisations) moved since the socket was last
  checked, or when one of its sockets' tokens has expired by then;
* every ``MCGRAPH_WS_CREDENTIAL_CHECK_SECONDS`` for every open socket, the same way, so
  that an idle socket is closed too (a change made by another process, or by
  ``mcgraph token revoke``, is seen there; nothing bumps a version when time passes).

A check is one read of the organisation's versions while nothing changed
(:class:`mcgraph.api.known_tokens.KnownTokens`). A token that no longer authenticates
(revoked, expired, its member removed) closes the socket with 4401; a token that still
authenticates but with another role closes it with 4403, since the socket's running
subscriptions were started, and are shared, with the old role: the client reconnects
and gets the new one. Results queued for a socket that closes this way are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mcgraph.api.known_tokens import KnownTokens
from mcgraph.domain.errors import Unauthenticated
from mcgraph.domain.permissions import Actor
from mcgraph.logs import get_logger
from mcgraph.runtime import Runtime

log = get_logger("mcgraph.ws")

NO_LONGER_VALID = 4401  # the token no longer authenticates: revoked, expired, its member removed
NO_LONGER_ALLOWED = 4403  # the token authenticates with other rights (another role)


def bearer_secret(connection_params: dict[str, Any] | None) -> str | None:
    """The token of a ``connection_init`` payload ``{"authorization": "Bearer <token>"}``."""
    header = (connection_params or {}).get("authorization") or (connection_params or {}).get("Authorization")
    if not isinstance(header, str):
        return None
    scheme, _, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


@dataclass(eq=False)
class Credential:
    """What one socket was opened with, and what its last check found."""

    secret: str
    actor: Actor
    expires_at: datetime | None = None
    access: int | None = None  # the access version the token was last checked at (None: check again)


class Guarded(Protocol):
    credential: Credential | None

    def revoke(self, code: int, reason: str) -> None:
        """Drop what is queued, send nothing more, close with ``code``."""


class SocketCredentials:
    """The open sockets of one app, by organisation, and their checks."""

    def __init__(self, runtime: Runtime, known_tokens: KnownTokens) -> None:
        self.runtime = runtime
        self.known_tokens = known_tokens
        self._sockets: dict[int, set[Guarded]] = defaultdict(set)
        # per organisation: the access version at which every socket was last found good
        self._settled: dict[int, int] = {}
        # per organisation: when the first of its sockets' tokens expires
        self._soonest: dict[int, datetime] = {}
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._watch: asyncio.Task[None] | None = None

    def count(self) -> int:
        return sum(len(group) for group in self._sockets.values())

    async def enroll(self, sock: Guarded, actor: Actor, secret: str) -> bool:
        """Watch an acknowledged socket; False (and the socket closed) when its token fails at once."""
        sock.credential = Credential(secret, actor)
        if not await self.check(sock):
            return False
        organization_id = actor.organization_id
        self._sockets[organization_id].add(sock)
        self._settled.pop(organization_id, None)
        self._expiring(organization_id, sock.credential.expires_at)
        interval = self.runtime.settings.ws_credential_check_seconds
        if interval > 0 and (self._watch is None or self._watch.done()):
            self._watch = asyncio.get_running_loop().create_task(self._watch_all(interval))
        return True

    def leave(self, sock: Guarded) -> None:
        credential = sock.credential
        if credential is None:
            return
        organization_id = credential.actor.organization_id
        group = self._sockets.get(organization_id)
        if group is not None:
            group.discard(sock)
            if not group:
                del self._sockets[organization_id]
                self._settled.pop(organization_id, None)
                self._soonest.pop(organization_id, None)
                self._locks.pop(organization_id, None)

    async def check(self, sock: Guarded) -> bool:
        """Check one socket's token now; False (and the socket closed) when it no longer stands."""
        credential = sock.credential
        if credential is None:
            return False
        try:
            known, _ = await self.known_tokens.check(self.runtime.database, credential.secret, self.runtime.clock.now())
        except Unauthenticated as problem:
            self._close(sock, NO_LONGER_VALID, problem.message)
            return False
        if (known.actor.organization_id, known.actor.role) != (credential.actor.organization_id, credential.actor.role):
            self._close(sock, NO_LONGER_ALLOWED, "The token's role changed: reconnect to use the new one.")
            return False
        credential.expires_at, credential.access = known.expires_at, known.access
        return True

    async def refresh(self, organization_id: int) -> None:
        """Check the organisation's sockets whose token may have changed: those checked at
        another access version than the current one, and those whose token has expired."""
        group = self._sockets.get(organization_id)
        if not group:
            return
        async with self._locks[organization_id]:
            _, access = await self.runtime.database.versions(organization_id)
            now = self.runtime.clock.now()
            soonest = self._soonest.get(organization_id)
            if self._settled.get(organization_id) == access and (soonest is None or now < soonest):
                return
            settled = True
            self._soonest.pop(organization_id, None)
            for sock in list(group):
                credential = sock.credential
                assert credential is not None
                due = credential.access != access or (credential.expires_at is not None and credential.expires_at <= now)
                if due and not await self.check(sock):
                    continue
                settled = settled and credential.access == access
                self._expiring(organization_id, credential.expires_at)
            if settled:
                self._settled[organization_id] = access
            else:
                self._settled.pop(organization_id, None)

    def _expiring(self, organization_id: int, expires_at: datetime | None) -> None:
        soonest = self._soonest.get(organization_id)
        if expires_at is not None and (soonest is None or expires_at < soonest):
            self._soonest[organization_id] = expires_at

    def _close(self, sock: Guarded, code: int, reason: str) -> None:
        log.info("websocket credential no longer stands: closed", code=code, reason=reason)
        self.leave(sock)
        sock.revoke(code, reason)

    async def _watch_all(self, interval: float) -> None:
        while self._sockets:
            await asyncio.sleep(interval)
            for organization_id in list(self._sockets):
                try:
                    await self.refresh(organization_id)
                except Exception:
                    log.exception("checking open sockets' tokens failed; checked again later", organization_id=organization_id)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
