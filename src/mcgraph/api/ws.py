"""Subscriptions over WebSocket: shared feeds, and a bounded outbox per socket.

Strawberry's protocol handlers (``graphql-transport-ws`` and the legacy ``graphql-ws``)
do the handshake, pings and bookkeeping; queries and mutations sent over a socket run
as Strawberry runs them. Subscriptions take another path, for cost and back-pressure:

* **Feeds.** Sockets that subscribe with the same document, variables, organisation and
  role share one :class:`Feed`: the subscription runs once, each result is checked and
  serialised once, and the same text goes to every socket (only the operation id in
  front differs). A subscription that replays from a cursor (an ``after`` argument)
  gets a feed of its own, since its replay is its own; such a feed goes at the pace
  its socket reads.
* **Outbox.** Every message to a socket goes through its :class:`Outbox`, sent in order
  by a task that runs only while something is queued. When a client reads too slowly
  and ``MCGRAPH_WS_QUEUE_SIZE`` results, or ``MCGRAPH_WS_QUEUE_BYTES`` of them (their
  memory, as ``sys.getsizeof`` counts it), are waiting, the pending results are dropped,
  each of its subscriptions gets a SLOW_SUBSCRIBER error with the cursor to resume
  from, and the socket is closed (1013, try again later). The others never wait for it.
* **Credentials.** The socket's token is checked again before each operation, before
  results go out and now and then (:mod:`mcgraph.api.ws_credentials`); one that no longer
  stands closes the socket with 4401 or 4403, its queued results dropped.
* **Memory.** A socket whose outbox held ``GIVE_BACK_BYTES`` or more gives the C heap's
  free pages back to the system when it closes (glibc's ``malloc_trim``).
* **Going away.** When the process stops, each socket is sent what is queued for it
  and closed with 1001, so that its client reconnects elsewhere (:mod:`mcgraph.shutdown`).

Metrics: each socket counts in ``mcgraph_websocket_connections`` while its handler runs,
and each subscription operation in ``mcgraph_subscriptions_active`` while it is served.

Scope: a subscription's result depends on the organisation and the role only (no
subscription type has a field that depends on who the user is), so sharing by
(organisation, role) shows each socket what it may see and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import sys
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationType, VariableNode, get_operation_ast, parse
from graphql.error import GraphQLSyntaxError
from starlette.websockets import WebSocket, WebSocketState
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from mcgraph.api.context import Context
from mcgraph.api.errors import internal_error, shape_error
from mcgraph.api.ws_credentials import Credential, bearer_secret
from mcgraph.domain.errors import SlowSubscriber, TooManySubscriptions
from mcgraph.logs import get_logger
from mcgraph.shutdown import GOING_AWAY

log = get_logger("mcgraph.ws")

TOO_SLOW = 1013  # "try again later": clients reconnect and resume
DRAIN_TIMEOUT = 5.0


GIVE_BACK_BYTES = 1 << 20  # a socket that held this much gives it back to the system when it closes
_TRIM_INTERVAL = 1.0
_trimmed_at = 0.0


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # glibc
    except (OSError, AttributeError):
        return None


_trim = _malloc_trim()


def give_back_memory() -> None:
    """Return the C heap's free pages to the system (at most once a second).

    Large results are freed when a socket closes, but glibc keeps the pages they were in,
    so without this the process would stay as large as its busiest moment."""
    global _trimmed_at  # noqa: PLW0603 - one heap per process
    now = time.monotonic()
    if _trim is None or now - _trimmed_at < _TRIM_INTERVAL:
        return
    _trimmed_at = now
    _trim(0)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@lru_cache(maxsize=512)
def _parsed(query: str) -> DocumentNode | None:
    try:
        return parse(query)
    except GraphQLSyntaxError:
        return None


def subscription_of(query: str, operation_name: str | None) -> Any:
    """The subscription operation of a document, or None for anything else (or a bad document)."""
    document = _parsed(query)
    if document is None:
        return None
    operation = get_operation_ast(document, operation_name)
    return operation if operation is not None and operation.operation == OperationType.SUBSCRIPTION else None


def replays(operation: Any, variables: dict[str, Any] | None) -> bool:
    """Whether a root field is given an ``after`` cursor (its results are its own)."""
    for selection in operation.selection_set.selections:
        for argument in getattr(selection, "arguments", ()) or ():
            if argument.name.value != "after":
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                if (variables or {}).get(value.name.value) is not None:
                    return True
            elif value.kind != "null_value":
                return True
    return False


class Outbox:
    """What waits to be sent on one socket, sent in order.

    A sender task runs only while something is queued and ends when the queue is empty:
    an idle socket (most of them, most of the time) holds no task, frame or future.
    """

    def __init__(
        self, websocket: WebSocket, limit: int, on_overflow: Callable[[], None], byte_limit: int | None = None
    ) -> None:
        self.websocket = websocket
        self.limit = limit
        self.byte_limit = byte_limit
        self.on_overflow = on_overflow
        self.results_waiting = 0
        self.bytes_waiting = 0  # the memory the waiting results hold
        self.peak_bytes = 0
        self._messages: deque[tuple[str, Member | None, int | None]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._stopped = False
        # what :meth:`room` waits on, made when first needed: few sockets ever wait for room
        self._room: asyncio.Event | None = None
        self._close: tuple[int, str] | None = None

    def _kick(self) -> None:
        if not self._stopped and (self._sender is None or self._sender.done()):
            self._sender = asyncio.get_running_loop().create_task(self._send_queued())

    def send(self, text: str) -> None:
        """Queue a protocol message (ack, pong, complete, error): never refused."""
        self._messages.append((text, None, None))
        self._kick()

    def _full(self, size: int = 0) -> bool:
        if self.results_waiting >= self.limit:
            return True
        # one result larger than the whole budget still goes to a socket that reads
        return self.byte_limit is not None and self.results_waiting > 0 and self.bytes_waiting + size > self.byte_limit

    def offer(self, text: str, member: Member, cursor: int | None) -> bool:
        """Queue a subscription result; False (and the overflow handler called) when too many,
        or too many bytes, wait."""
        if self._close is not None:
            return False
        size = sys.getsizeof(text)
        if self._full(size):
            self.on_overflow()
            return False
        self.results_waiting += 1
        self.bytes_waiting += size
        self.peak_bytes = max(self.peak_bytes, self.bytes_waiting)
        self._messages.append((text, member, cursor))
        self._kick()
        return True

    async def room(self) -> None:
        """Wait until a result may be queued without overflowing."""
        while self._full() and self._close is None:
            if self._room is None:
                self._room = asyncio.Event()
            self._room.clear()
            await self._room.wait()

    def drop_results(self) -> None:
        self._messages = deque(item for item in self._messages if item[1] is None)
        self.results_waiting = 0
        self.bytes_waiting = 0

    def close_when_sent(self, code: int, reason: str) -> None:
        self._close = (code, reason)
        self._kick()

    @property
    def sending(self) -> bool:
        """Whether a sender task runs now (only while something is queued or being sent)."""
        return self._sender is not None and not self._sender.done()

    async def sent(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for what is queued (and a close asked for) to go out; whether it did."""
        sender = self._sender
        if sender is None or sender.done():
            return True
        done, _ = await asyncio.wait({sender}, timeout=timeout)
        return bool(done)

    async def stop(self) -> None:
        """Send nothing more: the socket's handler has ended."""
        self._stopped = True
        sender = self._sender
        if sender is not None and not sender.done():
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    async def _send_queued(self) -> None:
        try:
            while self._messages:
                text, member, cursor = self._messages.popleft()
                if member is not None:
                    self.results_waiting -= 1
                    self.bytes_waiting -= sys.getsizeof(text)
                    if self._room is not None:
                        self._room.set()
                if self.websocket.application_state == WebSocketState.DISCONNECTED:
                    self._stopped = True
                    return
                if member is not None and cursor is not None:
                    member.last_sent = cursor  # it goes out before anything queued after it
                await self.websocket.send_text(text)
            if self._close is not None:
                self._stopped = True
                with contextlib.suppress(Exception):
                    await self.websocket.close(*self._close)
        finally:
            self._sender = None  # a finished task kept here would keep its coroutine


@dataclass(eq=False)
class Member:
    """One socket's subscription operation in a feed."""

    operation_id: str
    outbox: Outbox
    frame: Callable[[str, str], str]
    done: asyncio.Future[list[GraphQLError] | None]
    last_sent: int | None = None

    def deliver(self, payload: str, cursor: int | None) -> None:
        self.outbox.offer(self.frame(self.operation_id, payload), self, cursor)

    def finish(self, errors: list[GraphQLError] | None = None) -> None:
        if not self.done.done():
            self.done.set_result(errors)


@dataclass(eq=False)
class Feed:
    key: tuple[Any, ...] | None
    members: set[Member] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


class Feeds:
    """The running subscriptions of one app, shared by the sockets that asked for the same."""

    def __init__(self, schema: BaseSchema, guard: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.schema = schema
        # checks the organisation's sockets' tokens before a result is handed to them
        self.guard = guard
        self._shared: dict[tuple[Any, ...], Feed] = {}
        self._numbers = itertools.count(1)
        self.results_serialized = 0

    def member_count(self) -> int:
        """Subscriptions served by shared feeds (for metrics and tests)."""
        return sum(len(feed.members) for feed in self._shared.values())

    async def serve(
        self,
        context: Context,
        member: Member,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        *,
        private: bool,
    ) -> list[GraphQLError] | None:
        """Run ``member`` in its feed until the feed ends; the errors it ended with, if any."""
        actor = context.actor
        assert actor is not None
        key = (query, _dumps(variables or {}), operation_name, actor.organization_id, actor.role.value)
        feed = None if private else self._shared.get(key)
        if feed is None:
            feed = Feed(None if private else key)
            if feed.key is not None:
                self._shared[feed.key] = feed
            feed.members.add(member)
            feed.task = asyncio.create_task(self._run(feed, context, query, variables, operation_name))
        else:
            feed.members.add(member)
        try:
            return await member.done
        finally:
            self._leave(feed, member)

    def _leave(self, feed: Feed, member: Member) -> None:
        feed.members.discard(member)
        if not feed.members:
            if feed.key is not None and self._shared.get(feed.key) is feed:
                del self._shared[feed.key]
            if feed.task is not None and not feed.task.done():
                feed.task.cancel()

    async def _run(
        self, feed: Feed, first: Context, query: str, variables: dict[str, Any] | None, operation_name: str | None
    ) -> None:
        context = Context(
            runtime=first.runtime,
            request=first.request,
            response=None,
            request_id=f"feed-{next(self._numbers)}-{uuid.uuid4().hex[:8]}",
            actor=first.actor,
        )
        errors: list[GraphQLError] | None = None
        try:
            source = await self.schema.subscribe(query, variables, context, None, operation_name)
            async with aclosing(source):  # type: ignore[type-var]
                async for result in source:  # type: ignore[union-attr]
                    if isinstance(result, PreExecutionError):
                        errors = list(result.errors or [])
                        return
                    payload: dict[str, Any] = {"data": result.data}
                    if result.errors:
                        payload["errors"] = [error.formatted for error in result.errors]
                    text = _dumps(payload)
                    self.results_serialized += 1
                    if feed.key is None:
                        # a feed of its own (a replay) waits for its socket instead of dropping it;
                        # live events wait meanwhile in its listener, within its buffer
                        for member in feed.members:
                            await member.outbox.room()
                    if self.guard is not None:
                        await self.guard(context.actor.organization_id)  # a socket whose token fails is closed
                    for member in list(feed.members):
                        member.deliver(text, context.live_cursor)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - masked for the client, logged with the feed's id
            errors = [internal_error(error, context.request_id)]
        finally:
            if feed.key is not None and self._shared.get(feed.key) is feed:
                del self._shared[feed.key]
            for member in list(feed.members):
                member.finish(errors)


class _SharedSubscriptions:
    """What the two protocol handlers add to Strawberry's: the outbox and feeds."""

    websocket: Any
    context: Context
    view: Any

    def _start_outbox(self) -> None:
        settings = self.context.runtime.settings
        self.outbox = Outbox(self.websocket.ws, settings.ws_queue_size, self._too_slow, settings.ws_queue_bytes)
        self.members: dict[str, Member] = {}
        self._dropping = False  # closing: its operations send nothing more
        self.credential: Credential | None = None
        # Strawberry closes the socket itself at times (a bad token, a bad message): after
        # what is queued, like everything else.
        self.websocket.close = self._close_after_queued
        self.view.sockets.add(self)

    async def _close_after_queued(self, code: int, reason: str) -> None:
        self.outbox.close_when_sent(code, reason)
        await self.outbox.sent(DRAIN_TIMEOUT)

    async def going_away(self) -> None:
        """The process is stopping: send what is queued, then close with 1001."""
        await self._close_after_queued(GOING_AWAY, "Server stopping: reconnect and resume from your last cursor")

    async def _stop_outbox(self) -> None:
        self.view.sockets.discard(self)
        self.view.credentials.leave(self)
        await self.outbox.stop()
        if self.outbox.peak_bytes >= GIVE_BACK_BYTES:
            asyncio.get_running_loop().call_later(0.5, give_back_memory)

    async def _enroll(self) -> None:
        """Once acknowledged, the socket's token is checked again for as long as it is open."""
        secret = bearer_secret(self.context.connection_params)
        if self.connection_acknowledged and self.context.actor is not None and secret is not None:
            await self.view.credentials.enroll(self, self.context.actor, secret)

    async def _still_allowed(self) -> bool:
        """Check the token before an operation starts; False (and the socket closing) when it no longer stands."""
        if self._dropping:
            return False
        return await self.view.credentials.check(self)

    def revoke(self, code: int, reason: str) -> None:
        """The token no longer stands: drop what is queued for the socket, send nothing more, close it."""
        if self._dropping:
            return
        self._dropping = True
        self.outbox.drop_results()
        for member in list(self.members.values()):
            member.finish()
        self.outbox.close_when_sent(code, reason)
        self._closer = asyncio.create_task(self._close_if_stuck(code))

    async def send_message(self, message: Any) -> None:
        self.outbox.send(_dumps(message))

    def _refuse_beyond_limit(self, operation_id: str, running: int) -> bool:
        """Refuse an operation beyond ``MCGRAPH_WS_MAX_SUBSCRIPTIONS`` with a coded error (Strawberry's has none)."""
        limit = self.max_subscriptions_per_connection
        if not self.connection_acknowledged or limit is None or running < limit:
            return False
        error = shape_error(GraphQLError("", original_error=TooManySubscriptions(limit)), self.context.request_id)
        self.outbox.send(self._error_frame(operation_id, [error.formatted]))
        return True

    def _too_slow(self) -> None:
        if self._dropping:
            return
        self._dropping = True
        self.outbox.drop_results()
        for member in self.members.values():
            error = shape_error(GraphQLError("", original_error=SlowSubscriber(member.last_sent)), self.context.request_id)
            self.outbox.send(self._error_frame(member.operation_id, [error.formatted]))
        log.warning("subscriber too slow: dropped", request_id=self.context.request_id, subscriptions=len(self.members))
        self.context.runtime.metrics.slow_subscribers.inc()
        self.outbox.close_when_sent(TOO_SLOW, "Too slow: resume from your last cursor")
        self._closer = asyncio.create_task(self._close_if_stuck(TOO_SLOW))

    async def _close_if_stuck(self, code: int) -> None:
        """A client that reads nothing cannot be sent the error either: close it after a while."""
        if not await self.outbox.sent(DRAIN_TIMEOUT):
            await self.outbox.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.websocket.ws.close(code), 1)

    async def _serve_subscription(
        self, operation_id: str, query: str, variables: dict[str, Any] | None, operation_name: str | None, operation: Any
    ) -> list[GraphQLError] | None:
        member = Member(operation_id, self.outbox, self._next_frame, asyncio.get_running_loop().create_future())
        self.members[operation_id] = member
        try:
            with self.context.runtime.metrics.subscriptions.track_inprogress():
                return await self.view.feeds.serve(
                    self.context, member, query, variables, operation_name, private=replays(operation, variables)
                )
        finally:
            if self.members.get(operation_id) is member:
                del self.members[operation_id]

    @staticmethod
    def _next_frame(operation_id: str, payload: str) -> str:
        raise NotImplementedError

    @staticmethod
    def _error_frame(operation_id: str, errors: list[Any]) -> str:
        raise NotImplementedError


class TransportWSHandler(_SharedSubscriptions, BaseGraphQLTransportWSHandler[Context, None]):
    """``graphql-transport-ws`` (the protocol of the ``graphql-ws`` client library).

    Once the connection is acknowledged the server pings every
    ``MCGRAPH_WS_KEEP_ALIVE_SECONDS``, so that proxies keep the socket open and a dead
    peer is noticed.
    """

    async def handle(self) -> None:
        self._start_outbox()
        # a timer, not a task: a sleeping task and its frame cost several times more per socket
        self._ping_interval = self.context.runtime.settings.ws_keep_alive_seconds
        self._ping_timer = asyncio.get_running_loop().call_later(self._ping_interval, self._ping)
        try:
            with self.context.runtime.metrics.websockets.track_inprogress():
                await super().handle()
        finally:
            self._ping_timer.cancel()
            await self._stop_outbox()

    def _ping(self) -> None:
        if self.connection_acknowledged:
            self.outbox.send('{"type":"ping"}')
        self._ping_timer = asyncio.get_running_loop().call_later(self._ping_interval, self._ping)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        # Strawberry cancels its timeout task here but keeps it; a cancelled task keeps its
        # error, traceback and frame, which every socket would carry for nothing.
        self.connection_init_timeout_task = None
        await self._enroll()

    async def handle_subscribe(self, message: Any) -> None:
        if message["id"] not in self.operations and self._refuse_beyond_limit(message["id"], len(self.operations)):
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        if not await self._still_allowed():
            self.operations.pop(operation.id, None)
            return
        subscription = subscription_of(operation.query, operation.operation_name)
        if subscription is None:
            await super().run_operation(operation)
            return
        errors = await self._serve_subscription(
            operation.id, operation.query, operation.variables, operation.operation_name, subscription
        )
        if self._dropping:
            return
        if errors:
            await operation.send_initial_errors(errors)
        else:
            await operation.send_operation_message({"id": operation.id, "type": "complete"})

    @staticmethod
    def _next_frame(operation_id: str, payload: str) -> str:
        return f'{{"id":{_dumps(operation_id)},"type":"next","payload":{payload}}}'

    @staticmethod
    def _error_frame(operation_id: str, errors: list[Any]) -> str:
        return _dumps({"id": operation_id, "type": "error", "payload": errors})


class LegacyWSHandler(_SharedSubscriptions, BaseGraphQLWSHandler[Context, None]):
    """The legacy ``graphql-ws`` protocol (subscriptions-transport-ws)."""

    async def handle(self) -> None:
        self._start_outbox()
        try:
            with self.context.runtime.metrics.websockets.track_inprogress():
                await super().handle()
        finally:
            await self._stop_outbox()

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        await self._enroll()

    async def handle_start(self, message: Any) -> None:
        if message["id"] not in self.tasks and self._refuse_beyond_limit(message["id"], len(self.tasks)):
            return
        await super().handle_start(message)

    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None, variables: dict[str, object] | None
    ) -> None:
        if not await self._still_allowed():
            self.tasks.pop(operation_id, None)
            return
        subscription = subscription_of(query, operation_name)
        if subscription is None:
            await super().handle_async_results(operation_id, query, operation_name, variables)
            return
        try:
            errors = await self._serve_subscription(operation_id, query, dict(variables or {}), operation_name, subscription)
            if self._dropping:
                return
            if errors:
                await self.send_message({"type": "error", "id": operation_id, "payload": errors[0].formatted})
            else:
                await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            await self.send_message({"type": "complete", "id": operation_id})
        finally:
            self.tasks.pop(operation_id, None)

    @staticmethod
    def _next_frame(operation_id: str, payload: str) -> str:
        return f'{{"type":"data","id":{_dumps(operation_id)},"payload":{payload}}}'

    @staticmethod
    def _error_frame(operation_id: str, errors: list[Any]) -> str:
        return _dumps({"type": "error", "id": operation_id, "payload": errors[0]})
