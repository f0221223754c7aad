"""``python -m benchmarks run [--quick] [--scenario NAME] [--json PATH] [--scale S]``,
``python -m benchmarks generate --scale S`` and ``python -m benchmarks profile``."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from benchmarks import dataset
from benchmarks.context import Context, refresh_health
from benchmarks.measure import FULL, QUICK, Outcome, report, table

SCENARIOS = ("portfolio", "project_page", "create_task", "fanout", "automation", "scale", "idle_memory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the scenarios and print the table")
    run.add_argument("--quick", action="store_true", help="short rounds: the whole run within 5 minutes")
    run.add_argument("--scenario", choices=SCENARIOS, action="append", help="only this scenario (repeatable)")
    run.add_argument("--json", type=Path, help="also write the report here")
    run.add_argument("--scale", choices=sorted(dataset.SCALES), default="S")
    generate = commands.add_parser("generate", help="(re)create the dataset of a scale")
    generate.add_argument("--scale", choices=sorted(dataset.SCALES), default="S")
    spy = commands.add_parser("profile", help="py-spy on the mcgraph server under a scenario's load")
    spy.add_argument("--scenario", choices=("portfolio", "project_page", "create_task"), default="portfolio")
    spy.add_argument("--seconds", type=int, default=25)
    spy.add_argument("--output", type=Path, default=Path("profile.svg"))
    spy.add_argument("--scale", choices=sorted(dataset.SCALES), default="S")
    spy.add_argument("--format", choices=("flamegraph", "raw", "speedscope"), default="flamegraph", help="py-spy's output format")
    args = parser.parse_args(argv)

    scale = dataset.SCALES[args.scale]
    if args.command == "generate":
        asyncio.run(dataset.generate(scale))
        return 0
    if not asyncio.run(dataset.exists(scale)):
        print(f"generating scale {scale.name} (once; `python -m benchmarks generate` redoes it)")
        asyncio.run(dataset.generate(scale))
    for present in dataset.SCALES.values():
        if asyncio.run(dataset.exists(present)):
            dataset.migrate(present)
    if args.command == "profile":
        from benchmarks.profile import profile

        profile(scale, args.scenario, args.seconds, args.output, args.format)
        return 0
    refresh_health(scale)
    document = run_scenarios(Context(scale, QUICK if args.quick else FULL), args.scenario or list(SCENARIOS))
    document = report(document, quick=args.quick, scale=scale.name)
    if args.json:
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    print()
    print(table(document))
    return 0


def run_scenarios(context: Context, names: list[str]) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    try:
        for name in SCENARIOS:
            if name not in names:
                continue
            context.log(f"{name}:")
            started = time.monotonic()
            try:
                outcomes[name] = importlib.import_module(f"benchmarks.scenarios.{name}").run(context)
            except Exception as exc:
                traceback.print_exc()
                outcomes[name] = Outcome(status=f"failed: {type(exc).__name__}: {str(exc)[:500]}")
            context.log(f"  ({time.monotonic() - started:.0f} s)")
    finally:
        context.close()
    return outcomes


if __name__ == "__main__":
    sys.exit(main())
