"""The services one running mcgraph process shares: settings, database, clock, plugins,
the live-status pieces (bus, hub, relay), the metrics, the rate limits and the response cache."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from mcgraph.api.response_cache import ResponseCache
from mcgraph.db import Database
from mcgraph.domain.clock import Clock, SystemClock
from mcgraph.domain.permissions import system_actor
from mcgraph.domain.unit import Unit
from mcgraph.events.bus import Bus, create_bus
from mcgraph.events.hub import Hub
from mcgraph.events.relay import Relay
from mcgraph.logs import get_logger
from mcgraph.metrics import Metrics
from mcgraph.periodic import every, running
from mcgraph.plugins.manager import Plugins, create_plugin_manager
from mcgraph.ratelimit import RateLimiter
from mcgraph.settings import Settings

log = get_logger("mcgraph.runtime")

RELAY_CLOSE_SECONDS = 10


@dataclass
class Runtime:
    settings: Settings
    database: Database
    plugins: Plugins
    clock: Clock = field(default_factory=SystemClock)
    bus: Bus = field(default_factory=Bus)
    metrics: Metrics = field(default_factory=Metrics)
    rate_limits: RateLimiter = field(default_factory=lambda: RateLimiter(0, 0))
    response_cache: ResponseCache = field(init=False)
    hub: Hub = field(init=False)
    relay: Relay = field(init=False)
    # the running automations (``mcgraph.automation.broker.Automations``), while they run
    automations: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.response_cache = ResponseCache(self.settings.response_cache_mb, self.metrics)
        self.hub = Hub(self.database)
        self.relay = Relay(self.database, self.bus, self.hub, self.clock, metrics=self.metrics)
        self.database.on_commit = self.relay.committed
        if self.plugins.observers:
            from mcgraph.events.observers import notify

            self.relay.observers = lambda ids: notify(self, ids)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock | None = None, plugins: dict[str, object] | None = None
    ) -> Runtime:
        """The runtime of ``settings``; ``plugins`` registers extra plugin objects by name."""
        manager = create_plugin_manager(allow=settings.plugins, block=settings.disable_plugins, extra=plugins, trace=settings.trace_plugins)
        return cls(
            settings=settings,
            database=Database(settings.database_url),
            plugins=Plugins(manager),
            clock=clock or SystemClock(),
            bus=create_bus(settings.bus_url, settings.bus_channel),
            rate_limits=RateLimiter.from_settings(settings),
        )

    @contextlib.asynccontextmanager
    async def live(self) -> AsyncIterator[None]:
        """Connect the bus and run the relay (and the hub's poll) for the life of the block.

        On start the relay publishes whatever a process that died left unpublished.
        """
        settings = self.settings
        await self.bus.start(self.hub.wake_signal, self._bus_reconnected)
        try:
            await self.relay.sweep(everything=True)
        except Exception:
            log.exception("the relay's start-up sweep failed; it will try again")
        jobs = [self.relay.run()]
        if settings.relay_sweep_seconds > 0:
            jobs.append(every(settings.relay_sweep_seconds, self.relay.sweep, "relay sweep"))
        if settings.hub_poll_seconds > 0:
            jobs.append(every(settings.hub_poll_seconds, self.hub.poll, "hub poll"))
        try:
            async with running(*jobs):
                yield
        finally:
            try:
                # what it leaves unpublished, the next start's sweep publishes
                await asyncio.wait_for(self.relay.close(), RELAY_CLOSE_SECONDS)
            except Exception:
                log.warning("the relay did not finish handing on events before shutdown", exc_info=True)
            await self.hub.close()
            await self.bus.close()

    @contextlib.asynccontextmanager
    async def system_unit(
        self, organization_id: int, *, cause: dict[str, int] | None = None, lazy: bool = False
    ) -> AsyncIterator[Unit]:
        """A unit of work of mcgraph itself (sweeps, automations) in one organisation: one
        transaction (``lazy``: begun at its first statement, see ``Database.transaction``)."""
        async with self.database.transaction(organization_id, lazy=lazy) as session:
            yield Unit(
                session=session,
                actor=system_actor(organization_id),
                now=self.clock.now(),
                plugins=self.plugins,
                settings=self.settings,
                cause=cause,
            )

    def _bus_reconnected(self) -> None:
        asyncio.create_task(self.hub.poll())

    async def close(self) -> None:
        await self.rate_limits.close()
        await self.database.dispose()

