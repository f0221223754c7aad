"""The Strawberry ASGI view: builds the context and authenticates each request.

Over HTTP the token comes in ``Authorization: Bearer <token>``; over WebSocket in the
``connection_init`` payload ``{"authorization": "Bearer <token>"}``. A bad token over
WebSocket closes the connection (4403 on ``graphql-transport-ws``). WebSocket handshakes
from a browser page of another origin are refused unless ``MCGRAPH_ALLOWED_ORIGINS``
lists it. Subscriptions run through :mod:`mcgraph.api.ws`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from mcgraph.api.context import Context
from mcgraph.api.ws import Feeds, LegacyWSHandler, TransportWSHandler
from mcgraph.domain import tokens
from mcgraph.domain.errors import Unauthenticated
from mcgraph.runtime import Runtime


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
        self.feeds = Feeds(self.schema)

    async def get_context(self, request: Request | WebSocket, response: Response | None = None) -> Context:
        context = Context(
            runtime=self.runtime,
            request=request,
            response=response,
            request_id=request.scope.get("request_id", ""),
        )
        if isinstance(request, Request):
            await self._authenticate(context, request.headers.get("authorization"))
        return context

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        await self._authenticate(context, header if isinstance(header, str) else None)
        if context.actor is None:
            raise ConnectionRejectionError({"message": context.auth_problem or "Authentication required."})

    async def _authenticate(self, context: Context, header: str | None) -> None:
        if not header:
            return
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            context.auth_problem = "The Authorization header must be 'Bearer <token>'."
            return
        try:
            async with self.runtime.database.session() as session:
                context.actor = await tokens.authenticate(session, secret.strip(), self.runtime.clock.now())
        except Unauthenticated as problem:
            context.auth_problem = problem.message
