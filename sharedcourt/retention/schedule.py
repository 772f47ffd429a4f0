"""When the purge runs: daily at or after `PURGE_HOUR` (China's clock), by one front door at a time.

The `job_runs` row of the purge is the lease: a front door claims it with a conditional UPDATE … RETURNING (its
lease free or run out, and, for the daily run, not yet finished today) and reads back its own holder id; only
then does it purge. Finishing records the day and the counts; a failure frees the lease so another may retry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import utcnow
from sharedcourt.db.jobs import JobRun
from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work
from sharedcourt.domain.clock import local
from sharedcourt.errors import Conflict
from sharedcourt.retention.purge import purge
from sharedcourt.settings import Settings

log = logging.getLogger(__name__)

JOB = "purge"
# A crashed holder's lease runs out after this; a live one renews it every RENEW_EVERY seconds.
LEASE = dt.timedelta(hours=1)
RENEW_EVERY = 600.0
# How often the loop looks at the clock (the run itself happens once a day).
CHECK_EVERY = 300.0


def holder_id() -> str:
    """A fresh id for one claimant (a front door's loop, one CLI run)."""
    return f"{JOB}:{uuid.uuid4().hex[:16]}"


async def _ensure_row(session: AsyncSession) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(JobRun).values(name=JOB, last_counts={}).on_conflict_do_nothing())


async def claim(sessions: async_sessionmaker[AsyncSession], holder: str, now: dt.datetime, *, daily: bool) -> bool:
    """Take the purge's lease for `holder` (daily: only if today's run has not finished); True if it is ours."""
    async with unit_of_work(sessions) as session:
        await _ensure_row(session)
    conditions = [JobRun.name == JOB, or_(JobRun.lease_until.is_(None), JobRun.lease_until < now)]
    if daily:
        conditions.append(or_(JobRun.last_day.is_(None), JobRun.last_day < local(now).date()))
    async with unit_of_work(sessions) as session:
        claimed = await session.scalar(
            update(JobRun).where(*conditions).values(holder=holder, lease_until=now + LEASE).returning(JobRun.holder)
        )
    return claimed == holder


async def finish(
    sessions: async_sessionmaker[AsyncSession], holder: str, now: dt.datetime, counts: dict[str, int] | None
) -> None:
    """Free the lease; with counts, record today's run as done (without, a failed run another may retry)."""
    values: dict[str, object] = {"lease_until": None}
    if counts is not None:
        values |= {"last_day": local(now).date(), "finished_at": now, "last_counts": counts}
    async with unit_of_work(sessions) as session:
        await session.execute(update(JobRun).where(JobRun.name == JOB, JobRun.holder == holder).values(**values))


async def _keep_lease(sessions: async_sessionmaker[AsyncSession], holder: str, now: dt.datetime) -> None:
    """Extend the holder's lease every RENEW_EVERY while a long run (a first purge of years of data) goes on."""
    started = time.monotonic()
    while True:
        await asyncio.sleep(RENEW_EVERY)
        until = now + dt.timedelta(seconds=time.monotonic() - started) + LEASE
        async with unit_of_work(sessions) as session:
            await session.execute(
                update(JobRun).where(JobRun.name == JOB, JobRun.holder == holder).values(lease_until=until)
            )


async def run_claimed(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, holder: str, now: dt.datetime
) -> dict[str, int]:
    """Purge under a lease already claimed by `holder` (kept while it runs), then record or free it."""
    keeper = asyncio.create_task(_keep_lease(sessions, holder, now))
    try:
        counts = await purge(sessions, settings, now, dry_run=False)
    except BaseException:
        await finish(sessions, holder, now, None)
        raise
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
    await finish(sessions, holder, now, counts)
    return counts


async def run_daily(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: dt.datetime, holder: str
) -> dict[str, int] | None:
    """Today's purge if it is time and no front door has done or is doing it; None when not run here."""
    if local(now).hour < settings.purge_hour or not await claim(sessions, holder, now, daily=True):
        return None
    return await run_claimed(sessions, settings, holder, now)


async def loop(sessions: async_sessionmaker[AsyncSession], settings: Settings, interval: float = CHECK_EVERY) -> None:
    """Look at the clock every `interval` seconds and run the daily purge when due (cancel the task to stop)."""
    holder = holder_id()
    while True:
        # Sleep first: a starting front door serves before it purges.
        await asyncio.sleep(interval)
        try:
            await run_daily(sessions, settings, utcnow(), holder)
        except Exception:
            log.exception("retention purge failed")


def start(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> asyncio.Task[None]:
    """The app's background purge loop (wired in sharedcourt.app's lifespan)."""
    return asyncio.create_task(loop(sessions, settings))


async def run_now(settings: Settings, *, dry_run: bool, now: dt.datetime | None = None) -> dict[str, int]:
    """`make purge`: one run now (a real run takes the lease, Conflict if a front door holds it)."""
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        now = now or utcnow()
        if dry_run:
            return await purge(sessions, settings, now, dry_run=True)
        holder = holder_id()
        if not await claim(sessions, holder, now, daily=False):
            raise Conflict("另一处正在清理过期记录，请稍后再试")
        return await run_claimed(sessions, settings, holder, now)
    finally:
        await engine.dispose()


async def last_run(sessions: async_sessionmaker[AsyncSession]) -> JobRun | None:
    """The purge's job row (last day, counts), for status pages and tests."""
    async with sessions() as session:
        found: JobRun | None = await session.scalar(select(JobRun).where(JobRun.name == JOB))
        return found
