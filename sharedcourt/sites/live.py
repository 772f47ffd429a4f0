"""The action server's site registry in memory: loaded at start-up and kept fresh in the background.

At the province's 27,000 sites, building the gazetteer and reading the registry takes seconds
(docs/BENCHMARKS.md); a resident's turn must not pay that. The action server starts `keep_fresh` when it starts
listening: it loads places and sites at once, then checks a cheap stamp of the `sites` and `site_staff` tables
every `CHECK_EVERY` seconds and reloads when an import changed them (or after `MAX_AGE` anyway, for edits the stamp
cannot see). A turn (`LiveRegistry.get`) checks the same stamp, so an import shows up at the next turn; it reads
the sites only when nothing is loaded yet or the background has not caught up with a change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
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
    """The registry of this process, the newest read kept.

    A turn holds its own database transaction (on SQLite a write lock: BEGIN IMMEDIATE) while it asks for the
    registry, so it never waits for a read on another connection: it joins only a read started by another turn
    (whose connection already holds the lock), else reads with its own session. The background may join a turn's
    read, since it holds no connection while it waits.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.loaded: Loaded | None = None
        self.clock = clock
        self._turn_read: asyncio.Task[Loaded] | None = None
        self._background_read: asyncio.Task[Loaded] | None = None

    @property
    def ready(self) -> bool:
        """True once places and sites are in memory."""
        return self.loaded is not None

    def forget(self) -> None:
        """Drop what is loaded: the next turn reads the sites again (tests, after an import)."""
        self.loaded = None
        self._turn_read = self._background_read = None

    def _fresh(self, seen: Stamp, max_age: float) -> SiteRegistry | None:
        held = self.loaded
        if held is None or held.stamp != seen or self.clock() - held.at > max_age:
            return None
        return held.registry

    async def _keep(self, task: asyncio.Task[Loaded]) -> Loaded:
        loaded = await asyncio.shield(task)
        if self.loaded is None or loaded.at >= self.loaded.at:
            self.loaded = loaded
        return loaded

    @staticmethod
    def _joinable(task: asyncio.Task[Loaded] | None) -> asyncio.Task[Loaded] | None:
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            return None
        return task

    async def get(self, session: AsyncSession) -> SiteRegistry:
        """The registry for a turn: what is loaded while the sites did not change, else a read (see the class)."""
        seen = await stamp(session)
        # The background reloads at MAX_AGE; a turn reads an old registry itself only if the background is not running.
        fresh = self._fresh(seen, 2 * MAX_AGE)
        if fresh is not None:
            return fresh
        task = self._joinable(self._turn_read)
        if task is None:
            task = self._turn_read = asyncio.ensure_future(read(session, self.clock()))
        loaded = await self._keep(task)
        if loaded.stamp != seen:  # the joined read began before this change
            loaded = await self._keep(asyncio.ensure_future(read(session, self.clock())))
        return loaded.registry

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> bool:
        """Reload when the stamp changed or the registry is too old; True when it read the sites."""
        async with sessions() as session:
            if self._fresh(await stamp(session), MAX_AGE) is not None:
                return False

        async def start() -> Loaded:
            async with sessions() as own:
                return await read(own, self.clock())

        task = self._joinable(self._turn_read) or self._joinable(self._background_read)
        if task is None:
            task = self._background_read = asyncio.ensure_future(start())
        await self._keep(task)
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
