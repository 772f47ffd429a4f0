"""The daily purge's lease: one front door at a time, once a day, after the configured hour; a failure frees it."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.retention_world import NOW

from sharedcourt.retention import schedule
from sharedcourt.settings import Settings

NEXT_DAY = NOW + dt.timedelta(days=1)


async def test_two_claims_at_once_get_one_lease(sessions: async_sessionmaker[AsyncSession]) -> None:
    won = await asyncio.gather(*(schedule.claim(sessions, f"door-{n}", NOW, daily=True) for n in range(4)))
    assert won.count(True) == 1
    # Held: nobody else gets it, daily or not, until it is finished.
    assert not await schedule.claim(sessions, "late", NOW + dt.timedelta(minutes=30), daily=False)


async def test_concurrent_front_doors_run_the_purge_once(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    running: list[str] = []
    overlapped: list[bool] = []

    async def slow_purge(sessions: object, settings: object, now: dt.datetime, dry_run: bool) -> dict[str, int]:
        running.append("x")
        overlapped.append(len(running) > 1)
        await asyncio.sleep(0.05)
        running.pop()
        return {"enquiries": 0}

    monkeypatch.setattr(schedule, "purge", slow_purge)
    settings = Settings(purge_hour=3)
    doors = [schedule.run_daily(sessions, settings, NOW, f"door-{n}") for n in range(3)]
    results = await asyncio.gather(*doors)
    assert [r is not None for r in results].count(True) == 1 and overlapped == [False]
    # Finished today: a later look the same day does not run it again; the next day it does.
    assert await schedule.run_daily(sessions, settings, NOW + dt.timedelta(hours=2), "door-0") is None
    assert await schedule.run_daily(sessions, settings, NEXT_DAY, "door-1") == {"enquiries": 0}
    job = await schedule.last_run(sessions)
    assert job is not None and job.last_counts == {"enquiries": 0} and job.lease_until is None


async def test_nothing_runs_before_the_configured_hour(sessions: async_sessionmaker[AsyncSession]) -> None:
    # NOW is noon on China's clock.
    assert await schedule.run_daily(sessions, Settings(purge_hour=13), NOW, "door") is None
    assert await schedule.last_run(sessions) is None
    assert await schedule.run_daily(sessions, Settings(purge_hour=12), NOW, "door") is not None


async def test_a_failed_run_frees_the_lease_for_a_retry(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(sessions: object, settings: object, now: dt.datetime, dry_run: bool) -> dict[str, int]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(schedule, "purge", broken)
    with pytest.raises(RuntimeError):
        await schedule.run_daily(sessions, Settings(), NOW, "door-0")
    job = await schedule.last_run(sessions)
    assert job is not None and job.last_day is None and job.lease_until is None
    assert await schedule.claim(sessions, "door-1", NOW, daily=True)


async def test_a_crashed_holders_lease_runs_out(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await schedule.claim(sessions, "crashed", NOW, daily=True)
    assert not await schedule.claim(sessions, "other", NOW + schedule.LEASE - dt.timedelta(minutes=1), daily=True)
    assert await schedule.claim(sessions, "other", NOW + schedule.LEASE + dt.timedelta(minutes=1), daily=True)


async def test_a_long_run_keeps_its_lease(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    renewed = asyncio.Event()

    async def long_purge(sessions_: object, settings: object, now: dt.datetime, dry_run: bool) -> dict[str, int]:
        # Runs until the lease has been renewed once past its first end.
        while True:
            job = await schedule.last_run(sessions)
            if job is not None and job.lease_until is not None and job.lease_until > NOW + schedule.LEASE:
                renewed.set()
                # Past the first lease's end another front door still finds it held.
                later = NOW + schedule.LEASE + dt.timedelta(milliseconds=10)
                assert not await schedule.claim(sessions, "other", later, daily=True)
                return {"enquiries": 0}
            await asyncio.sleep(0.01)

    monkeypatch.setattr(schedule, "purge", long_purge)
    monkeypatch.setattr(schedule, "RENEW_EVERY", 0.02)
    assert await schedule.run_daily(sessions, Settings(), NOW, "door") == {"enquiries": 0}
    assert renewed.is_set()
