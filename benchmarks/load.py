"""Load from a separate process: wrk for HTTP (a Lua script posts the body), pgbench for SQL."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.measure import Figures

CONNECTIONS = 8
TIMEOUT = 60
COUNTER = "__N__"
"""In a body, replaced by a number unique to each request (for mutations that must not collide)."""

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{headers}
local bodies = {{ {bodies} }}
local counter = {offset}
errors = 0
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
request = function()
  counter = counter + 1
  local body = bodies[counter % #bodies + 1]
  return wrk.format(nil, nil, nil, (body:gsub("{counter}", tostring(counter))))
end
{check}
"""

_CHECK = """
response = function(status, headers, answer)
  if status ~= 200 or answer:find('"errors"', 1, true) or answer:find('"userErrors":[{', 1, true) then
    errors = errors + 1
  end
end
done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("errors") end
  io.write("ERRORS " .. total .. "\\n")
end
"""

# Each load numbers its requests from its own offset, also across runs of the runner (the
# clock moves faster than loads start); below 10**14, which wrk's Lua prints as an integer.
_offsets = iter(range((int(time.time()) % 10_000_000) * 1_000_000, 10**14, 100_000))


def unique_number() -> int:
    """A number no load of this or an earlier run uses for :data:`COUNTER`."""
    return next(_offsets)


def need(program: str, hint: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise SystemExit(f"{program} is not installed: {hint}")
    return path


def wrk(
    url: str,
    body: str | list[str],
    seconds: float,
    *,
    token: str | None = None,
    check_errors: bool = False,
    connections: int = CONNECTIONS,
) -> Figures:
    """POST ``body`` (or each of a list in turn) to ``url`` for ``seconds`` on :data:`CONNECTIONS`
    connections; rps and latency. ``check_errors`` counts GraphQL errors as failures."""
    program = need("wrk", "apt-get install -y wrk")
    headers = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script = _LUA.format(
        headers=headers,
        bodies=", ".join(f"[==[{b}]==]" for b in ([body] if isinstance(body, str) else body)),
        offset=next(_offsets),
        counter=COUNTER,
        check=_CHECK if check_errors else "",
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        result = subprocess.run(
            [
                program, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={TIMEOUT}s",
                "--latency", "-s", file.name, url,
            ],
            capture_output=True,
            text=True,
        )
    finally:
        Path(file.name).unlink()
    if result.returncode:
        raise RuntimeError(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    return parse_wrk(result.stdout)


def parse_wrk(output: str) -> Figures:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rps is None:
        raise RuntimeError(f"wrk gave no throughput:\n{output}")
    figures: Figures = {"rps": float(rps.group(1)), "requests": float(re.search(r"(\d+) requests in", output).group(1))}
    for label, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        found = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if found:
            figures[key] = float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", output)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"^ERRORS (\d+)$", output, re.MULTILINE)
    failed = (int(bad.group(1)) if bad else 0) + (int(timeouts.group(1)) if timeouts else 0)
    if errors:
        failed = max(failed, int(errors.group(1)))
    if failed:
        raise RuntimeError(f"{failed} requests failed under load:\n{output}")
    return figures


def pgbench(database: str, script: str, seconds: float, connections: int = CONNECTIONS) -> Figures:
    """Run the SQL ``script`` as pgbench transactions on ``connections`` connections; tps and latency."""
    program = need("pgbench", "apt-get install -y postgresql-client")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    try:
        result = subprocess.run(
            [
                program, "-n", "-h", "127.0.0.1", "-U", "postgres", "-c", str(connections), "-j", "1",
                "-T", str(max(1, round(seconds))), "-f", file.name, database,
            ],
            capture_output=True,
            text=True,
        )
    finally:
        Path(file.name).unlink()
    tps = re.search(r"tps = ([\d.]+)", result.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    if result.returncode or tps is None or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed:\n{result.stdout}\n{result.stderr}")
    return {"rps": float(tps.group(1)), "mean_ms": float(latency.group(1)) if latency else 0.0}
