"""scale: the project page and ``myTasks`` on mcgraph at each scale whose dataset exists,
interleaved; the ratio is the time per request at the largest scale over that at S.

Project P1 has 100 tasks at every scale, so the page asks for the same work throughout;
``myTasks`` pages through a member's open tasks, of which there are more as the
organisation grows. The servers run with their response cache off: every request is
executed, since the question is how the work grows with the data. A scale not generated yet (``python -m benchmarks generate --scale
L``) is left out and said so.
"""

from __future__ import annotations

import asyncio
import contextlib

from benchmarks import load
from benchmarks.context import BENCH_ORGANIZATION, Context
from benchmarks.dataset import SCALES, exists, member_token, token
from benchmarks.measure import QUICK, Outcome, interleave, ratio
from benchmarks.reads import AnswersDiffer, body
from benchmarks.scenarios.project_page import QUERY as PROJECT_PAGE
from benchmarks.servers import mcgraph_uncached, post

MY_TASKS = "{ myTasks(first: 50) { nodes { key title dueDate state { key } project { key } } } }"
QUERIES = {"project_page": (PROJECT_PAGE, token), "my_tasks": (MY_TASKS, member_token)}
# fewer connections than the other reads: shorter waits, so short rounds still see many answers
CONNECTIONS = 4


def run(context: Context) -> Outcome:
    present = [scale for scale in SCALES.values() if asyncio.run(exists(scale))]
    if len(present) < 2:
        return Outcome(status="only one scale generated: run `python -m benchmarks generate --scale M` (and L)")
    largest = present[-1]
    if context.plan == QUICK:  # the ratio needs S and the largest; M only in the full run
        present = [present[0], largest]
    with contextlib.ExitStack() as stack:
        urls = {
            scale.name: context.server("mcgraph_uncached").url if scale == context.scale
            else stack.enter_context(mcgraph_uncached(scale, f"mcgraph-uncached-{scale.name}")).url
            for scale in present
        }
        targets = {}
        for query_name, (query, secret_of) in QUERIES.items():
            secret = secret_of(BENCH_ORGANIZATION)
            answers = {name: post(url, body(query), secret) for name, url in urls.items()}
            if any("errors" in answer for answer in answers.values()):
                raise AnswersDiffer(f"{query_name} answered with errors: {answers}")
            if query_name == "project_page" and len({str(a["data"]) for a in answers.values()}) != 1:
                raise AnswersDiffer("the project page differs between scales")
            for name, url in urls.items():
                targets[f"{query_name}@{name}"] = _target(url, body(query), secret)
        figures = interleave(targets, context.plan, context.log)
    outcome = Outcome(figures=figures)
    for query_name in QUERIES:
        key = f"ratio_{query_name}_{largest.name}_vs_S"
        # time per request at the largest scale over at S: the inverse of the throughputs
        outcome.ratios[key] = ratio(figures[f"{query_name}@S"]["rps"], figures[f"{query_name}@{largest.name}"]["rps"])
        outcome.targets[key] = "<= 1.5" + ("" if largest.name == "L" else " (at L; L not generated)")
    return outcome


def _target(url: str, payload: str, secret: str):
    return lambda seconds: load.wrk(url, payload, seconds, token=secret, connections=CONNECTIONS)
