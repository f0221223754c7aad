"""Idempotency keys: a mutation sent again with the same ``Idempotency-Key`` has one effect.

A POST whose operation is a mutation, sent with a valid token and an
``Idempotency-Key`` header, is answered once per key of that user in that organisation:

* The first request claims the key (a row of :class:`IdempotencyKey`, committed in a
  short transaction of its own before anything runs), runs normally, and stores its
  answer: status, content type and body.
* The same key with the same body (compared by the SHA-256 of its canonical JSON) gets
  that answer again, with ``Idempotent-Replayed: true``. A request arriving while the
  first still runs waits for its answer, polling until a deadline (then 409 CONFLICT).
* The same key with another body is refused: 422 ``IDEMPOTENCY_KEY_REUSED``.
* When the first request fails with an internal error (or never answers), the key is
  released, so that a retry runs. A claim left unanswered longer than ``stale_seconds``
  is taken for the claim of a server that died, and taken over.
* Keys are kept ``MCGRAPH_IDEMPOTENCY_TTL_SECONDS``; a claim deletes the
  organisation's expired ones.

Queries, requests without a token and requests with a token that is not valid ignore
the header. A key is 1 to 255 printable ASCII characters (else 400 ``BAD_USER_INPUT``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from mcgraph.api.http import Refusal
from mcgraph.db.engine import Database
from mcgraph.db.models import IdempotencyKey
from mcgraph.domain.clock import Clock
from mcgraph.domain.errors import ErrorCode
from mcgraph.domain.permissions import Actor

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
BODY = "mcgraph.body"  # scope key: the POST body, as the view read it
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a key lives: its organisation, user and text, and the request it stands for."""

    organization_id: int
    user_id: int
    key: str
    request_hash: str


class Idempotency:
    """Answers requests that carry an ``Idempotency-Key``; the others pass straight through."""

    # how long a request waits for the answer of the first one with its key, then 409
    wait_seconds = 30.0
    poll_seconds = 0.05
    # an unanswered claim this old is taken for one whose server died
    stale_seconds = 120.0

    def __init__(self, database: Database, clock: Clock, ttl_seconds: int, *, max_tokens: int) -> None:
        self.database = database
        self.clock = clock
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_tokens = max_tokens

    async def respond(
        self,
        request: Request,
        identify: Callable[[], Awaitable[Actor | None]],
        run: Callable[[], Awaitable[Response]],
    ) -> Response:
        """The answer to ``request``: ``run()``'s, or the one stored under its key."""
        keys = request.headers.getlist(HEADER)
        body = request.scope.get(BODY)
        if not keys or request.method != "POST" or body is None or not is_mutation(body, self.max_tokens):
            return await run()
        actor = await identify()
        if actor is None:
            return await run()
        slot = Slot(actor.organization_id, actor.user_id, checked_key(keys), request_hash(body))
        deadline = time.monotonic() + self.wait_seconds
        while True:
            claim = await self._claim(slot)
            if claim is not None:
                return await self._answer_first(slot.organization_id, claim, run)
            replay = await self._wait_for_answer(slot, deadline)
            if replay is not None:
                return replay
            if time.monotonic() > deadline:  # the claim keeps failing, and no row says why
                raise still_running()

    async def _claim(self, slot: Slot) -> int | None:
        """The id of a new claim on the key; None when someone holds it already."""
        now = self.clock.now()
        try:
            async with self.database.transaction(slot.organization_id, bookkeeping=True) as session:
                await session.execute(
                    delete(IdempotencyKey)
                    .where(IdempotencyKey.organization_id == slot.organization_id)
                    .where(IdempotencyKey.created_at <= now - self.ttl)
                )
                row = IdempotencyKey(
                    organization_id=slot.organization_id,
                    user_id=slot.user_id,
                    key=slot.key,
                    request_hash=slot.request_hash,
                    created_at=now,
                )
                session.add(row)
                await session.flush()
                return row.id
        except IntegrityError:
            return None

    async def _wait_for_answer(self, slot: Slot, deadline: float) -> Response | None:
        """The stored answer for ``slot``'s key; None once the key is free to claim again."""
        while True:
            row = await self._find(slot)
            if row is None:
                return None
            if row.request_hash != slot.request_hash:
                raise Refusal(
                    422,
                    "This Idempotency-Key was used for another request; use a new key for a new request.",
                    code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                )
            if row.completed_at is not None:
                return replay(row)
            if row.created_at <= self.clock.now() - timedelta(seconds=self.stale_seconds):
                await self._release(slot.organization_id, row.id)
                return None
            if time.monotonic() > deadline:
                raise still_running()
            await asyncio.sleep(self.poll_seconds)

    async def _find(self, slot: Slot) -> IdempotencyKey | None:
        """The key's row, unless it expired."""
        async with self.database.session(slot.organization_id) as session:
            return await session.scalar(
                select(IdempotencyKey)
                .where(IdempotencyKey.organization_id == slot.organization_id)
                .where(IdempotencyKey.user_id == slot.user_id)
                .where(IdempotencyKey.key == slot.key)
                .where(IdempotencyKey.created_at > self.clock.now() - self.ttl)
            )

    async def _answer_first(self, organization_id: int, claim: int, run: Callable[[], Awaitable[Response]]) -> Response:
        """Run the request that claimed the key; store its answer, or release the key."""
        try:
            response = await run()
        except BaseException:
            await self._release(organization_id, claim)
            raise
        answer = storable(response)
        if answer is None:
            await self._release(organization_id, claim)
            return response
        status_code, content_type, text = answer
        async with self.database.transaction(organization_id, bookkeeping=True) as session:
            await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.id == claim)
                .values(status_code=status_code, content_type=content_type, response_body=text, completed_at=self.clock.now())
            )
        return response

    async def _release(self, organization_id: int, claim: int) -> None:
        """Free a key whose claim has no answer (an answer stored meanwhile stays)."""
        async with self.database.transaction(organization_id, bookkeeping=True) as session:
            await session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.id == claim).where(IdempotencyKey.completed_at.is_(None))
            )


def checked_key(values: list[str]) -> str:
    """The one key of a request; 400 BAD_USER_INPUT unless it is 1-255 printable characters."""
    if len(values) != 1:
        raise Refusal(400, "Send one Idempotency-Key header, not several.", code=ErrorCode.BAD_USER_INPUT)
    key = values[0]
    if not 1 <= len(key) <= MAX_KEY_LENGTH or key.isspace() or not all(" " <= char <= "~" for char in key):
        raise Refusal(
            400,
            f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            code=ErrorCode.BAD_USER_INPUT,
        )
    return key


def still_running() -> Refusal:
    return Refusal(409, "A request with this Idempotency-Key is still running; retry later.", code=ErrorCode.CONFLICT)


def request_hash(body: bytes) -> str:
    """The SHA-256 of the body's canonical JSON: key order and spacing do not count."""
    canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_mutation(body: bytes, max_tokens: int) -> bool:
    """Whether the body's operation is a mutation; a body that does not say is not one."""
    data = json.loads(body)
    query, name = data.get("query"), data.get("operationName")
    if not isinstance(query, str) or not isinstance(name, str | None):
        return False
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, name)
    return operation is not None and operation.operation == OperationType.MUTATION


def storable(response: Response) -> tuple[int, str, str] | None:
    """``(status, content type, body)`` of an answer worth replaying; None for a failure.

    An internal failure (a 5xx, or an ``INTERNAL`` error in a GraphQL answer) is not
    kept: the request may succeed when retried.
    """
    body = getattr(response, "body", None)
    if not isinstance(body, bytes) or response.status_code >= 500:
        return None
    try:
        text = body.decode("utf-8")
        errors = json.loads(text).get("errors") or []
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None
    if any(isinstance(error, dict) and (error.get("extensions") or {}).get("code") == ErrorCode.INTERNAL for error in errors):
        return None
    return response.status_code, response.headers.get("content-type", "application/json"), text


def replay(row: IdempotencyKey) -> Response:
    """The stored answer, marked as replayed."""
    return Response(
        (row.response_body or "").encode("utf-8"),
        status_code=row.status_code or 200,
        headers={"content-type": row.content_type or "application/json", REPLAYED: "true"},
    )
