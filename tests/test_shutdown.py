"""Stopping processes with SIGTERM loses nothing: an API process finishes its in-flight
requests and tells WebSocket clients to go away (1001); a worker finishes the automation
it is running and puts the messages it fetched but did not start back on the queue.

The slow request is a mutation blocked on a row lock that the test holds; the slow
automation is a webhook whose receiver answers when the test lets it. Neither needs
anything in mcgraph's own code.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from websockets.exceptions import ConnectionClosed

from mcgraph.db import models as m
from mcgraph.db.models import Role
from tests.live import LEGACY_WS, TRANSPORT_WS, Http, Socket, command, open_socket, served, serving, spawned
from tests.test_automation_workers import create_rule, deployment, scalar, until
from tests.test_live_fanout import postgres_only, unpublished
from tests.test_subscriptions import EVENTS, create_project, create_task

RENAME = "mutation($i: UpdateProjectInput!) { updateProject(input: $i) { project { name } userErrors { code } } }"
WAITING_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def close_code(sock: Socket) -> int | None:
    """The code the server closed ``sock`` with (keep-alives and results before it are read past)."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await sock.receive()
    return closed.value.rcvd.code if closed.value.rcvd else None


@postgres_only
async def test_sigterm_lets_the_request_in_flight_finish_and_sends_websockets_away(
    database_url, redis_url, bus_channel, acme, database
):
    if redis_url is None:
        pytest.skip("Redis is not reachable")
    token = acme[Role.MANAGER]
    with served(**deployment(database_url, redis_url, redis_url, bus_channel)) as (url, process):
        async with (
            Http(url) as http,
            open_socket(url, acme[Role.VIEWER]) as current,
            open_socket(url, acme[Role.VIEWER], LEGACY_WS) as legacy,
        ):
            project = await create_project(http, token, "WEB")
            for sock in (current, legacy):
                await sock.subscribe(EVENTS, {"after": "0"})
                assert (await sock.data())["events"]["type"] == "project.created"
            async with database.session() as session, session.begin():
                await session.execute(select(m.Project.id).where(m.Project.key == "WEB").with_for_update())
                rename = asyncio.create_task(
                    http.client.post("/graphql", json={"query": RENAME, "variables": {"i": {"projectId": project, "name": "Renamed"}}},
                                     headers={"Authorization": f"Bearer {token}"})
                )
                await until(lambda: scalar(database, WAITING_ON_A_LOCK), "the rename to wait on the lock")

                process.send_signal(signal.SIGTERM)
                codes = await asyncio.gather(close_code(current), close_code(legacy))
                assert codes == [1001, 1001]  # both protocols: go away, reconnect elsewhere
                assert not rename.done()  # still held by the lock
                assert process.poll() is None, "the process waits for the request in flight"
            # the lock is released: the request goes on and is answered
            response = await rename
        assert response.status_code == 200
        assert response.json()["data"]["updateProject"] == {"project": {"name": "Renamed"}, "userErrors": []}
        process.wait(30)
    async with database.session() as session:
        assert await session.scalar(select(m.Project.name).where(m.Project.key == "WEB")) == "Renamed"
    assert await unpublished(database) == []  # the rename's event was handed on before the process ended


class Receiver:
    """A webhook receiver that answers only when the test lets it."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, _: Request) -> Response:
        self.calls += 1
        await asyncio.to_thread(self.release.wait, 60)
        return Response("ok")

    async def called(self) -> bool:
        return self.calls > 0


async def runs_by_task(database: Any) -> dict[str, tuple[str, int]]:
    """Each task's automation run: its state and attempts."""
    async with database.session() as session:
        rows = await session.execute(
            select(m.Task.title, m.AutomationRun.state, m.AutomationRun.attempts)
            .join(m.Event, m.Event.id == m.AutomationRun.event_id)
            .join(m.Task, m.Task.id == m.Event.subject_id)
        )
        return {title: (state.name, attempts) for title, state, attempts in rows}


@postgres_only
async def test_a_worker_given_sigterm_finishes_its_automation_and_requeues_the_rest(
    database_url, redis_url, bus_channel, acme, database, tmp_path: Path
):
    if redis_url is None:
        pytest.skip("Redis is not reachable")
    token = acme[Role.MANAGER]
    receiver = Receiver()
    # no sweep: a message the worker dropped would stay lost, not be sent again
    settings = deployment(database_url, redis_url, redis_url, bus_channel, webhook_allow="127.0.0.1", automation_sweep_seconds="0")
    log = tmp_path / "worker.log"

    async def stopping() -> bool:
        return b"worker stopping" in log.read_bytes()

    async def both_succeeded() -> bool:
        return sorted((await runs_by_task(database)).values()) == [("SUCCEEDED", 1), ("SUCCEEDED", 1)]

    with serving(receiver.app) as hook_url, spawned(**settings) as api, contextlib.ExitStack() as cleanup:
        cleanup.callback(receiver.release.set)  # whatever happens, the receiver lets go
        async with Http(api) as http:
            project = await create_project(http, token, "WEB")
            await create_rule(http, token, name="Notify", trigger={"kind": "EVENT", "eventType": "task.created"},
                              actions=[{"type": "SEND_WEBHOOK", "params": {"url": f"{hook_url}/hook"}}])
            await create_task(http, token, project, "First")
            await create_task(http, token, project, "Second")
        # one thread: the worker runs one message and holds the other, fetched but not started
        with log.open("wb") as output, command("worker", "--threads", "1", stderr=output, **settings) as worker:
            await until(receiver.called, "the worker to call the webhook")
            worker.send_signal(signal.SIGTERM)
            await until(stopping, "the worker to start stopping")
            receiver.release.set()
            assert await asyncio.to_thread(worker.wait, 30) == 0
        assert sorted((await runs_by_task(database)).values()) == [("QUEUED", 0), ("SUCCEEDED", 1)]
        assert receiver.calls == 1

        with command("worker", **settings):  # the message held went back to the queue
            await until(both_succeeded, "the other run to succeed")
    assert receiver.calls == 2  # each webhook once
    assert await scalar(database, select(func.count()).select_from(m.AutomationRun)) == 2
