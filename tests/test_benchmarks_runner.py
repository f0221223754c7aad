"""The benchmark runner's pure parts: medians, ratios, interleaving, wrk's output, the report.

The benchmarks themselves are not run by the tests (they measure; see benchmarks/README.md).
"""

from __future__ import annotations

import json

import pytest

from benchmarks.load import parse_wrk
from benchmarks.measure import Outcome, Plan, interleave, median, ratio, report, table

WRK_OUTPUT = """Running 4s test @ http://127.0.0.1:8000/graphql
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.18ms   10.21ms 193.30ms   91.2%
  Latency Distribution
     50%   14.18ms
     75%   17.02ms
     90%   21.50ms
     99%    1.20s
  1762 requests in 4.00s, 10.93MB read
Requests/sec:    440.10
Transfer/sec:      2.73MB
"""


def test_median_and_ratio() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 3.0) == 0.333
    assert ratio(None, 2.0) is None
    assert ratio(2.0, 0.0) is None
    with pytest.raises(ValueError):
        median([])


def test_interleave_warms_up_then_turns_the_order_each_round() -> None:
    calls: list[tuple[str, float]] = []

    def target(name: str, value: float):
        def run(seconds: float) -> dict[str, float]:
            calls.append((name, seconds))
            return {"rps": value + len(calls)}

        return run

    medians = interleave(
        {"a": target("a", 0), "b": target("b", 100)}, Plan(warmup_seconds=1, round_seconds=2, rounds=3),
        log=lambda line: None, settle=lambda: None,
    )
    assert calls == [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("b", 2), ("a", 2), ("a", 2), ("b", 2)]
    # a's rounds were calls 3, 6, 7 and b's 4, 5, 8: the medians are 6 and 105
    assert medians == {"a": {"rps": 6.0}, "b": {"rps": 105.0}}


def test_a_round_without_one_answer_is_refused() -> None:
    with pytest.raises(RuntimeError, match="no request"):
        interleave({"slow": lambda s: {"rps": 0.0, "requests": 0.0}}, Plan(0, 1, 1), log=lambda line: None, settle=lambda: None)


def test_wrk_output_gives_throughput_and_latency_in_milliseconds() -> None:
    assert parse_wrk(WRK_OUTPUT) == {"rps": 440.1, "requests": 1762.0, "p50_ms": 14.18, "p99_ms": 1200.0}
    with pytest.raises(RuntimeError, match="failed under load"):
        parse_wrk(WRK_OUTPUT + "  Non-2xx or 3xx responses: 3\n")
    with pytest.raises(RuntimeError, match="failed under load"):
        parse_wrk(WRK_OUTPUT.replace("  Latency Distribution", "  Socket errors: connect 0, read 0, write 0, timeout 2\n  Latency Distribution"))


def test_report_holds_every_scenario_its_ratios_the_machine_and_the_date() -> None:
    measured = Outcome(figures={"mcgraph": {"rps": 2.0}, "postgraphile": {"rps": 1.0}})
    measured.ratios["ratio_vs_postgraphile"] = 2.0
    measured.targets["ratio_vs_postgraphile"] = ">= 1.2"
    failed = Outcome(status="failed: RuntimeError: no answer\nwith details")
    document = json.loads(json.dumps(report({"portfolio": measured, "fanout": failed}, quick=True, scale="S")))
    assert document["scenarios"]["portfolio"]["ratio_vs_postgraphile"] == 2.0
    assert document["scenarios"]["portfolio"]["figures"]["mcgraph"] == {"rps": 2.0}
    assert document["scenarios"]["fanout"]["status"].startswith("failed: RuntimeError")
    assert document["machine"]["cpus"] >= 1 and "date" in document
    printed = table(document)
    lines = [line.split() for line in printed.splitlines()]
    assert ["portfolio", "ratio_vs_postgraphile", "2.000", ">=", "1.2"] in lines
    assert ["fanout", "-", "failed:", "RuntimeError:", "no", "answer"] in lines  # the first line only
