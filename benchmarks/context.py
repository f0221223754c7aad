"""What the scenarios of one run share: the scale, the plan, and the servers, started once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from benchmarks import servers
from benchmarks.dataset import Scale, asyncpg_url, sqlalchemy_url
from benchmarks.measure import Plan
from mcgraph.automation.sweeps import refresh_organization_health
from mcgraph.runtime import Runtime
from mcgraph.settings import Settings

BENCH_ORGANIZATION = 1


@dataclass
class Context:
    scale: Scale
    plan: Plan
    log: Callable[[str], None] = print
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _servers: dict[str, servers.Server] = field(default_factory=dict)
    _afterwards: list[Callable[[], None]] = field(default_factory=list)
    idle_rss_mb: dict[str, float] = field(default_factory=dict)
    """Each server's resident memory just after it started, before any load."""

    def server(self, name: str) -> servers.Server:
        """The server ``name`` of this scale, started on first use: mcgraph, mcgraph_uncached
        (its response cache off), baselines, postgraphile."""
        if name not in self._servers:
            self.log(f"  starting {name}")
            start = {
                "mcgraph": servers.mcgraph,
                "mcgraph_uncached": servers.mcgraph_uncached,
                "baselines": servers.baselines,
                "postgraphile": servers.postgraphile,
            }[name]
            self._servers[name] = self.stack.enter_context(start(self.scale))
            self.idle_rss_mb[name] = rss_mb(self._servers[name].pid)
        return self._servers[name]

    def afterwards(self, work: Callable[[], None]) -> None:
        """Run ``work`` once the servers have stopped (nothing is in flight any more)."""
        self._afterwards.append(work)

    def close(self) -> None:
        self.stack.close()
        self._servers.clear()
        while self._afterwards:
            self._afterwards.pop()()


GROWING_TABLES = ("event", "task", "comment", "automation_run", "automation_rule")


def keep_as_generated(context: Context) -> None:
    """Delete, once the servers have stopped, every row a scenario adds from now on."""
    url = asyncpg_url(context.scale)

    async def marks() -> dict[str, int]:
        connection = await asyncpg.connect(url)
        try:
            return {table: await connection.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}") for table in GROWING_TABLES}
        finally:
            await connection.close()

    async def forget(seen: dict[str, int]) -> None:
        connection = await asyncpg.connect(url)
        try:
            for table, last in reversed(seen.items()):
                await connection.execute(f"DELETE FROM {table} WHERE id > $1", last)
                await connection.execute(f"ANALYZE {table}")
        finally:
            await connection.close()

    seen = asyncio.run(marks())
    context.afterwards(lambda: asyncio.run(forget(seen)))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return round(int(line.split()[1]) / 1024, 1)


def refresh_health(scale: Scale) -> None:
    """Store the benchmark organisation's health and progress as of today, as mcgraph's sweep does.

    mcgraph computes health afresh on every read; the baselines read the stored columns.
    After this refresh both say the same, which the answer check before timing confirms.
    """

    async def refresh() -> None:
        runtime = Runtime.from_settings(Settings(database_url=sqlalchemy_url(scale)))
        try:
            async with runtime.system_unit(BENCH_ORGANIZATION) as unit:
                await refresh_organization_health(unit)
        finally:
            await runtime.close()

    asyncio.run(refresh())
