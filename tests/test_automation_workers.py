"""Automations across processes: API processes dispatch to Redis or RabbitMQ, ``mcgraph
worker`` processes run the rules; a worker killed part-way loses and doubles nothing;
two ``mcgraph scheduler`` processes fire each slot once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from mcgraph.db import models as m
from mcgraph.db.models import Role
from tests.live import Http, command, free_port, open_socket, serving, spawned
from tests.test_live_fanout import postgres_only
from tests.test_subscriptions import EVENTS, create_project, create_task, create_tasks

RULE = "mutation($input: CreateAutomationRuleInput!) { createAutomationRule(input: $input) { rule { id } userErrors { message } } }"
RUNS = "{ automationRuns(first: 10) { nodes { id state attempts error results { status } } } }"
RETRY = "mutation($id: ID!) { retryAutomationRun(input: {runId: $id}) { run { state } userErrors { message } } }"
QUIET = {"hub_poll_seconds": "0", "health_sweep_seconds": "0", "schedule_seconds": "0"}


def deployment(database_url: str, broker_url: str, bus_url: str, channel: str, **extra: str) -> dict[str, str]:
    return {"database_url": database_url, "broker_url": broker_url, "bus_url": bus_url, "bus_channel": channel, **QUIET, **extra}


async def until(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Poll the coroutine function ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while not (found := await check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)
    return found


async def create_rule(http: Http, token: str, **input: Any) -> None:
    payload = (await http.data(RULE, {"input": input}, token=token))["createAutomationRule"]
    assert payload["userErrors"] == []


async def scalar(database: Any, statement: Any) -> Any:
    async with database.session() as session:
        return await session.scalar(statement)


@postgres_only
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
async def test_worker_processes_run_rules_retry_them_and_retry_dead_ones_on_request(
    database_url, redis_url, rabbitmq_url, bus_channel, acme, broker
):
    broker_url = redis_url if broker == "redis" else rabbitmq_url
    if broker_url is None or redis_url is None:
        pytest.skip(f"{broker} is not reachable")
    token = acme[Role.MANAGER]
    hook_port = free_port()  # nothing listens there yet: the webhook fails until the receiver starts
    settings = deployment(
        database_url, broker_url, redis_url, bus_channel,
        webhook_allow="127.0.0.1", automation_max_attempts="3", automation_retry_seconds="0.2",
    )
    with spawned(**settings) as api, command("worker", "--threads", "2", **settings):
        async with Http(api) as http, open_socket(api, acme[Role.VIEWER]) as sock:
            project = await create_project(http, token, "WEB")
            await create_rule(http, token, name="Welcome", trigger={"kind": "EVENT", "eventType": "task.created"},
                              actions=[{"type": "ADD_COMMENT", "params": {"body": "Welcome, {{ task.title }}"}}])
            await create_rule(http, token, name="Notify", trigger={"kind": "EVENT", "eventType": "task.created"},
                              actions=[{"type": "SEND_WEBHOOK", "params": {"url": f"http://127.0.0.1:{hook_port}/hook"}}])
            await sock.subscribe(EVENTS, {"after": "0", "types": ["comment.added", "task.created"]})
            await create_task(http, token, project, "First task")

            seen = [(await sock.data())["events"]["type"] for _ in range(2)]
            assert seen == ["task.created", "comment.added"]  # the comment, made by a worker, seen through the API

            async def finished() -> list[dict[str, Any]]:
                nodes = (await http.data(RUNS, token=token))["automationRuns"]["nodes"]
                return nodes if len(nodes) == 2 and all(n["state"] in ("SUCCEEDED", "DEAD") for n in nodes) else []

            runs = {len(r["results"]) and r["results"][0]["status"]: r for r in await until(finished, "both runs to finish")}
            assert (runs["done"]["state"], runs["done"]["attempts"]) == ("SUCCEEDED", 1)
            dead = runs["failed"]
            assert (dead["state"], dead["attempts"]) == ("DEAD", 3)
            assert "webhook" in dead["error"]

            # the cause is fixed: the receiver is up
            from starlette.applications import Starlette
            from starlette.responses import Response
            from starlette.routing import Route

            async def hook(_: Any) -> Response:
                return Response("ok")

            async with serving(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), port=hook_port):
                assert (await http.data(RETRY, {"id": dead["id"]}, token=token))["retryAutomationRun"]["userErrors"] == []

                async def succeeded() -> bool:
                    nodes = (await http.data(RUNS, token=token))["automationRuns"]["nodes"]
                    return any(n["id"] == dead["id"] and n["state"] == "SUCCEEDED" for n in nodes)

                await until(succeeded, "the retried run to succeed")


@postgres_only
@pytest.mark.timeout(300)
async def test_a_worker_killed_part_way_loses_and_doubles_nothing(database_url, redis_url, bus_channel, acme, database):
    if redis_url is None:
        pytest.skip("Redis is not reachable")
    token = acme[Role.MANAGER]
    settings = deployment(
        database_url, redis_url, redis_url, bus_channel, automation_sweep_seconds="1", automation_stuck_seconds="3",
        rate_limit_requests_per_minute="0",  # 1,000 writes with one token, faster than a token may
    )
    effects = select(func.count()).select_from(m.Comment).where(m.Comment.body == "seen")
    with spawned(**settings) as api:
        async with Http(api) as http:
            project = await create_project(http, token, "LOAD")
            await create_rule(http, token, name="Count", trigger={"kind": "EVENT", "eventType": "task.created"},
                              actions=[{"type": "ADD_COMMENT", "params": {"body": "seen"}}])
            await create_tasks(http, token, project, 1000, "L")  # 1,000 events, queued before any worker runs
            with command("worker", "--threads", "4", **settings) as worker:
                await until(lambda: _at_least(database, effects, 150), "the worker to get going", timeout=120)
                os.kill(worker.pid, signal.SIGKILL)  # part-way, mid-action perhaps
                worker.wait(10)
            partial = await scalar(database, effects)
            assert 150 <= partial < 1000
            with command("worker", "--threads", "4", **settings):
                await until(lambda: _at_least(database, effects, 1000), "1,000 effects", timeout=150)
                succeeded = select(func.count()).select_from(m.AutomationRun).where(m.AutomationRun.state == m.AutomationRunState.SUCCEEDED)
                await until(lambda: _at_least(database, succeeded, 1000), "1,000 runs to succeed", timeout=60)
    assert await scalar(database, effects) == 1000  # exactly once each
    assert await scalar(database, select(func.count()).select_from(m.AutomationRun)) == 1000
    per_task = (
        select(m.Comment.task_id).where(m.Comment.body == "seen").group_by(m.Comment.task_id).having(func.count() > 1)
    )
    assert await scalar(database, select(func.count()).select_from(per_task.subquery())) == 0


async def _at_least(database: Any, statement: Any, count: int) -> bool:
    return (await scalar(database, statement)) >= count


@postgres_only
async def test_two_schedulers_at_once_fire_each_slot_once(database_url, redis_url, bus_channel, acme, database):
    if redis_url is None:
        pytest.skip("Redis is not reachable")
    token = acme[Role.MANAGER]
    settings = deployment(database_url, redis_url, redis_url, bus_channel)
    with spawned(**settings) as api:
        async with Http(api) as http:
            for name in ("Hourly", "Canary"):
                await create_rule(http, token, name=name, trigger={"kind": "SCHEDULE", "cron": "0 * * * *"},
                                  actions=[{"type": "RAISE_EVENT", "params": {"name": f"{name.lower()}.tick"}}])
    async with database.session() as session:
        rules = {rule.name: rule.id for rule in await session.scalars(select(m.AutomationRule))}
    # the rule was saved long ago: its latest slot is due (one catch-up event, however many were missed)
    await _make_due(database, rules["Hourly"])
    fired = select(func.count()).select_from(m.Event).where(m.Event.type == "automation.scheduled")
    ticks = select(func.count()).select_from(m.Event).where(m.Event.type == "event.raised")
    canary = fired.where(m.Event.subject_id == rules["Canary"])
    quick = {**settings, "schedule_seconds": "0.2", "health_sweep_seconds": "0.2"}
    with command("scheduler", **quick), command("scheduler", **quick), command("worker", **settings):
        await until(lambda: _at_least(database, ticks, 1), "the scheduled rule to act")
        # the positive signal that more rounds have run: the canary, made due after the rule
        # fired, fires again in a later round each time; three times is two whole rounds since
        for times in (1, 2, 3):
            await _make_due(database, rules["Canary"])
            await until(lambda times=times: _at_least(database, canary, times), f"the canary to fire {times} times")
    assert await scalar(database, fired.where(m.Event.subject_id == rules["Hourly"])) == 1
    assert await scalar(database, ticks.where(~m.Event.data["name"].as_string().like("canary%"))) == 1


async def _make_due(database: Any, rule_id: int) -> None:
    """Move the rule's last slot and save time five hours back: its latest slot is due."""
    async with database.transaction() as session:
        rule = await session.get(m.AutomationRule, rule_id)
        await session.execute(
            update(m.AutomationRule)
            .where(m.AutomationRule.id == rule_id)
            .values(last_slot_at=rule.last_slot_at - timedelta(hours=5), updated_at=rule.updated_at - timedelta(hours=5))
        )
