"""The deployment guide (docs/deploy.md) and the Procfile, run by honcho as the guide says:
migrate, then two API processes, a worker and a scheduler on PostgreSQL and Redis. A
subscriber on one API process sees a task made through the other, and the comment an
automation adds to it on the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from mcgraph.automation.scheduler import LEADER_LOCK
from mcgraph.db.models import Role
from mcgraph.settings import Settings
from mcgraph.testing import reachable
from tests.live import Http, free_port, open_socket, wait_until_serving
from tests.test_automation_workers import create_rule, scalar, until
from tests.test_live_fanout import postgres_only
from tests.test_subscriptions import EVENTS, create_project, create_task

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = ROOT / "Procfile"
LEADING = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND objid = :key"
).bindparams(key=LEADER_LOCK)


def honcho_start(*args: str) -> list[str]:
    """``honcho start`` of the Procfile, with ``args``; the environment is the test's alone (no ``.env``)."""
    return [sys.executable, "-m", "honcho", "start", "--procfile", str(PROCFILE), "--env", os.devnull, *args]


def two_free_ports() -> int:
    """A port that is free, with the next one free too (honcho numbers api.1, api.2 so)."""
    while True:
        port = free_port()
        if not reachable("127.0.0.1", port + 1):
            return port


def test_the_guide_names_every_setting():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    variables = [f"MCGRAPH_{name.upper()}" for name in Settings.model_fields]
    assert [variable for variable in variables if f"`{variable}`" not in guide] == []


@postgres_only
@pytest.mark.timeout(180)
async def test_the_procfile_runs_the_deployment_on_one_machine(database_url, redis_url, bus_channel, acme, database):
    if redis_url is None:
        pytest.skip("Redis is not reachable")
    token = acme[Role.MANAGER]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # where `mcgraph` is
        "MCGRAPH_DATABASE_URL": database_url,
        "MCGRAPH_BROKER_URL": redis_url,
        "MCGRAPH_BUS_URL": redis_url,
        "MCGRAPH_BUS_CHANNEL": bus_channel,
        "MCGRAPH_HUB_POLL_SECONDS": "0",  # what reaches the other process comes through the bus
    }
    release = subprocess.run(honcho_start("release"), env=env, stdin=subprocess.DEVNULL, timeout=60, check=False)
    assert release.returncode == 0

    port = two_free_ports()
    command = honcho_start("--port", str(port), "--concurrency", "api=2", "api", "worker", "scheduler")
    processes = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    try:
        one, two = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
        for url in (one, two):
            wait_until_serving(url, processes, timeout=60)
            ready = httpx.get(url + "/readyz", timeout=10)
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "bus": "ok"}

        async def leading() -> bool:
            return await scalar(database, LEADING) == 1

        await until(leading, "the scheduler to lead")

        async with Http(two) as http, open_socket(one, acme[Role.VIEWER]) as sock:
            project = await create_project(http, token, "OPS")
            await create_rule(http, token, name="Welcome", trigger={"kind": "EVENT", "eventType": "task.created"},
                              actions=[{"type": "ADD_COMMENT", "params": {"body": "Welcome, {{ task.title }}"}}])
            await sock.subscribe(EVENTS, {"after": "0", "types": ["task.created", "comment.added"]})
            await create_task(http, token, project, "First")
            # the first two may come from the log; after them the subscription is live
            assert [(await sock.data())["events"]["type"] for _ in range(2)] == ["task.created", "comment.added"]

            await create_task(http, token, project, "Second")
            live = [r["events"]["type"] for r in await sock.results(2, timeout=30)]
            assert live == ["task.created", "comment.added"]  # made through API 2, commented by the worker
    finally:
        processes.send_signal(signal.SIGTERM)
        processes.wait(30)
    assert processes.returncode == 128 + signal.SIGTERM  # honcho's code for "stopped by SIGTERM"
