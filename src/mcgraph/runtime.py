"""The services one running mcgraph process shares: settings, database, clock, plugins."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcgraph.db import Database
from mcgraph.domain.clock import Clock, SystemClock
from mcgraph.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        return cls(settings=settings, database=Database(settings.database_url), clock=clock or SystemClock())

    async def close(self) -> None:
        await self.database.dispose()
