"""Production logs of a real ``mcgraph serve``: every line on stdout and stderr is JSON, the
access line carries the path without its query string (a GET's query and variables never
reach the log), and an error nothing caught is one JSON line with its traceback and the
request id, answered with a JSON 500 carrying the same id."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from mcgraph.db.models import Role
from tests.live import free_port, wait_until_serving

pytestmark = pytest.mark.parametrize("mcgraph_database_url", ["sqlite"], indirect=True)

SECRET = "SECRET123"
QUERY = "query Q($s: String) { project(key: $s) { id } }"
# `mcgraph serve`, with two faults planted: the readiness check and team creation raise.
WITH_FAULTS = """
import sys
import mcgraph.app, mcgraph.domain.tenancy

async def broken_readiness(runtime):
    raise RuntimeError("readiness exploded")

async def broken_create_team(*args, **kwargs):
    raise RuntimeError("team creation exploded")

mcgraph.app.readiness = broken_readiness
mcgraph.domain.tenancy.create_team = broken_create_team
from mcgraph.cli import main
main(sys.argv[1:], prog_name="mcgraph")
"""


@contextlib.contextmanager
def serve(tmp_path: Path, database_url: str, *args: str, faults: bool = False) -> Iterator[tuple[str, Path, Path]]:
    """``mcgraph serve`` in production; yields its URL and the files of its stdout and stderr."""
    port = free_port()
    env = {
        **os.environ,
        "MCGRAPH_ENV": "production",
        "MCGRAPH_SECRET_KEY": "k" * 40,
        "MCGRAPH_DATABASE_URL": database_url,
        "MCGRAPH_HEALTH_SWEEP_SECONDS": "0",
        "MCGRAPH_SCHEDULE_SECONDS": "0",
    }
    program = ["-c", WITH_FAULTS] if faults else ["-m", "mcgraph.cli"]
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, *program, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, process, timeout=120)  # worker processes start slowly on a busy machine
            yield url, out, err
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def lines_of(*files: Path) -> tuple[str, list[dict[str, Any]]]:
    """The whole text of ``files`` and each of their lines, which must all be JSON objects."""
    text = "".join(f.read_text() for f in files)
    parsed = []
    for line in text.splitlines():
        if line.strip():
            try:
                parsed.append(json.loads(line))
            except ValueError:
                pytest.fail(f"a log line is not JSON: {line!r}")
    return text, parsed


def ask_with_a_secret(url: str, token: dict[str, str]) -> httpx.Response:
    """A GET whose query string holds the query and a secret in its variables."""
    response = httpx.get(url + "/graphql", params={"query": QUERY, "variables": json.dumps({"s": SECRET})}, headers=token)
    assert response.status_code == 200 and response.json() == {"data": {"project": None}}
    return response


def access_line(lines: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    (line,) = [line for line in lines if line.get("event") == "access" and line.get("request_id") == request_id]
    return line


async def test_production_logs_are_json_without_query_strings_and_errors_carry_the_request_id(tmp_path, database_url, acme):
    token = {"Authorization": f"Bearer {acme[Role.OWNER]}"}
    with serve(tmp_path, database_url, faults=True) as (url, out, err):
        asked = ask_with_a_secret(url, token)
        ws = url.replace("http://", "ws://") + f"/graphql?token={SECRET}"
        with connect(ws, subprotocols=["graphql-transport-ws"]) as socket:
            socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": token["Authorization"]}}))
            assert json.loads(socket.recv(10))["type"] == "connection_ack"

        broken = httpx.get(url + "/readyz")
        assert broken.status_code == 500 and broken.headers["content-type"] == "application/json"
        (error,) = broken.json()["errors"]
        assert error["extensions"] == {"code": "INTERNAL", "requestId": broken.headers["x-request-id"]}
        assert "exploded" not in broken.text and "Traceback" not in broken.text

        mutation = "mutation { createTeam(input: {name: \"Ops\"}) { team { id } } }"
        failed = httpx.post(url + "/graphql", json={"query": mutation}, headers=token)
        assert failed.json()["errors"][0]["extensions"]["code"] == "INTERNAL"

    text, lines = lines_of(out, err)
    assert SECRET not in text
    quoting = [line for line in lines if line.get("event") == "access" or line.get("logger", "").startswith("uvicorn")]
    assert any("WebSocket /graphql" in line["event"] for line in quoting), "uvicorn quotes the socket's path"
    for line in quoting:
        assert "?" not in json.dumps(line), line  # the path alone, never the query string

    line = access_line(lines, asked.headers["x-request-id"])
    assert (line["method"], line["path"], line["status"]) == ("GET", "/graphql", 200)

    (unhandled,) = [line for line in lines if line.get("event") == "unhandled error"]
    assert unhandled["request_id"] == broken.headers["x-request-id"] and unhandled["level"] == "error"
    assert unhandled["path"] == "/readyz"
    assert "Traceback" in unhandled["exception"] and "RuntimeError: readiness exploded" in unhandled["exception"]
    assert access_line(lines, broken.headers["x-request-id"])["status"] == 500

    (internal,) = [line for line in lines if line.get("event") == "internal error"]
    assert internal["request_id"] == failed.headers["x-request-id"]
    assert "RuntimeError: team creation exploded" in internal["exception"]
    # no traceback anywhere but in those two lines' fields
    assert sum("Traceback" in json.dumps(line) for line in lines) == 2


async def test_every_worker_process_logs_json(tmp_path, database_url, acme):
    with serve(tmp_path, database_url, "--workers", "2") as (url, out, err):
        asked = ask_with_a_secret(url, {"Authorization": f"Bearer {acme[Role.VIEWER]}"})
    text, lines = lines_of(out, err)
    assert SECRET not in text
    assert access_line(lines, asked.headers["x-request-id"])["path"] == "/graphql"
    started = [line for line in lines if line.get("event") == "mcgraph started"]
    assert len(started) == 2, "both worker processes log as the app does"
