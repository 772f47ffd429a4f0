"""The action server's registry in memory (sharedcourt.sites.live): loaded once at start-up, kept fresh in the
background, an import seen at the next turn, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.sites import live as live_module
from sharedcourt.sites.live import MAX_AGE, LiveRegistry, Loaded

Sessions = async_sessionmaker[AsyncSession]
SITE = "GX330802009"  # 柯城区白云街道共享法庭: no coordinates in the default registry


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Loaded]:
    """Every registry read of the test, in order."""
    done: list[Loaded] = []
    real = live_module.read

    async def counted(session: AsyncSession, at: float, gazetteer: Any = None) -> Loaded:
        done.append(await real(session, at, gazetteer))
        return done[-1]

    monkeypatch.setattr(live_module, "read", counted)
    return done


@contextlib.asynccontextmanager
async def coordinates(sessions: Sessions, lat: float, lon: float) -> AsyncIterator[None]:
    """An operator's edit of one site's coordinates, undone afterwards (sites are reference data kept between tests)."""
    async with unit_of_work(sessions) as session:
        site = await session.get_one(Site, SITE)
        site.latitude, site.longitude = lat, lon
    try:
        yield
    finally:
        async with unit_of_work(sessions) as session:
            site = await session.get_one(Site, SITE)
            site.latitude = site.longitude = None


async def _wait(condition: Any, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_start_up_loads_the_sites_and_the_first_turn_does_not_read_again(
    sessions: Sessions, reads: list[Loaded]
) -> None:
    live = LiveRegistry()
    keeper = asyncio.create_task(live.keep_fresh(sessions, every=0.05))
    try:
        await _wait(lambda: live.ready)
        async with sessions() as session:
            registry = await live.get(session)
            count = await session.scalar(select(func.count()).select_from(Site).where(Site.active.is_(True)))
        assert len(registry) == count and len(reads) == 1
        await asyncio.sleep(0.3)  # several background checks: nothing changed, nothing read
        async with sessions() as session:
            assert await live.get(session) is registry
        assert len(reads) == 1
    finally:
        keeper.cancel()


async def test_a_turn_during_the_start_up_load_reads_on_its_own_connection(
    sessions: Sessions, reads: list[Loaded]
) -> None:
    """The turn holds its transaction (SQLite: the write lock); waiting for the background's read would deadlock."""
    live = LiveRegistry()
    keeper = asyncio.create_task(live.keep_fresh(sessions, every=0.05))
    try:
        async with unit_of_work(sessions) as session:
            await session.execute(select(Site.code).limit(1))  # the turn's transaction is open
            registry = await asyncio.wait_for(live.get(session), 60)
        assert len(registry) > 0
        await asyncio.sleep(0.3)
        # The background's read finished once the turn let go (or joined the turn's): the sites were read once or
        # twice, and never again since.
        assert live.ready and 1 <= len(reads) <= 2
    finally:
        keeper.cancel()


async def test_the_background_check_picks_up_an_import(sessions: Sessions, reads: list[Loaded]) -> None:
    live = LiveRegistry()
    keeper = asyncio.create_task(live.keep_fresh(sessions, every=0.05))
    try:
        await _wait(lambda: live.ready)
        assert live.loaded is not None and live.loaded.registry.sites[SITE].lat is None
        async with coordinates(sessions, 28.97, 118.87):
            await _wait(lambda: live.loaded is not None and live.loaded.registry.sites[SITE].lat is not None)
            assert live.loaded.registry.sites[SITE].lon == pytest.approx(118.87)
            assert len(reads) == 2
            # The next turn uses the registry the background read, without a read of its own.
            async with sessions() as session:
                assert await live.get(session) is live.loaded.registry
            assert len(reads) == 2
    finally:
        keeper.cancel()


async def test_a_turn_sees_an_import_at_once(sessions: Sessions, reads: list[Loaded]) -> None:
    live = LiveRegistry()  # no background task: the turn itself notices the change
    async with sessions() as session:
        before = await live.get(session)
    async with coordinates(sessions, 28.97, 118.87):
        async with sessions() as session:
            after = await live.get(session)
            assert after is not before and after.sites[SITE].lat == pytest.approx(28.97)
            assert await live.get(session) is after
    assert len(reads) == 2


async def test_an_old_registry_is_read_again(sessions: Sessions, reads: list[Loaded]) -> None:
    now = [1000.0]
    live = LiveRegistry(clock=lambda: now[0])
    async with sessions() as session:
        first = await live.get(session)
        now[0] += MAX_AGE / 2
        assert await live.get(session) is first
        now[0] += MAX_AGE
    assert await live.refresh(sessions) is True
    assert live.loaded is not None and live.loaded.registry is not first and len(reads) == 2
    assert await live.refresh(sessions) is False
