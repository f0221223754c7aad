"""``python -m benchmarks profile``: py-spy on the mcgraph server under one read scenario's load.

Writes a flame graph (SVG, kept out of git) of the server process while wrk sends it the
scenario's query; py-spy comes from ``pip install py-spy``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks import load
from benchmarks.context import BENCH_ORGANIZATION
from benchmarks.dataset import Scale, token
from benchmarks.scenarios import portfolio, project_page
from benchmarks.servers import mcgraph

READS = {"portfolio": portfolio.READ, "project_page": project_page.READ}


def profile(scale: Scale, scenario: str, seconds: int, output: Path) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    read = READS[scenario]
    with mcgraph(scale) as server:
        recorder = subprocess.Popen([spy, "record", "-o", str(output), "-d", str(seconds), "-r", "50", "--pid", str(server.pid)])
        figures = load.wrk(server.url, json.dumps({"query": read.query}), seconds, token=token(BENCH_ORGANIZATION), connections=read.connections)
        recorder.wait()
    print(f"{scenario}: {figures}; profile in {output}")
