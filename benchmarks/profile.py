"""``python -m benchmarks profile``: py-spy on the mcgraph server under one scenario's load.

Writes a flame graph (SVG, kept out of git) of the server process while wrk sends it the
scenario's query, or its createTask mutations for ``create_task`` (the tasks and events
they add are deleted afterwards, as the scenario does); ``--format raw`` writes py-spy's
collapsed stacks instead, one line per stack with its sample count, for counting where
the time goes. py-spy comes from ``pip install py-spy``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks import load
from benchmarks.context import BENCH_ORGANIZATION, Context, keep_as_generated
from benchmarks.dataset import Scale, asyncpg_url, token
from benchmarks.measure import QUICK
from benchmarks.scenarios import create_task, portfolio, project_page
from benchmarks.servers import mcgraph

READS = {"portfolio": portfolio.READ, "project_page": project_page.READ}


def profile(scale: Scale, scenario: str, seconds: int, output: Path, format: str = "flamegraph") -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    context = Context(scale, QUICK)
    if scenario == "create_task":
        bodies: str | list[str] = create_task.bodies(create_task.mcgraph_projects(asyncpg_url(scale)))
        secret, connections = token(create_task.ORGANIZATIONS["mcgraph"]), create_task.CONNECTIONS
        keep_as_generated(context)
    else:
        read = READS[scenario]
        bodies, secret, connections = json.dumps({"query": read.query}), token(BENCH_ORGANIZATION), read.connections
    try:
        with mcgraph(scale) as server:
            command = [spy, "record", "-o", str(output), "-f", format, "-d", str(seconds), "-r", "50", "--pid", str(server.pid)]
            recorder = subprocess.Popen(command)
            figures = load.wrk(server.url, bodies, seconds, token=secret, check_errors=scenario == "create_task", connections=connections)
            recorder.wait()
    finally:
        context.close()
    print(f"{scenario}: {figures}; profile in {output}")
