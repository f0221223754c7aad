"""How a scenario is measured: warm-up, interleaved rounds, medians, ratios, the report.

A scenario gives a few *targets* (mcgraph and its baselines), each a function that runs
one timed load and returns its figures (``{"rps": ..., "p50_ms": ...}``). Every target
is warmed up first; then each round runs every target once, in an order that turns
by one each round, so that noise from other work on the machine falls on all of them
alike. A target's figure is the median over its rounds, and a ratio compares two
medians of the same run.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Figures = dict[str, float]
Target = Callable[[float], Figures]
"""Runs one load of the given seconds and returns what it measured."""

SETTLE_SECONDS = 0.5


@dataclass(frozen=True)
class Plan:
    warmup_seconds: float
    round_seconds: float
    rounds: int

    def at_least(self, warmup_seconds: float, round_seconds: float) -> Plan:
        """This plan with rounds no shorter than given, for targets whose answers take seconds."""
        return Plan(max(self.warmup_seconds, warmup_seconds), max(self.round_seconds, round_seconds), self.rounds)


QUICK = Plan(warmup_seconds=1.0, round_seconds=2.0, rounds=3)
FULL = Plan(warmup_seconds=5.0, round_seconds=10.0, rounds=5)


@dataclass
class Outcome:
    """What one scenario measured, or why it did not."""

    status: str = "measured"
    figures: dict[str, Figures] = field(default_factory=dict)
    ratios: dict[str, float | None] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    """Each ratio's target, in words (``">= 1.2"``)."""
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, **self.ratios, "targets": self.targets, "figures": self.figures, "notes": self.notes}


def median(values: list[float]) -> float:
    if not values:
        raise ValueError("no values to take the median of")
    return float(statistics.median(values))


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` rounded to 3 places; None when either is missing or zero."""
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def interleave(
    targets: Mapping[str, Target], plan: Plan, log: Callable[[str], None] = print, settle: Callable[[], None] | None = None
) -> dict[str, Figures]:
    """Warm every target up, run ``plan.rounds`` interleaved rounds, return each target's medians.

    Between two loads ``settle`` waits until the last one's requests still in flight are
    done (by default a pause of :data:`SETTLE_SECONDS`), so they do not fall on the next.
    """
    settle = settle or (lambda: time.sleep(SETTLE_SECONDS))
    names = list(targets)
    for name in names:
        targets[name](plan.warmup_seconds)
        settle()
    samples: dict[str, list[Figures]] = {name: [] for name in names}
    for number in range(plan.rounds):
        order = names[number % len(names):] + names[: number % len(names)]
        for name in order:
            figures = targets[name](plan.round_seconds)
            settle()
            if figures.get("requests") == 0:
                raise RuntimeError(f"{name} finished no request in a round of {plan.round_seconds} s; lengthen the rounds")
            samples[name].append(figures)
            log(f"    round {number + 1} {name}: " + ", ".join(f"{k}={v:.4g}" for k, v in figures.items()))
    return {name: medians(rounds) for name, rounds in samples.items()}


def medians(rounds: list[Figures]) -> Figures:
    keys = rounds[0].keys()
    return {key: median([figures[key] for figures in rounds]) for key in keys}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        info["cpu"] = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), None)
    except (OSError, subprocess.CalledProcessError):
        info["cpu"] = None
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
        info["ram_gib"] = round(kib / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        info["ram_gib"] = None
    return info


def report(outcomes: Mapping[str, Outcome], *, quick: bool, scale: str) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": quick,
        "scale": scale,
        "scenarios": {name: outcome.as_json() for name, outcome in outcomes.items()},
    }


def table(document: Mapping[str, Any]) -> str:
    """The report as a text table: one line per ratio, and one per scenario not measured."""
    rows = [("scenario", "ratio", "value", "target")]
    for name, scenario in document["scenarios"].items():
        if scenario["status"] != "measured":
            rows.append((name, "-", scenario["status"].splitlines()[0][:100], ""))
            continue
        for key, target in scenario["targets"].items():
            value = scenario.get(key)
            rows.append((name, key, "n/a" if value is None else f"{value:.3f}", target))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
