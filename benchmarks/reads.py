"""A read scenario: one GraphQL query on mcgraph against PostGraphile, Starlette and one SQL.

Before anything is timed, every target is asked once and its answer compared with
mcgraph's (PostGraphile's after mapping it to mcgraph's names); a scenario whose answers
differ is refused, since a faster wrong answer proves nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks import load
from benchmarks.context import BENCH_ORGANIZATION, Context
from benchmarks.dataset import token
from benchmarks.measure import Outcome, Target, interleave, ratio
from benchmarks.servers import post


class AnswersDiffer(RuntimeError):
    pass


@dataclass(frozen=True)
class Read:
    query: str
    postgraphile_query: str
    to_mcgraph: Callable[[dict[str, Any]], dict[str, Any]]
    """PostGraphile's ``data``, in mcgraph's names and shapes."""
    baseline_path: str
    """The Starlette baselines' path after /sa or /sql, with its query string."""
    warmup_seconds: float = 0.0
    round_seconds: float = 0.0
    """At least, whatever the plan says: a round must see several answers of the slowest target."""
    connections: int = load.CONNECTIONS


def body(query: str, variables: dict[str, Any] | None = None) -> str:
    return json.dumps({"query": query, "variables": variables or {}})


def targets(context: Context, read: Read) -> dict[str, tuple[str, str, str | None]]:
    """Each target's URL, the body it is sent and its token."""
    secret = token(BENCH_ORGANIZATION)
    names = ("mcgraph", "mcgraph_uncached", "baselines", "postgraphile")
    mcgraph, uncached, baselines, postgraphile = (context.server(n).url for n in names)
    gql = body(read.query)
    return {
        "mcgraph": (mcgraph, gql, secret),
        "mcgraph_uncached": (uncached, gql, secret),
        "postgraphile": (postgraphile, body(read.postgraphile_query), None),
        "starlette": (f"{baselines}/sa/{read.baseline_path}", gql, secret),
        "single_sql": (f"{baselines}/sql/{read.baseline_path}", gql, secret),
    }


def check_answers(read: Read, chosen: dict[str, tuple[str, str, str | None]]) -> None:
    answers = {name: post(url, payload, secret) for name, (url, payload, secret) in chosen.items()}
    for name, answer in answers.items():
        if "errors" in answer or "data" not in answer:
            raise AnswersDiffer(f"{name} answered with errors: {json.dumps(answer)[:2000]}")
    expected = answers["mcgraph"]["data"]
    for name, answer in answers.items():
        data = read.to_mcgraph(answer["data"]) if name == "postgraphile" else answer["data"]
        if data != expected:
            raise AnswersDiffer(f"{name}'s answer differs from mcgraph's:\n{_first_difference(expected, data)}")


def _first_difference(expected: Any, got: Any, path: str = "data") -> str:
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in expected.keys() | got.keys():
            if expected.get(key) != got.get(key):
                return _first_difference(expected.get(key), got.get(key), f"{path}.{key}")
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (a, b) in enumerate(zip(expected, got)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"at {path}: mcgraph {json.dumps(expected)[:300]}, baseline {json.dumps(got)[:300]}"


def measure(context: Context, read: Read) -> dict[str, dict[str, float]]:
    chosen = targets(context, read)
    check_answers(read, chosen)

    def target(url: str, payload: str, secret: str | None) -> Target:
        return lambda seconds: load.wrk(url, payload, seconds, token=secret, connections=read.connections)

    plan = context.plan.at_least(read.warmup_seconds, read.round_seconds)
    return interleave({name: target(*args) for name, args in chosen.items()}, plan, context.log)


def read_outcome(figures: dict[str, dict[str, float]], postgraphile_target: str, sql_target: str | None) -> Outcome:
    outcome = Outcome(figures=figures)
    mcgraph = figures["mcgraph"]["rps"]
    outcome.ratios["ratio_vs_postgraphile"] = ratio(mcgraph, figures["postgraphile"]["rps"])
    outcome.targets["ratio_vs_postgraphile"] = postgraphile_target
    outcome.ratios["ratio_vs_starlette"] = ratio(mcgraph, figures["starlette"]["rps"])
    outcome.targets["ratio_vs_starlette"] = "(reported)"
    outcome.ratios["ratio_vs_single_sql"] = ratio(mcgraph, figures["single_sql"]["rps"])
    outcome.targets["ratio_vs_single_sql"] = sql_target or "(reported)"
    # every request executed: what the first reader after a change waits for
    outcome.ratios["ratio_uncached_vs_postgraphile"] = ratio(figures["mcgraph_uncached"]["rps"], figures["postgraphile"]["rps"])
    outcome.targets["ratio_uncached_vs_postgraphile"] = "(reported)"
    return outcome
