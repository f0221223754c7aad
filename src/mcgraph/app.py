"""``create_app(settings)``: the Starlette application and its lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from mcgraph.api.observe import ObservedHTTP
from mcgraph.api.schema import build_schema
from mcgraph.api.view import GraphQLView
from mcgraph.automation.broker import live_with_automations
from mcgraph.automation.sweeps import background_jobs
from mcgraph.dashboard import dashboard
from mcgraph.db.migrate import check_current
from mcgraph.domain.clock import Clock
from mcgraph.readiness import readiness
from mcgraph.logs import get_logger
from mcgraph.metrics import CONTENT_TYPE, read_state
from mcgraph.middleware import RequestIdMiddleware
from mcgraph.runtime import Runtime
from mcgraph.settings import Settings
from mcgraph.shutdown import before_stop_signals

log = get_logger("mcgraph.app")


def create_app(
    settings: Settings, *, clock: Clock | None = None, plugins: dict[str, object] | None = None
) -> Starlette:
    """The mcgraph app; ``clock`` and extra ``plugins`` (name -> plugin) are for tests and embedders."""
    runtime = Runtime.from_settings(settings, clock=clock, plugins=plugins)
    graphql = GraphQLView(runtime, build_schema(runtime.plugins))

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        checks = await readiness(runtime)
        ready = all(outcome == "ok" for outcome in checks.values())
        return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503)

    async def metrics(_: Request) -> Response:
        await read_state(runtime)
        return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            await check_current(runtime.database.engine, settings.database_url)
            log.info("mcgraph started", env=settings.env, database=runtime.database.engine.url.render_as_string())
            async with live_with_automations(runtime, consume=settings.broker_url is None), background_jobs(runtime):
                with before_stop_signals(graphql.sockets.close_all):
                    yield
        finally:
            await runtime.close()

    middleware = [Middleware(RequestIdMiddleware)]
    if settings.allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id", "idempotency-key"],
                expose_headers=["x-request-id", "retry-after", "idempotent-replayed"],
            )
        )
    app = Starlette(
        routes=[
            Route("/graphql", ObservedHTTP(graphql, runtime)),  # the view answers other methods with 405 and a JSON body
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            dashboard(),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.feeds = graphql.feeds
    app.state.credentials = graphql.credentials
    return app


def create_app_from_env() -> Starlette:
    """The app for ``uvicorn --factory``: settings from the environment."""
    from mcgraph.logs import configure_logging
    from mcgraph.settings import load_settings

    settings = load_settings()
    configure_logging(settings)
    app = create_app(settings)
    # The modules, the schema and the app live as long as the process: kept out of the
    # collector's full passes, each of which would walk them again. With thousands of
    # WebSockets open such a pass runs while a change is being sent to them.
    gc.collect()
    gc.freeze()
    return app
