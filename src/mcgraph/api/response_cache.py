"""The response cache: a query's answer, served again while nothing it read has changed.

What a query answers is a function of the rows of its organisation (the viewer's role
and memberships are rows too), of who asks, and of the day (health, overdue tasks).
So an answer is kept under who asks (user, organisation, role), the document, the
operation's name and the variables, together with the organisation's data version
(:mod:`mcgraph.db.versions`: every committed change to the organisation's rows, from any
process, bumps it) and the day it was computed on; it is served again only while both
are the same. The version is read once per request, with the token (over a WebSocket,
by each operation), before any of the data, so an answer is never older than the
version it is kept under, and API processes behind one load balancer each keep their
own answers without telling each other anything.

Not kept: mutations and subscriptions; answers with errors; answers whose resolvers read
the time of day (``Context.now``, ``request(info).now`` for plugins), which would differ
from one second to the next.

Over HTTP, a POST whose answer is kept is answered by :func:`serve_kept` before Strawberry
sees it: the kept bytes, charged to the rate limits at the cost the first answer was
(the document validated then, under the same limits), counted and logged like any
request. Elsewhere (GET, WebSocket) :class:`ResponseCacheExtension` serves it in place of
the execution.

Each API process keeps at most ``MCGRAPH_RESPONSE_CACHE_MB`` of answers (least recently
used go first); 0 turns the cache off.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from cachetools import LRUCache
from graphql import ExecutionResult as GraphQLExecutionResult
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from mcgraph.api.http import GRAPHQL_RESPONSE_JSON
from mcgraph.api.idempotency import BODY
from mcgraph.api.limits import REFUSED, rate_key
from mcgraph.api.observe import OBSERVED, write_line
from mcgraph.db import versions
from mcgraph.domain.permissions import Actor
from mcgraph.metrics import Metrics


# request scope key: the answer's key, as serve_kept made it (the extension keeps a new answer under it)
KEY = "mcgraph.answer_key"


@dataclass(frozen=True, slots=True)
class Answer:
    version: int
    day: date
    data: dict[str, Any]
    body: bytes
    """``{"data": ...}`` as sent."""
    cost: int
    """What the query was charged to the rate limits."""
    operation: str | None
    """Its operation's name (the document's, when the request named none)."""

    @property
    def size(self) -> int:
        return len(self.body) * 2  # the bytes, and about as much again for the data


class ResponseCache:
    """The answers one process keeps, at most ``megabytes`` of them."""

    def __init__(self, megabytes: float, metrics: Metrics | None = None) -> None:
        self.enabled = megabytes > 0
        self.metrics = metrics
        self._answers: LRUCache[Hashable, Answer] = LRUCache(
            maxsize=max(1, int(megabytes * 2**20)), getsizeof=lambda answer: answer.size
        )

    def find(self, key: Hashable, version: int, day: date, *, count_miss: bool = True) -> Answer | None:
        """The answer kept under ``key`` for this version and day."""
        answer = self._answers.get(key)
        found = answer is not None and answer.version == version and answer.day == day
        if found or count_miss:
            self._count("hit" if found else "miss")
        return answer if found else None

    def keep(self, key: Hashable, version: int, day: date, data: dict[str, Any], cost: int, operation: str | None) -> None:
        answer = Answer(version, day, data, orjson.dumps({"data": data}), cost, operation)
        if answer.size <= self._answers.maxsize:
            self._answers[key] = answer

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.response_cache.labels(outcome).inc()


def answer_key(actor: Actor, query: str, operation_name: str | None, variables: Any) -> Hashable:
    return (
        actor.organization_id,
        actor.user_id,
        actor.role.value,
        operation_name,
        query,
        orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS),
    )


class ResponseCacheExtension(SchemaExtension):
    """Serves a query's kept answer instead of executing it, and keeps new answers.

    List it after the limits (a kept answer is validated and charged like any) and
    before the time limit (a served answer does not wait on it).
    """

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        execution = self.execution_context
        context = execution.context
        runtime = getattr(context, "runtime", None)
        cache: ResponseCache | None = getattr(runtime, "response_cache", None)
        if (
            cache is None
            or not cache.enabled
            or getattr(context, "actor", None) is None
            or execution.operation_type.value != "query"
            or not execution.query
        ):
            yield
            return
        request = getattr(context, "request", None)
        scope = request.scope if isinstance(request, Request) else {}
        key = scope.get(KEY) or answer_key(context.actor, execution.query, execution.operation_name, execution.variables)
        day = context.today
        version = context.data_version
        if version is None:  # read with the token over HTTP; over a WebSocket, now
            async with context.read() as session:
                version = await versions.current(session, context.actor.organization_id)
        answer = cache.find(key, version, day)
        if answer is not None:
            execution.result = GraphQLExecutionResult(data=answer.data, errors=None)
            yield
            return
        yield
        result = execution.result
        if (
            isinstance(result, GraphQLExecutionResult)
            and not result.errors
            and isinstance(result.data, dict)
            and context.cacheable
        ):
            cache.keep(key, version, day, result.data, context.cost, execution.operation_name)


async def serve_kept(
    runtime: Any, request: Request, media_type: str, authenticated: Callable[[], Awaitable[tuple[Actor | None, Any, int | None]]]
) -> Response | None:
    """The kept answer to a POSTed query, sent without executing it; None to execute it."""
    cache: ResponseCache = runtime.response_cache
    body = request.scope.get(BODY)
    if not cache.enabled or body is None:
        return None
    started = time.perf_counter()
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    query, variables, operation = (payload.get(k) for k in ("query", "variables", "operationName")) if isinstance(payload, dict) else (None,) * 3
    if not isinstance(query, str) or not (operation is None or isinstance(operation, str)):
        return None
    actor, _, version = await authenticated()
    if actor is None or version is None:
        return None
    key = request.scope[KEY] = answer_key(actor, query, operation, variables)
    answer = cache.find(key, version, runtime.clock.now().date(), count_miss=False)
    if answer is None:
        return None
    if runtime.rate_limits.enabled:
        refused = await runtime.rate_limits.charge(rate_key(actor, request), answer.cost)
        if refused is not None:
            request.scope[REFUSED] = refused
            return None
    seconds = time.perf_counter() - started
    request.scope[OBSERVED] = True
    runtime.metrics.observe_request(answer.operation, "ok", seconds)
    write_line(
        request_id=request.scope.get("request_id", ""), transport="http", operation=answer.operation,
        operation_type="query", outcome="ok", seconds=seconds, actor=actor,
    )
    charset = "; charset=utf-8" if media_type == GRAPHQL_RESPONSE_JSON else ""  # as the view sends it
    return Response(answer.body, headers={"content-type": media_type + charset})
