"""GraphQL over HTTP: what a request must look like before the view executes it.

Follows https://graphql.github.io/graphql-over-http/draft/:

* ``GET`` (queries only) and ``POST``; any other method is 405 with ``Allow``.
* ``POST`` bodies must be ``Content-Type: application/json`` (415 otherwise, so that
  browsers cannot send one cross-site without a CORS preflight), valid JSON and one
  JSON object: batching (a JSON array) is not supported, 400.
* JSON (a ``POST`` body, ``GET``'s ``variables`` and ``extensions``, and, through the
  view, every WebSocket message) is read by :func:`decode_json`: strict RFC 8259 (no
  lone surrogate in a string, no ``NaN`` or a number that overflows a double; an integer
  beyond 64 bits is read as a float) and nested at most ``MCGRAPH_MAX_JSON_DEPTH`` arrays
  and objects deep; anything else is 400 ``BAD_REQUEST`` before a parser can recurse into it.
* Bodies larger than ``MCGRAPH_MAX_REQUEST_BYTES`` are 413, judged on
  ``Content-Length`` and counted while reading; ``GET`` query strings longer than
  ``MCGRAPH_MAX_QUERY_STRING_BYTES`` are 414.
* The response's media type follows ``Accept``: ``application/graphql-response+json``
  when the client prefers it (request errors are then 400 with no ``data``), else
  ``application/json`` (everything GraphQL answered is 200, as older clients expect);
  neither acceptable: 406.

Every refusal is a JSON body ``{"errors": [{"message", "extensions": {"code"}}]}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "REQUEST_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class Refusal(Exception):
    """A request refused before (or instead of) executing it."""

    def __init__(self, status: int, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "BAD_REQUEST")
        self.headers = dict(headers or {})

    def response(self, media_type: str | None) -> Response:
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        return Response(
            json.dumps(body, separators=(",", ":")),
            status_code=self.status,
            media_type=media_type or JSON,
            headers=self.headers,
        )


def _media_ranges(accept: str) -> list[tuple[str, str, float]]:
    ranges = []
    for part in accept.split(","):
        kind, *params = (piece.strip() for piece in part.split(";"))
        if "/" not in kind:
            continue
        main, _, sub = kind.lower().partition("/")
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        ranges.append((main, sub, q))
    return ranges


def _quality(ranges: list[tuple[str, str, float]], media_type: str) -> tuple[float, int]:
    """``(q, specificity)`` of ``media_type`` under the most specific matching range."""
    main, _, sub = media_type.partition("/")
    best: tuple[float, int] = (0.0, -1)
    for range_main, range_sub, q in ranges:
        if (range_main, range_sub) == (main, sub):
            specificity = 2
        elif (range_main, range_sub) == (main, "*"):
            specificity = 1
        elif (range_main, range_sub) == ("*", "*"):
            specificity = 0
        else:
            continue
        if specificity > best[1]:
            best = (q, specificity)
    return best


def negotiate(accept: str | None) -> str | None:
    """The response media type for this ``Accept``; None when neither is acceptable.

    No (or an empty) ``Accept`` means ``application/json``. On equal quality the type
    named more specifically wins, and ``application/json`` wins a tie (``*/*``).
    """
    if not accept or not accept.strip():
        return JSON
    ranges = _media_ranges(accept)
    graphql_q, graphql_specificity = _quality(ranges, GRAPHQL_RESPONSE_JSON)
    json_q, json_specificity = _quality(ranges, JSON)
    if graphql_q <= 0 and json_q <= 0:
        return None
    if (graphql_q, graphql_specificity) > (json_q, json_specificity):
        return GRAPHQL_RESPONSE_JSON
    return JSON if json_q > 0 else GRAPHQL_RESPONSE_JSON


def check_content_type(content_type: str | None) -> None:
    """Only ``application/json`` (UTF-8) POST bodies: form, multipart and text bodies are CSRF-able."""
    kind, *params = (piece.strip() for piece in (content_type or "").split(";"))
    if kind.lower() != JSON:
        shown = kind or "none"
        raise Refusal(415, f"A POST body must have Content-Type: application/json (got {shown}).")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise Refusal(415, "A POST body must be encoded in UTF-8.")


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    headers = dict(scope["headers"])
    declared = headers.get(b"content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise Refusal(400, "The Content-Length header is not a number.") from None
        if length > limit:
            raise Refusal(413, f"The request body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, "The client went away before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class TooDeep(json.JSONDecodeError):
    """JSON nested deeper than allowed (a ``JSONDecodeError``, so that every reader refuses it as bad JSON)."""

    def __init__(self, document: str | bytes, limit: int) -> None:
        text = document if isinstance(document, str) else document.decode("utf-8", "replace")
        super().__init__(f"arrays and objects are nested more than {limit} deep (MCGRAPH_MAX_JSON_DEPTH)", text, 0)


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` holds arrays and objects (empty ones too) nested more than ``limit`` deep.

    Walked level by level, without recursion.
    """
    level = [value]
    for _ in range(limit + 1):
        containers = [found for found in level if isinstance(found, (dict, list))]
        if not containers:
            return False
        level = [item for found in containers for item in (found.values() if isinstance(found, dict) else found)]
    return True


def decode_json(document: str | bytes, max_depth: int) -> Any:
    """Strict JSON nested at most ``max_depth`` deep, else a ``json.JSONDecodeError``.

    orjson refuses lone surrogates, ``NaN`` and infinities, and stops at 1024 levels by
    itself (the standard library's parser recurses, and fails with a RecursionError near
    1000); the nesting is then measured on the value.
    """
    value = orjson.loads(document)
    if nesting_exceeds(value, max_depth):
        raise TooDeep(document, max_depth)
    return value


def check_json_body(body: bytes, max_depth: int) -> None:
    """One GraphQL request: a JSON object. Batches (arrays) are not supported."""
    try:
        data = decode_json(body.decode("utf-8"), max_depth)
    except UnicodeDecodeError:
        raise Refusal(400, "The request body is not valid UTF-8.") from None
    except ValueError as problem:
        raise Refusal(400, f"The request body is not valid JSON: {problem}.") from None
    if isinstance(data, list):
        raise Refusal(400, "Batched requests (a JSON array) are not supported: send one operation per request.")
    if not isinstance(data, dict):
        raise Refusal(400, "The request body must be a JSON object with a `query`.")


def check_json_parameters(parameters: Mapping[str, str], max_depth: int) -> None:
    """``GET``'s ``variables`` and ``extensions``, when given, must be JSON as a body must."""
    for name in ("variables", "extensions"):
        if parameters.get(name):
            try:
                decode_json(parameters[name], max_depth)
            except ValueError as problem:
                raise Refusal(400, f"The `{name}` parameter is not valid JSON: {problem}.") from None


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields ``body`` once, then whatever the client sends (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
