"""idle_memory: the resident memory of an mcgraph API process that has started and served nothing.

It is read when the run first starts mcgraph; when no scenario before this one did, it
starts one here.
"""

from __future__ import annotations

from benchmarks.context import Context
from benchmarks.measure import Outcome

LIMIT_MB = 120.0


def run(context: Context) -> Outcome:
    context.server("mcgraph")
    rss = context.idle_rss_mb["mcgraph"]
    outcome = Outcome(figures={"mcgraph": {"idle_rss_mb": rss}})
    outcome.ratios["ratio_vs_limit"] = round(rss / LIMIT_MB, 3)
    outcome.targets["ratio_vs_limit"] = f"<= 1.0 ({LIMIT_MB:.0f} MB)"
    return outcome
