"""What each GraphQL request leaves behind: its metrics and one structured log line.

:class:`ObserveExtension` times every query and mutation (over HTTP or a WebSocket) from
parsing to result, sorts it into an outcome, counts it in the app's
:class:`~mcgraph.metrics.Metrics` and writes one ``graphql request`` log line with the
request id, operation, duration, organisation, user and outcome. Subscriptions are
counted by the WebSocket gauges instead (see :mod:`mcgraph.api.ws`).

:class:`ObservedHTTP` wraps the GraphQL view, so that an HTTP request refused before
any operation ran (wrong method, media type, size) is counted and logged as well.

Outcomes:

* ``ok``: no error, and no ``userErrors`` in a mutation's payload;
* ``user_error``: the operation ran, and answered with an error of the client's making
  (FORBIDDEN, NOT_FOUND, CONFLICT, ...) or with ``userErrors``;
* ``refused``: nothing executed (a document that does not parse or validate, a limit,
  a bad variable, a mutation over GET, an HTTP-level refusal);
* ``error``: an internal error (code INTERNAL);
* ``timeout``: stopped at ``MCGRAPH_MAX_EXECUTION_SECONDS`` (code TIMEOUT);
* ``cancelled``: the client went away before the result.

Nothing from the request's headers, variables or result is logged, so neither a token
nor a secret a mutation returns can reach the logs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from graphql import OperationType
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)

from mcgraph.domain.errors import ErrorCode
from mcgraph.logs import get_logger
from mcgraph.metrics import NO_OPERATION

log = get_logger("mcgraph.request")

OBSERVED = "mcgraph.observed"  # set in the ASGI scope once a request's operation was observed
INTERNAL = "INTERNAL"


def outcome_of(result: Any) -> str:
    """The outcome of an operation's (shaped) result."""
    if result is None:
        return "error"
    errors = result.errors or []
    if any(_code(error) == INTERNAL for error in errors):
        return "error"
    if errors and result.data is None and all(error.path is None for error in errors):
        return "refused"
    if errors or _has_user_errors(result.data):
        return "user_error"
    return "ok"


def outcome_of_exception(error: BaseException) -> str:
    """The outcome of an operation that raised instead of answering."""
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    if _code(error) == ErrorCode.TIMEOUT:
        return "timeout"
    if isinstance(error, (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)):
        return "refused"
    return "error"


def _code(error: Any) -> str | None:
    return (getattr(error, "extensions", None) or {}).get("code")


def _has_user_errors(data: Any) -> bool:
    return isinstance(data, dict) and any(isinstance(value, dict) and value.get("userErrors") for value in data.values())


def write_line(
    *,
    request_id: str,
    transport: str,
    operation: str | None,
    operation_type: str | None,
    outcome: str,
    seconds: float,
    actor: Any = None,
    **more: Any,
) -> None:
    """The one log line of a GraphQL request."""
    fields: dict[str, Any] = {
        "request_id": request_id,
        "transport": transport,
        "operation": operation[:100] if operation else None,
        "operation_type": operation_type,
        "outcome": outcome,
        "duration_ms": round(seconds * 1000, 2),
    }
    if actor is not None:
        fields["organization_id"] = actor.organization_id
        fields["user_id"] = actor.user_id
    fields.update(more)
    if outcome == "error":
        log.warning("graphql request", **fields)
    else:
        log.info("graphql request", **fields)


class ObserveExtension(SchemaExtension):
    """Times each query and mutation, counts it and writes its log line.

    List it first among the schema's extensions: it then starts before the others and
    ends after them, and sees the errors as the client gets them.
    """

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        started = time.perf_counter()
        outcome: str | None = None
        try:
            yield
        except BaseException as error:
            outcome = outcome_of_exception(error)
            raise
        finally:
            try:
                self._record(outcome, time.perf_counter() - started)
            except Exception:  # observing must never fail the request
                log.exception("recording a GraphQL request failed")

    def _record(self, outcome: str | None, seconds: float) -> None:
        execution = self.execution_context
        operation_type = _operation_type(execution)
        if operation_type == OperationType.SUBSCRIPTION.value:
            return
        if outcome is None:
            outcome = outcome_of(execution.result)
        context = execution.context
        runtime = getattr(context, "runtime", None)
        if runtime is None:
            return  # executed outside an app (a bare schema, in a test)
        request = getattr(context, "request", None)
        scope = getattr(request, "scope", None)
        if isinstance(scope, dict):
            scope[OBSERVED] = True
        operation = execution.operation_name
        runtime.metrics.observe_request(operation, outcome, seconds)
        codes = sorted({code for error in (getattr(execution.result, "errors", None) or []) if (code := _code(error))})
        write_line(
            request_id=getattr(context, "request_id", ""),
            transport="ws" if isinstance(request, WebSocket) else "http",
            operation=operation,
            operation_type=operation_type,
            outcome=outcome,
            seconds=seconds,
            actor=getattr(context, "actor", None),
            **({"error_codes": codes} if codes else {}),
        )


def _operation_type(execution: Any) -> str | None:
    try:
        return execution.operation_type.value
    except Exception:  # noqa: BLE001 - no document (it did not parse), or no such operation
        return None


class ObservedHTTP:
    """The GraphQL view's HTTP side, with requests refused before any operation counted too."""

    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, noting_status)
        if status < 400 or scope.get(OBSERVED):
            return  # served GraphiQL, or an operation the extension observed
        seconds = time.perf_counter() - started
        outcome = "error" if status >= 500 else "refused"
        self.runtime.metrics.observe_request(None, outcome, seconds, label=NO_OPERATION)
        write_line(
            request_id=scope.get("request_id", ""),
            transport="http",
            operation=None,
            operation_type=None,
            outcome=outcome,
            seconds=seconds,
            status=status,
        )
