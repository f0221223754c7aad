"""ASGI middleware: a request id for every HTTP request and WebSocket connection, its
access line, and the last word on an error nothing else caught.

The id comes from the client's ``X-Request-ID`` when it is a sane token, else a new one.
It is bound into every log line written meanwhile and returned in ``X-Request-ID``.

Each request writes one ``access`` line (method, path without its query string, status,
duration, client address): a GET's query string holds the whole query and its variables,
which are the client's data, not the operator's. An exception that reaches this far is
logged here, with its traceback and the request id, and answered with a JSON 500 carrying
the same id (a WebSocket is closed with 1011); it goes no further, so uvicorn never
writes it again without the id.
"""

from __future__ import annotations

import re
import time
import uuid

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcgraph.logs import get_logger

_SANE = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
INTERNAL_MESSAGE = "Internal server error. Quote the request id when reporting it."

log = get_logger("mcgraph.access")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SANE.match(given) else uuid.uuid4().hex
        scope["request_id"] = request_id
        status: int | None = None
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            elif kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close" and status is None:
                status = 403
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception("unhandled error", method=scope.get("method", "WEBSOCKET"), path=scope["path"])
                status = await _answer_failure(scope, send, request_id, status)
            finally:
                log.info(
                    "access",
                    method=scope.get("method", "WEBSOCKET"),
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    client=scope["client"][0] if scope.get("client") else None,
                )


async def _answer_failure(scope: Scope, send: Send, request_id: str, status: int | None) -> int | None:
    """Answer an unexpected failure if nothing was sent yet (else close); the status sent."""
    try:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1011} if status == 101 else {"type": "websocket.close"})
            return status if status == 101 else 403
        if status is not None:
            return status  # the answer has begun: the server cuts the connection
        body = orjson.dumps(
            {"errors": [{"message": INTERNAL_MESSAGE, "extensions": {"code": "INTERNAL", "requestId": request_id}}]}
        )
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return 500
    except Exception:  # the client is gone, or the socket closed already
        return status
