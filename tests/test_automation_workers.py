"""Automations across processes: an API process dispatches to Redis, ``mcgraph worker``
runs the rule, and a subscriber of the API process sees the worker's change live."""

from __future__ import annotations

import asyncio
import time

import pytest

from mcgraph.db.models import Role
from tests.live import Http, command, open_socket, spawned
from tests.test_live_fanout import postgres_only
from tests.test_subscriptions import EVENTS, create_project, create_task

RULE = """mutation($input: CreateAutomationRuleInput!) { createAutomationRule(input: $input) { rule { id } userErrors { message } } }"""
RUNS = "{ automationRuns(first: 10) { nodes { state attempts results { status } } } }"


@postgres_only
async def test_a_worker_process_runs_the_rule_and_the_api_subscriber_sees_it(database_url, redis_url, bus_channel, acme):
    if redis_url is None:
        pytest.skip("Redis is not reachable")
    token = acme[Role.MANAGER]
    settings = {
        "database_url": database_url,
        "broker_url": redis_url,
        "bus_url": redis_url,
        "bus_channel": bus_channel,
        "hub_poll_seconds": "0",
        "health_sweep_seconds": "0",
        "schedule_seconds": "0",
    }
    with spawned(**settings) as api, command("worker", "--threads", "2", **settings):
        async with Http(api) as http, open_socket(api, acme[Role.VIEWER]) as sock:
            project = await create_project(http, token, "WEB")
            rule = await http.data(
                RULE,
                {"input": {
                    "name": "Welcome",
                    "trigger": {"kind": "EVENT", "eventType": "task.created"},
                    "actions": [{"type": "ADD_COMMENT", "params": {"body": "Welcome, {{ task.title }}"}}],
                }},
                token=token,
            )
            assert rule["createAutomationRule"]["userErrors"] == []
            await sock.subscribe(EVENTS, {"after": "0", "types": ["comment.added", "task.created"]})
            await create_task(http, token, project, "First task")

            seen = [(await sock.data())["events"]["type"] for _ in range(2)]
            assert seen == ["task.created", "comment.added"]  # the comment, made by the worker

            deadline = time.monotonic() + 20
            while (found := (await http.data(RUNS, token=token))["automationRuns"]["nodes"]) == [] or found[0]["state"] != "SUCCEEDED":
                assert time.monotonic() < deadline, found
                await asyncio.sleep(0.05)
            assert found == [{"state": "SUCCEEDED", "attempts": 1, "results": [{"status": "done"}]}]
