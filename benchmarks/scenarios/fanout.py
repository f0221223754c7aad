"""fanout: subscribers of ``taskChanged`` on one mcgraph process, one mutation, the time until
each has the message (p50, p99, the last); and the memory each connection costs. The
quick run has 1k subscribers; the full run 1k, 3k and 10k, one after the other (the
memory of a later count is the growth over what the earlier left, a lower bound).

The baseline: the same number of bare WebSocket connections to a Starlette endpoint that
sends them mcgraph's message in a loop. The subscribers live in a separate process
(``benchmarks.ws_clients``); arrival times and the time of sending come from the same
machine's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg
import httpx

from benchmarks.context import Context, keep_as_generated, rss_mb
from benchmarks.dataset import asyncpg_url, token
from benchmarks.measure import QUICK, Figures, Outcome, interleave, median, percentile, ratio
from benchmarks.servers import HERE, ws_baseline
from mcgraph.api.ids import encode_id

ORGANIZATION = 6
QUICK_COUNTS = (1000,)
COUNTS = (1000, 3000, 10_000)
PER_CONNECTION_KB = 50
SUBSCRIBE_SECONDS = 3

UPDATE = """mutation($input: UpdateTaskInput!) { updateTask(input: $input) { task { title } userErrors { code message } } }"""


class Subscribers:
    """The client process and its protocol: ``go`` / ``armed`` / the arrival times."""

    def __init__(self, url: str, count: int, subscribe: dict | None = None, secret: str | None = None) -> None:
        command = [sys.executable, "-m", "benchmarks.ws_clients", url, str(count)]
        if subscribe is not None:
            command += ["--subscribe", json.dumps(subscribe), "--token", secret or ""]
        self.child = subprocess.Popen(command, cwd=HERE.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._expect("ready")

    def _expect(self, word: str) -> None:
        line = self.child.stdout.readline().strip()
        if line != word:
            raise RuntimeError(f"the subscribers said {line!r}, not {word!r} (exit {self.child.poll()})")

    def round(self, fire) -> tuple[list[float], str]:
        self.child.stdin.write("go\n")
        self.child.stdin.flush()
        self._expect("armed")
        sent = time.time()
        fire()
        answer = json.loads(self.child.stdout.readline())
        if answer["missing"]:
            raise RuntimeError(f"{answer['missing']} subscribers had no message")
        return [t - sent for t in answer["times"]], answer["message"]

    def close(self) -> None:
        self.child.stdin.close()
        try:
            self.child.wait(30)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()


@contextlib.contextmanager
def subscribers(*args, **kwargs) -> Iterator[Subscribers]:
    crowd = Subscribers(*args, **kwargs)
    try:
        yield crowd
    finally:
        crowd.close()


def _figures(delays: list[float]) -> Figures:
    return {"p50_ms": median(delays) * 1000, "p99_ms": percentile(delays, 0.99) * 1000, "last_ms": max(delays) * 1000}


async def _task(url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow("SELECT id, project_id FROM task WHERE organization_id = $1 ORDER BY id LIMIT 1", ORGANIZATION)
        return row["id"], row["project_id"]
    finally:
        await connection.close()


@dataclass(frozen=True)
class Target:
    """mcgraph's side: its process, where to subscribe, with what, and the change to fire."""

    pid: int
    url: str
    subscribe: dict
    secret: str
    update: Callable[[], None]


def _at(context: Context, count: int, target: Target, bare, payload: dict[str, str]) -> dict[str, Figures]:
    """mcgraph and the bare loop with ``count`` subscribers each, interleaved; memory per connection."""
    pid, ws_url, subscribe, secret, update = target.pid, target.url, target.subscribe, target.secret, target.update
    with contextlib.ExitStack() as stack:
        before = {"mcgraph": rss_mb(pid), "bare_send_loop": rss_mb(bare.pid)}
        crowd = stack.enter_context(subscribers(ws_url, count, subscribe, secret))
        bare_crowd = stack.enter_context(subscribers(bare.url.replace("http://", "ws://") + "/ws", count))
        # mcgraph registers the last subscriptions a moment after their connections open:
        # until then a first message would not reach them all
        time.sleep(SUBSCRIBE_SECONDS)

        def mcgraph(_seconds: float) -> Figures:
            delays, message = crowd.round(update)
            payload.setdefault("message", message)
            return _figures(delays)

        def send_loop(_seconds: float) -> Figures:
            message = payload.get("message", "{}")
            delays, _ = bare_crowd.round(lambda: httpx.post(f"{bare.url}/send", content=message, timeout=60))
            return _figures(delays)

        context.log(f"  {count} subscribers")
        figures = interleave({"mcgraph": mcgraph, "bare_send_loop": send_loop}, context.plan, context.log, settle=lambda: None)
        for name, process in (("mcgraph", pid), ("bare_send_loop", bare.pid)):
            figures[name]["kb_per_connection"] = round((rss_mb(process) - before[name]) * 1024 / count, 1)
    return figures


def run(context: Context) -> Outcome:
    keep_as_generated(context)
    task_id, project_id = asyncio.run(_task(asyncpg_url(context.scale)))
    server = context.server("mcgraph")
    secret = token(ORGANIZATION)
    ws_url = server.url.replace("http://", "ws://")
    subscribe = {"query": f'subscription {{ taskChanged(projectId: "{encode_id("Project", project_id)}") {{ event {{ id type }} task {{ key title }} }} }}'}
    counter = iter(range(1, 10**9))
    payload: dict[str, str] = {}

    def update() -> None:
        body = {"query": UPDATE, "variables": {"input": {"taskId": encode_id("Task", task_id), "title": f"Fan-out {next(counter)}"}}}
        answer = httpx.post(server.url, json=body, headers={"Authorization": f"Bearer {secret}"}, timeout=60).json()
        if "errors" in answer or answer["data"]["updateTask"]["userErrors"]:
            raise RuntimeError(f"updateTask failed: {answer}")

    counts = QUICK_COUNTS if context.plan == QUICK else COUNTS
    figures: dict[str, Figures] = {}
    outcome = Outcome(figures=figures)
    with ws_baseline() as bare:
        for count in counts:
            measured = _at(context, count, Target(server.pid, ws_url, subscribe, secret, update), bare, payload)
            figures.update({f"{name}@{count}": values for name, values in measured.items()})
            key = f"ratio_p99_vs_send_loop_at_{count}"
            outcome.ratios[key] = ratio(measured["mcgraph"]["p99_ms"], measured["bare_send_loop"]["p99_ms"])
            outcome.targets[key] = "<= 1.5" if count == 10_000 else "(reported; target at 10k)"
            key = f"ratio_kb_per_connection_vs_limit_at_{count}"
            outcome.ratios[key] = ratio(measured["mcgraph"]["kb_per_connection"], PER_CONNECTION_KB)
            outcome.targets[key] = f"<= 1.0 ({PER_CONNECTION_KB} KB)"
    outcome.notes.append(f"subscribers: {', '.join(map(str, counts))}; one updateTask per round")
    return outcome
