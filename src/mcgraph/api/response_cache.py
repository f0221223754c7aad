"""The response cache: a query's answer, served again while nothing it read has changed.

What a query answers is a function of the rows of its organisation (the viewer's role
and memberships are rows too), of who asks, and of the day (health, overdue tasks).
So an answer is kept under who asks (user, organisation, role), the document, the
operation's name and the variables, together with the organisation's data version
(:mod:`mcgraph.db.versions`: every committed change to the organisation's rows, from any
process, bumps it) and the day it was computed on; it is served again only while both
are the same. Reading the version is one indexed lookup in the operation's own
transaction, before anything else is read, so an answer is never older than the
version it is kept under, and API processes behind one load balancer each keep their
own answers without telling each other anything.

Not kept: mutations and subscriptions; answers with errors; answers whose resolvers read
the time of day (``Context.now``, ``request(info).now`` for plugins), which would differ
from one second to the next. A served answer still passes the document limits and is
charged to the rate limits as the first one was (validation runs first); it is the
execution that it skips.

Each API process keeps at most ``MCGRAPH_RESPONSE_CACHE_MB`` of answers (least recently
used go first); 0 turns the cache off.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from cachetools import LRUCache
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from mcgraph.db import versions
from mcgraph.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Answer:
    version: int
    day: date
    data: dict[str, Any]
    size: int


class ResponseCache:
    """The answers one process keeps, at most ``megabytes`` of them."""

    def __init__(self, megabytes: float, metrics: Metrics | None = None) -> None:
        self.enabled = megabytes > 0
        self.metrics = metrics
        self._answers: LRUCache[Hashable, Answer] = LRUCache(
            maxsize=max(1, int(megabytes * 2**20)), getsizeof=lambda answer: answer.size
        )

    def find(self, key: Hashable, version: int, day: date) -> dict[str, Any] | None:
        answer = self._answers.get(key)
        found = answer is not None and answer.version == version and answer.day == day
        self._count("hit" if found else "miss")
        return answer.data if found else None

    def keep(self, key: Hashable, version: int, day: date, data: dict[str, Any]) -> None:
        size = len(orjson.dumps(data)) + len(repr(key))
        if size <= self._answers.maxsize:
            self._answers[key] = Answer(version, day, data, size)

    @property
    def size(self) -> int:
        return int(self._answers.currsize)

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.response_cache.labels(outcome).inc()


def answer_key(context: Any, query: str, operation_name: str | None, variables: dict[str, Any] | None) -> Hashable:
    actor = context.actor
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
        key = answer_key(context, execution.query, execution.operation_name, execution.variables)
        day = context.today
        version = context.data_version
        if version is None:  # read with the token over HTTP; over a WebSocket, now
            async with context.read() as session:
                version = await versions.current(session, context.actor.organization_id)
        data = cache.find(key, version, day)
        if data is not None:
            execution.result = GraphQLExecutionResult(data=data, errors=None)
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
            cache.keep(key, version, day, result.data)
