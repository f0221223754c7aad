"""The typed per-request context and the per-operation database scope.

A GraphQL operation gets one database session and one set of dataloaders, opened by
:class:`OperationScopeExtension` when the operation starts and closed when it ends.
Resolvers run concurrently, and an ``AsyncSession`` allows one statement at a time, so
every use of the session goes through :meth:`Context.read` or :meth:`Context.write`,
which take the scope's lock.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from sqlalchemy.orm.exc import StaleDataError

from mcgraph.api.deadline import before_commit
from mcgraph.db.engine import begin_write
from mcgraph.domain.errors import Conflict, Unauthenticated
from mcgraph.domain.permissions import Action, Actor, authorize
from mcgraph.domain.unit import Unit
from mcgraph.runtime import Runtime

if TYPE_CHECKING:
    from mcgraph.api.dataloaders import Loaders

_scope: contextvars.ContextVar[OperationScope] = contextvars.ContextVar("mcgraph_operation_scope")


class OperationScope:
    """The session, lock and dataloaders of one GraphQL operation."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.lock = asyncio.Lock()
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            organization_id = self.context.actor.organization_id if self.context.actor else None
            self._session = self.context.runtime.database.session(organization_id)
        return self._session

    @cached_property
    def loaders(self) -> Loaders:
        from mcgraph.api.dataloaders import Loaders

        return Loaders(self)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def reset(self) -> None:
        """End the session and forget what the dataloaders cached.

        A subscription calls this between two of its results: it holds no transaction
        while it waits, and each result is read afresh.
        """
        async with self.lock:
            await self.close()
            self._session = None
            self.__dict__.pop("loaders", None)


@dataclass
class Context:
    runtime: Runtime
    request: Request | WebSocket
    response: Response | None
    request_id: str
    actor: Actor | None = None
    auth_problem: str | None = None
    connection_params: dict[str, Any] | None = field(default=None, repr=False)
    # the cursor of the event a subscription's latest result is about
    live_cursor: int | None = None
    # False once a resolver read the time of day: its answer is not one to serve again
    cacheable: bool = True
    # the organisation's data version, read before anything else of this request (over HTTP)
    data_version: int | None = None
    # what the operation was charged to the rate limits
    cost: int = 0

    @property
    def scope(self) -> OperationScope:
        try:
            return _scope.get()
        except LookupError:
            raise RuntimeError("no GraphQL operation is running; OperationScopeExtension missing") from None

    @property
    def loaders(self) -> Loaders:
        return self.scope.loaders

    @property
    def now(self):  # noqa: ANN201 - a datetime; annotated in the clock protocol
        """The time: an answer that reads it is not cached (see :mod:`mcgraph.api.response_cache`)."""
        self.vary_by_time()
        return self.runtime.clock.now()

    def vary_by_time(self) -> None:
        """This answer would differ a second later: it is not one to serve again."""
        self.cacheable = False

    @property
    def today(self) -> date:
        """The day (UTC): cached answers are kept for the day they were computed on."""
        return self.runtime.clock.now().date()

    def require(self, action: Action) -> Actor:
        """The actor, when it may perform ``action``; raises UNAUTHENTICATED or FORBIDDEN."""
        if self.actor is None and self.auth_problem:
            raise Unauthenticated(self.auth_problem)
        return authorize(self.actor, action)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        scope = self.scope
        async with scope.lock:
            yield scope.session

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """A unit of work for a domain service: committed on success, rolled back on error.

        A concurrent write that got to a row first is answered with CONFLICT.
        """
        async with self.write() as session:
            try:
                yield Unit(
                    session=session,
                    actor=self.require_actor(),
                    now=self.now,
                    plugins=self.runtime.plugins,
                    settings=self.runtime.settings,
                )
                await session.flush()
            except StaleDataError:
                raise Conflict("Someone else changed this at the same moment; reload and retry.") from None

    def require_actor(self) -> Actor:
        if self.actor is None:
            raise Unauthenticated(self.auth_problem or "Authentication required.")
        return self.actor

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """The session, committed when the block succeeds and rolled back when it raises."""
        scope = self.scope
        async with scope.lock:
            session = scope.session
            if session.in_transaction():
                await session.commit()  # end what was read so far: the write starts afresh
            await begin_write(session)
            try:
                yield session
                before_commit()
                await session.commit()
            except BaseException:
                await session.rollback()
                raise


class OperationScopeExtension(SchemaExtension):
    """Opens the operation's scope before execution and closes its session after."""

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        scope = OperationScope(self.execution_context.context)
        token = _scope.set(scope)
        try:
            yield
        finally:
            await scope.close()
            _scope.reset(token)
