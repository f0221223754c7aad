"""Fan-out across API processes, and events that outlive a process that died before publishing.

The cross-process tests start real server processes (``uvicorn``) on one PostgreSQL
database, sharing a Redis or a PostgreSQL LISTEN/NOTIFY bus. Their hub poll and relay
sweep are off, so what arrives came through the bus (or the relay's start-up sweep).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from mcgraph.app import create_app
from mcgraph.db.models import Event, Role
from tests.live import Http, Live, open_socket, serving, spawned
from tests.test_subscriptions import EVENTS, create_project, create_task

QUIET = {"hub_poll_seconds": "0", "relay_sweep_seconds": "0", "health_sweep_seconds": "0", "schedule_seconds": "0"}
BROKEN = {"redis": "redis://127.0.0.1:1/0", "postgresql": "postgresql://postgres@127.0.0.1:1/test"}

postgres_only = pytest.mark.parametrize("mcgraph_database_url", ["postgresql"], indirect=True)


def bus_url(kind: str, database_url: str, redis_url: str | None) -> str:
    if kind == "postgresql":
        return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    if redis_url is None:
        pytest.skip("Redis is not reachable")
    return redis_url


def server_settings(database_url: str, bus: str, channel: str) -> dict[str, str]:
    return {"database_url": database_url, "bus_url": bus, "bus_channel": channel, **QUIET}


async def unpublished(database: Any) -> list[str]:
    async with database.session() as session:
        return list(await session.scalars(select(Event.type).where(Event.published_at.is_(None)).order_by(Event.id)))


@postgres_only
@pytest.mark.parametrize("bus", ["redis", "postgresql"])
async def test_a_change_made_through_one_process_reaches_a_subscriber_of_another(database_url, redis_url, bus_channel, acme, bus):
    token = acme[Role.MANAGER]
    env = server_settings(database_url, bus_url(bus, database_url, redis_url), bus_channel)
    with spawned(**env) as one, spawned(**env) as two:
        async with Http(two) as http, open_socket(one, acme[Role.VIEWER]) as sock:
            project = await create_project(http, token, "WEB")
            await sock.subscribe(EVENTS, {"after": "0", "types": ["task.*"]})
            await create_task(http, token, project, "First")
            # the first may come from the log; once it is here the subscription is live
            assert (await sock.data())["events"]["type"] == "task.created"

            task = await create_task(http, token, project, "Second")
            await http.data(
                "mutation($i: SetTaskStateInput!) { setTaskState(input: $i) { userErrors { code } } }",
                {"i": {"taskId": task, "state": "done"}},
                token=token,
            )
            live = [r["events"]["type"] for r in await sock.results(2)]
            assert live == ["task.created", "task.state_changed"]


@postgres_only
@pytest.mark.parametrize("bus", ["redis", "postgresql"])
async def test_events_a_process_could_not_publish_are_delivered_after_it_restarts(database_url, redis_url, bus_channel, acme, database, bus):
    token = acme[Role.MANAGER]
    good = server_settings(database_url, bus_url(bus, database_url, redis_url), bus_channel)
    broken = {**good, "bus_url": BROKEN[bus]}
    with spawned(**good) as reader:
        async with open_socket(reader, acme[Role.VIEWER]) as sock:
            with spawned(**broken) as writer:
                async with Http(writer) as http:
                    project = await create_project(http, token, "WEB")
                    await sock.subscribe(EVENTS, {"after": "0"})
                    assert (await sock.data())["events"]["type"] == "project.created"  # from the log
                    await create_task(http, token, project, "Lost on the way?")
            # the writer has stopped, its relay's last try failed: nothing can have carried it
            assert await unpublished(database) == ["project.created", "task.created"]
            assert await sock.nothing_queued()

            with spawned(**good) as again:  # the writer, restarted with its bus back: its relay publishes what was left
                lost = (await sock.data())["events"]
                assert lost["type"] == "task.created"
                async with Http(again) as http:
                    await create_task(http, token, project, "After")
                following = (await sock.data())["events"]  # once: the next one is the later task
                assert following["type"] == "task.created" and int(following["cursor"]) > int(lost["cursor"])
            assert await unpublished(database) == []


async def test_an_event_left_unpublished_by_a_dead_process_is_published_when_it_starts_again(settings, clock, acme, database):
    token = acme[Role.MANAGER]
    quiet = settings.model_copy(update={"hub_poll_seconds": 0, "relay_sweep_seconds": 0})
    first = create_app(quiet, clock=clock)
    async with serving(first) as url:
        server = Live(url, first)
        server.runtime.database.on_commit = lambda events: None  # it dies between commit and publish
        async with Http(url) as http, open_socket(url, acme[Role.VIEWER]) as sock:
            await sock.subscribe(EVENTS)
            await server.listening(1)
            await create_project(http, token, "WEB")
            # the rounds that would carry it are over: the relay's (whatever committed is handed
            # on), then the hub's reading of the log, if the relay woke it; then nothing is queued
            await server.runtime.relay.close()
            await asyncio.gather(*server.runtime.hub._readers.values())
            assert await sock.nothing_queued()
    assert await unpublished(database) == ["project.created"]

    again = create_app(quiet, clock=clock)
    async with serving(again) as url:
        assert await unpublished(database) == []  # the relay's start-up sweep
        async with Http(url) as http, open_socket(url, acme[Role.VIEWER]) as sock:
            # the dashboard resumes from the start: the event was kept, and comes once
            await sock.subscribe(EVENTS, {"after": "0"})
            assert (await sock.data())["events"]["type"] == "project.created"
            await create_project(http, token, "OPS")
            ops = (await sock.data())["events"]
            assert ops["type"] == "project.created"
            await create_project(http, token, "QA")  # once: the next one is the project created after
            following = (await sock.data())["events"]
            assert following["type"] == "project.created" and int(following["cursor"]) > int(ops["cursor"])


async def test_the_relay_sweep_publishes_what_a_failed_publish_left(app, gql, acme, database, monkeypatch):
    relay = app.state.runtime.relay

    async def fail(signal: object) -> None:
        raise ConnectionError("the bus is down")

    monkeypatch.setattr(app.state.runtime.bus, "publish", fail)
    for key in ("WEB", "OPS"):
        await gql.data('mutation($k: String!) { createProject(input: {key: $k, name: $k}) { userErrors { code } } }', {"k": key}, token=acme[Role.MANAGER])
    await relay.flush()
    assert await unpublished(database) == ["project.created", "project.created"]

    monkeypatch.undo()
    # a sweep publishes what a previous sweep saw unpublished too (not what is on its way)
    assert await relay.sweep() == 0
    assert await relay.sweep() == 2
    assert await unpublished(database) == []
