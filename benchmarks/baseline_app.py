"""The hand-written baselines: what a careful developer would write without GraphQL.

``/sa/<scenario>``: Starlette, SQLAlchemy Core and orjson, building the same JSON as
mcgraph's answer. ``/sql/<scenario>``: one SQL statement in which PostgreSQL builds the
whole answer, returned as its text (the physical limit). Both authenticate the bearer
token against ``api_token`` as mcgraph does, and read the scenario's arguments from the
query string, so the POSTed GraphQL body is only received.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from contextlib import asynccontextmanager

import asyncpg
import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from benchmarks.sql import PORTFOLIO_SQL, PROJECT_PAGE_SQL, TOKEN_SQL
from mcgraph.db.models import ApiToken, Dependency, Project, Task, User

URL = os.environ.get("MCGRAPH_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/mcgraph_bench_s")
POOL = 10

project, task, user, dependency, api_token = (
    Project.__table__, Task.__table__, User.__table__, Dependency.__table__, ApiToken.__table__,
)
engine = create_async_engine(URL, pool_size=POOL)
pool: asyncpg.Pool


def _digest(request: Request) -> str:
    secret = request.headers.get("authorization", "").removeprefix("Bearer ")
    return hashlib.sha256(secret.encode()).hexdigest()


def _json(data: object) -> Response:
    return Response(orjson.dumps({"data": data}), media_type="application/json")


def _person(name: str | None, email: str | None) -> dict | None:
    return None if email is None else {"name": name, "email": email}


async def _organization(connection, request: Request) -> int:
    organization = await connection.scalar(select(api_token.c.organization_id).where(api_token.c.digest == _digest(request)))
    if organization is None:
        raise PermissionError("not a valid token")
    return organization


async def sa_portfolio(request: Request) -> Response:
    async with engine.connect() as connection:
        organization = await _organization(connection, request)
        projects = (
            await connection.execute(
                select(project.c.id, project.c.key, project.c.name, project.c.progress,
                       func.coalesce(project.c.health_override, project.c.health).label("health"), user.c.name.label("manager"), user.c.email)
                .outerjoin(user, user.c.id == project.c.manager_id)
                .where(project.c.organization_id == organization)
                .order_by(project.c.key)
                .limit(200)
            )
        ).all()
        latest = (
            select(task.c.project_id, task.c.key_number, task.c.title, task.c.assignee_id,
                   func.row_number().over(partition_by=task.c.project_id, order_by=task.c.created_at.desc()).label("n"))
            .where(task.c.project_id.in_([p.id for p in projects]))
            .subquery()
        )
        tasks = (
            await connection.execute(
                select(latest.c.project_id, latest.c.key_number, latest.c.title, user.c.name, user.c.email)
                .outerjoin(user, user.c.id == latest.c.assignee_id)
                .where(latest.c.n <= 5)
                .order_by(latest.c.project_id, latest.c.n)
            )
        ).all()
    keys = {p.id: p.key for p in projects}
    by_project: dict[int, list] = defaultdict(list)
    for t in tasks:
        by_project[t.project_id].append({"key": f"{keys[t.project_id]}-{t.key_number}", "title": t.title, "assignee": _person(t.name, t.email)})
    nodes = [
        {"key": p.key, "name": p.name, "progress": p.progress, "health": {"health": p.health.upper()},
         "manager": _person(p.manager, p.email), "tasks": {"nodes": by_project[p.id]}}
        for p in projects
    ]
    return _json({"projects": {"nodes": nodes}})


async def sa_project_page(request: Request) -> Response:
    async with engine.connect() as connection:
        organization = await _organization(connection, request)
        found = (
            await connection.execute(
                select(project.c.id, project.c.key, project.c.name)
                .where(project.c.organization_id == organization, project.c.key == request.query_params["key"])
            )
        ).first()
        if found is None:
            return _json({"project": None})
        tasks = (
            await connection.execute(
                select(task.c.id, task.c.key_number, task.c.title, task.c.state, user.c.name, user.c.email)
                .outerjoin(user, user.c.id == task.c.assignee_id)
                .where(task.c.project_id == found.id)
                .order_by(task.c.rank, task.c.id)
                .limit(50)
            )
        ).all()
        predecessor = task.alias("predecessor")
        links = (
            await connection.execute(
                select(dependency.c.successor_id, dependency.c.type, dependency.c.lag_days, predecessor.c.key_number, project.c.key)
                .join(predecessor, predecessor.c.id == dependency.c.predecessor_id)
                .outerjoin(project, project.c.id == predecessor.c.project_id)
                .where(dependency.c.successor_id.in_([t.id for t in tasks]))
                .order_by(dependency.c.successor_id, predecessor.c.key_number)
            )
        ).all()
    waits: dict[int, list] = defaultdict(list)
    for link in links:
        waits[link.successor_id].append(
            {"type": link.type.upper(), "lagDays": link.lag_days, "predecessor": {"key": f"{link.key}-{link.key_number}"}}
        )
    nodes = [
        {"key": f"{found.key}-{t.key_number}", "title": t.title, "state": {"key": t.state},
         "assignee": _person(t.name, t.email), "predecessors": waits[t.id]}
        for t in tasks
    ]
    return _json({"project": {"key": found.key, "name": found.name, "tasks": {"nodes": nodes}}})


async def _one_statement(request: Request, sql: str, *args: object) -> Response:
    async with pool.acquire() as connection:
        text = await connection.fetchval(sql, _digest(request), *args)
    return PlainTextResponse(text, media_type="application/json")


async def sql_portfolio(request: Request) -> Response:
    return await _one_statement(request, PORTFOLIO_SQL)


async def sql_project_page(request: Request) -> Response:
    return await _one_statement(request, PROJECT_PAGE_SQL, request.query_params["key"])


async def ready(request: Request) -> Response:
    async with pool.acquire() as connection:
        await connection.fetchval(TOKEN_SQL, "")
    return PlainTextResponse("ok")


@asynccontextmanager
async def lifespan(app: Starlette):
    global pool
    pool = await asyncpg.create_pool(URL.replace("postgresql+asyncpg://", "postgresql://", 1), min_size=POOL, max_size=POOL)
    yield
    await pool.close()
    await engine.dispose()


app = Starlette(
    routes=[
        Route("/ready", ready),
        Route("/sa/portfolio", sa_portfolio, methods=["POST"]),
        Route("/sa/project_page", sa_project_page, methods=["POST"]),
        Route("/sql/portfolio", sql_portfolio, methods=["POST"]),
        Route("/sql/project_page", sql_project_page, methods=["POST"]),
    ],
    lifespan=lifespan,
)
