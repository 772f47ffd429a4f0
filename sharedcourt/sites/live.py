"""The action server's site registry in memory: loaded at start-up and kept fresh in the background.

At the province's 27,000 sites, building the gazetteer and reading the registry takes seconds
(docs/BENCHMARKS.md); a resident's turn must not pay that. The action server starts `keep_fresh` when it starts
listening: it loads places and sites at once, then checks a cheap stamp of the `sites` and `site_staff` tables
every `CHECK_EVERY` seconds and reloads when an import changed them (or after `MAX_AGE` anyway, for edits the stamp
cannot see). A turn (`LiveRegistry.get`) checks the same stamp, so an import shows up at the next turn; it loads
only when nothing was loaded yet or the background reload has not caught up, and waits for a load in flight
instead of starting a second one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.sites.places import Gazetteer
from sharedcourt.sites.records import load_records
from sharedcourt.sites.registry import SiteRegistry

log = logging.getLogger(__name__)

CHECK_EVERY = 5.0  # seconds between the background checks of the stamp
MAX_AGE = 300.0  # a registry older than this is read again even when the stamp did not change

Stamp = tuple[Any, ...]


async def stamp(session: AsyncSession) -> Stamp:
    """What changes when sites are imported, edited, (de)activated or staffed: counts, newest edit, newest staff."""
    sites = (await session.execute(select(func.count(), func.max(Site.updated_at)))).one()
    staff = (await session.execute(select(func.count(), func.max(SiteStaff.id)))).one()
    return (*sites, *staff)


@dataclass(frozen=True)
class Loaded:
    """One registry read: the registry, the stamp it was read at, and when."""

    registry: SiteRegistry
    stamp: Stamp
    at: float


async def read(session: AsyncSession, at: float, gazetteer: Gazetteer | None = None) -> Loaded:
    """The active sites and their stamp, read at `at`; the indexes are built in a thread so the event loop keeps
    answering."""
    seen = await stamp(session)
    records = await load_records(session, active_only=True)
    gaz = gazetteer or await asyncio.to_thread(Gazetteer.load)
    registry = await asyncio.to_thread(SiteRegistry, records, gaz)
    return Loaded(registry, seen, at)


class LiveRegistry:
    """The registry of this process: one load at a time, the newest kept."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.loaded: Loaded | None = None
        self.clock = clock
        self._inflight: asyncio.Task[Loaded] | None = None

    @property
    def ready(self) -> bool:
        """True once places and sites are in memory."""
        return self.loaded is not None

    def forget(self) -> None:
        """Drop what is loaded: the next turn reads the sites again (tests, after an import)."""
        self.loaded = None
        self._inflight = None

    def _fresh(self, seen: Stamp | None) -> SiteRegistry | None:
        held = self.loaded
        if held is None or self.clock() - held.at > MAX_AGE:
            return None
        return held.registry if seen is None or held.stamp == seen else None

    async def _load(self, start: Callable[[], Awaitable[Loaded]]) -> Loaded:
        """Join the load in flight, or run `start` as the one load; keep its result."""
        task = self._inflight
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = self._inflight = asyncio.ensure_future(start())
        try:
            loaded = await asyncio.shield(task)
        finally:
            if self._inflight is task and task.done():
                self._inflight = None
        if self.loaded is None or loaded.at >= self.loaded.at:
            self.loaded = loaded
        return loaded

    async def get(self, session: AsyncSession) -> SiteRegistry:
        """The registry for a turn: what is loaded if the sites did not change since, else a (joined) reload."""
        if self.loaded is None and self._inflight is not None:
            await self._load(
                lambda: read(session, self.clock())
            )  # the start-up load is under way: wait for it, do not repeat it
        seen = await stamp(session)
        fresh = self._fresh(seen)
        if fresh is not None:
            return fresh
        loaded = await self._load(lambda: read(session, self.clock()))
        if loaded.stamp != seen or loaded.at < self.clock() - MAX_AGE:
            loaded = await self._load(lambda: read(session, self.clock()))  # the joined load began before this change
        return loaded.registry

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> bool:
        """Reload when the stamp changed or the registry is too old; True when it read the sites."""
        async with sessions() as session:
            if self._fresh(await stamp(session)) is not None:
                return False

        async def start() -> Loaded:
            async with sessions() as own:
                return await read(own, self.clock())

        await self._load(start)
        return True

    async def keep_fresh(self, sessions: async_sessionmaker[AsyncSession], every: float = CHECK_EVERY) -> None:
        """Load now, then check every `every` seconds until cancelled; a failed read is logged and tried again."""
        while True:
            try:
                if await self.refresh(sessions):
                    assert self.loaded is not None
                    log.info("site registry loaded: %d active sites", len(self.loaded.registry))
            except Exception:
                # The database may be down for a while: the next check tries again, and a turn raises its own error.
                log.exception("site registry refresh failed; trying again in %.0f s", every)
            await asyncio.sleep(every)


live = LiveRegistry()
