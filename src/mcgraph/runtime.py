"""The services one running mcgraph process shares: settings, database, clock, plugins."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcgraph.db import Database
from mcgraph.domain.clock import Clock, SystemClock
from mcgraph.plugins.manager import Plugins, create_plugin_manager
from mcgraph.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    plugins: Plugins
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock | None = None, plugins: dict[str, object] | None = None
    ) -> Runtime:
        """The runtime of ``settings``; ``plugins`` registers extra plugin objects by name."""
        manager = create_plugin_manager(allow=settings.plugins, block=settings.disable_plugins, extra=plugins)
        return cls(
            settings=settings,
            database=Database(settings.database_url),
            plugins=Plugins(manager),
            clock=clock or SystemClock(),
        )

    async def close(self) -> None:
        await self.database.dispose()
