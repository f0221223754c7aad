"""The Strawberry ASGI view: builds the context and authenticates each request.

Over HTTP the token comes in ``Authorization: Bearer <token>``; over WebSocket in the
``connection_init`` payload ``{"authorization": "Bearer <token>"}``. A bad token over
WebSocket closes the connection (4403 on ``graphql-transport-ws``). WebSocket handshakes
from a browser page of another origin are refused unless ``MCGRAPH_ALLOWED_ORIGINS``
lists it. Subscriptions run through :mod:`mcgraph.api.ws`.

HTTP requests are checked first by :mod:`mcgraph.api.http` (methods, media types, size,
one operation per request) and refused there with a JSON error body. Mutations sent
with an ``Idempotency-Key`` go through :mod:`mcgraph.api.idempotency`.
"""

from __future__ import annotations

from typing import Any

import orjson

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from mcgraph.api import http
from mcgraph.api.context import Context
from mcgraph.api.idempotency import BODY, Idempotency
from mcgraph.api.known_tokens import KnownTokens
from mcgraph.api.response_cache import serve_kept
from mcgraph.api.ws import Feeds, LegacyWSHandler, TransportWSHandler
from mcgraph.api.ws_credentials import SocketCredentials
from mcgraph.domain.errors import ErrorCode, Unauthenticated
from mcgraph.domain.permissions import Actor
from mcgraph.runtime import Runtime
from mcgraph.shutdown import OpenSockets


_MEDIA_TYPE = "mcgraph.media_type"
_REQUEST_ERROR_STATUS = "mcgraph.request_error_status"
_AUTHENTICATED = "mcgraph.authenticated"  # (actor, problem, data version), when known before execution
# the status of a request error (nothing executed) with application/graphql-response+json, by code
REQUEST_ERROR_STATUS = (("INTERNAL", 500), ("RATE_LIMITED", 429), ("TIMEOUT", 503))


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, runtime: Runtime, schema: Any) -> None:
        settings = runtime.settings
        super().__init__(
            schema,
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            keep_alive=True,
            keep_alive_interval=settings.ws_keep_alive_seconds,
            allowed_origins=settings.allowed_origins,
        )
        self.max_subscriptions_per_connection = settings.ws_max_subscriptions
        self.runtime = runtime
        self.known_tokens = KnownTokens()
        self.credentials = SocketCredentials(runtime, self.known_tokens)
        self.feeds = Feeds(self.schema, guard=self.credentials.refresh)
        self.sockets = OpenSockets()
        self.max_request_bytes = settings.max_request_bytes
        self.max_query_string_bytes = settings.max_query_string_bytes
        self.max_json_depth = settings.max_json_depth
        self.idempotency = Idempotency(
            runtime.database, runtime.clock, settings.idempotency_ttl_seconds, max_tokens=settings.max_tokens
        )

    def encode_json(self, data: object) -> bytes | str:
        """orjson's encoding (several times faster than the standard library's on large answers)."""
        try:
            return orjson.dumps(data)
        except TypeError:  # what orjson does not encode (an integer beyond 64 bits in a JSON value)
            return super().encode_json(data)

    def decode_json(self, data: str | bytes) -> object:
        """Every JSON strawberry reads (bodies, GET parameters, WebSocket messages): strict and bounded in depth."""
        return http.decode_json(data, self.max_json_depth)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        media_type = http.negotiate(Request(scope).headers.get("accept"))
        try:
            receive = await self._admit(scope, receive, media_type)
            scope[_MEDIA_TYPE] = media_type
            request = Request(scope, receive=receive)
            response = await self.idempotency.respond(
                request, lambda: self._identify(request), lambda: self._respond(request, media_type)
            )
        except http.Refusal as refusal:
            response = refusal.response(media_type)
        await response(scope, receive, send)

    async def _respond(self, request: Request, media_type: str | None) -> Response:
        """The answer to an admitted request, strawberry's own refusals in our shape."""
        if media_type is not None and (kept := await serve_kept(self.runtime, request, media_type, lambda: self._authenticated(request))):
            return kept
        try:
            response = await self.run(request)
        except HTTPException as problem:
            return http.Refusal(problem.status_code, problem.reason).response(media_type)
        except http.Refusal as refusal:
            return refusal.response(media_type)
        if response.media_type == http.JSON and media_type == http.GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{http.GRAPHQL_RESPONSE_JSON}; charset=utf-8"
            response.status_code = request.scope.get(_REQUEST_ERROR_STATUS, response.status_code)
        return response

    async def _admit(self, scope: Scope, receive: Receive, media_type: str | None) -> Receive:
        """The ``receive`` to read the body from, or a :class:`http.Refusal`."""
        method = scope["method"]
        if method not in ("GET", "POST"):
            raise http.Refusal(405, f"GraphQL is served over GET (queries) and POST, not {method}.", headers={"Allow": "GET, POST"})
        request = Request(scope)
        if method == "GET":
            if len(scope.get("query_string", b"")) > self.max_query_string_bytes:
                raise http.Refusal(414, f"The query string is longer than {self.max_query_string_bytes} bytes; send the operation in a POST body.")
            if "query" not in request.query_params:  # GraphiQL (development), or a 400 for the missing query
                return receive
            http.check_json_parameters(request.query_params, self.max_json_depth)
        if media_type is None:
            raise http.Refusal(406, "Accept must allow application/graphql-response+json or application/json.")
        if method == "POST":
            http.check_content_type(request.headers.get("content-type"))
            body = await http.read_body(scope, receive, self.max_request_bytes)
            http.check_json_body(body, self.max_json_depth)
            scope[BODY] = body
            receive = http.replaying(body, receive)
        return receive

    async def execute_single(  # noqa: PLR0917
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request=request, request_adapter=request_adapter, sub_response=sub_response,
                context=context, root_value=root_value, request_data=request_data,
            )
        except HTTPException as problem:
            cause = problem.__cause__
            if isinstance(cause, InvalidOperationTypeError) and cause.operation_type == OperationType.MUTATION:
                raise http.Refusal(405, "Mutations must be sent with POST.", headers={"Allow": "POST"}) from problem
            raise

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Marks a request error (nothing executed); ``application/graphql-response+json`` gets no ``data`` and a 4xx."""
        response = await super().process_result(request, result)
        if result.data is None and result.errors and all(error.path is None for error in result.errors):
            codes = {(error.extensions or {}).get("code") for error in result.errors}
            request.scope[_REQUEST_ERROR_STATUS] = next((status for code, status in REQUEST_ERROR_STATUS if code in codes), 400)
            if request.scope.get(_MEDIA_TYPE) == http.GRAPHQL_RESPONSE_JSON:
                response.pop("data", None)
        return response

    async def get_context(self, request: Request | WebSocket, response: Response | None = None) -> Context:
        context = Context(
            runtime=self.runtime,
            request=request,
            response=response,
            request_id=request.scope.get("request_id", ""),
        )
        if isinstance(request, Request):
            known = request.scope.get(_AUTHENTICATED)
            authenticated = known or await self._authenticate(request.headers.get("authorization"))
            context.actor, context.auth_problem, context.data_version = authenticated
        return context

    async def _identify(self, request: Request) -> Actor | None:
        """The request's actor, found ahead of execution; its context reuses the finding."""
        return (await self._authenticated(request))[0]

    async def _authenticated(self, request: Request) -> tuple[Actor | None, str | None, int | None]:
        if _AUTHENTICATED not in request.scope:
            request.scope[_AUTHENTICATED] = await self._authenticate(request.headers.get("authorization"))
        return request.scope[_AUTHENTICATED]

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        # the data version is left unset: a socket's operations read it each time
        context.actor, context.auth_problem, _ = await self._authenticate(header if isinstance(header, str) else None)
        if context.actor is None:
            problem = context.auth_problem or "Authentication required."
            raise ConnectionRejectionError({"message": problem, "extensions": {"code": ErrorCode.UNAUTHENTICATED.value}})

    async def _authenticate(self, header: str | None) -> tuple[Actor | None, str | None, int | None]:
        """``(actor, None, data version)`` for a good ``Authorization`` header, ``(None, why, None)``
        for a bad one."""
        if not header:
            return None, None, None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None, "The Authorization header must be 'Bearer <token>'.", None
        try:
            actor, version = await self.known_tokens.authenticate(self.runtime.database, secret.strip(), self.runtime.clock.now())
            return actor, None, version
        except Unauthenticated as problem:
            return None, problem.message, None
