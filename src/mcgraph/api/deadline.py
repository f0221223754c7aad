"""The execution-time limit: a query or mutation still running after
``MCGRAPH_MAX_EXECUTION_SECONDS`` is stopped and answered with TIMEOUT.

:class:`TimeLimitExtension` cancels the operation's execution at its deadline. What it
had written is rolled back with its transaction, so an answer of TIMEOUT means that
nothing was changed: once a mutation starts committing (:func:`before_commit`, called by
the context's write block), its deadline is lifted and it runs to its end, and a
mutation whose deadline passed before it committed never commits.

With ``application/graphql-response+json`` the status is 503; the error carries the
request id. Subscriptions are not limited: they last as long as their client listens.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextvars import ContextVar

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from mcgraph.domain.errors import ErrorCode

_deadline: ContextVar[asyncio.Timeout | None] = ContextVar("mcgraph_deadline", default=None)


class DeadlinePassed(Exception):
    """The operation's deadline passed before it could commit."""


def before_commit() -> None:
    """Lift the running operation's deadline before its commit, or refuse to commit past it."""
    deadline = _deadline.get()
    if deadline is None:
        return
    if deadline.expired():
        raise DeadlinePassed("the operation's time limit passed before it committed")
    deadline.reschedule(None)


class TimeLimitExtension(SchemaExtension):
    """Stops a query or mutation at ``MCGRAPH_MAX_EXECUTION_SECONDS``."""

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        execution = self.execution_context
        settings = getattr(getattr(execution.context, "runtime", None), "settings", None)
        seconds = settings.max_execution_seconds if settings is not None else 0
        if not seconds or execution.operation_type.value == "subscription":
            yield
            return
        try:
            async with asyncio.timeout(seconds) as deadline:
                token = _deadline.set(deadline)
                try:
                    yield
                finally:
                    _deadline.reset(token)
        except (TimeoutError, DeadlinePassed):
            raise GraphQLError(
                f"The operation ran longer than the limit of {seconds:g} s (MCGRAPH_MAX_EXECUTION_SECONDS) "
                "and was stopped; nothing it did was kept. Ask for less (smaller pages, fewer fields) or try again later.",
                extensions={"code": ErrorCode.TIMEOUT.value, "requestId": getattr(execution.context, "request_id", "")},
            ) from None
