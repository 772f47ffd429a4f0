"""Benchmark: booking throughput under concurrency on PostgreSQL, and proof of zero double bookings.

A private schema on TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) is migrated, then one
site with M mediators gets three weeks of slots (`ensure_slots`) and N residents with confirmed cases. Every
resident tries to book once, W at a time (W concurrent transactions on a pool of W connections), through
`sharedcourt.booking.service.book` exactly as the chat does (one unit of work per attempt). Two scenarios:

- spread: each resident picks a random slot among all free seats (the normal case; few conflicts);
- hot: every resident aims at the first 3 start times (contention: a few seats, hundreds of attempts).

Reported per scenario: attempts, bookings made, conflicts, wall time, bookings per second, attempts per second,
and the check that for every slot `booked == confirmed bookings <= capacity` (double bookings: must be 0).

Usage: .venv/app/bin/python bench/bench_booking.py [--residents 2000] [--workers 20] [--mediators 4]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sharedcourt.booking import service as bk  # noqa: E402
from sharedcourt.booking.calendar import ensure_slots  # noqa: E402
from sharedcourt.db.booking import Booking, Slot  # noqa: E402
from sharedcourt.db.case import Case  # noqa: E402
from sharedcourt.db.conversation import Conversation, Resident  # noqa: E402
from sharedcourt.db.migrate import upgrade  # noqa: E402
from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from sharedcourt.db.site import Site, SiteStaff  # noqa: E402
from sharedcourt.domain.clock import TZ  # noqa: E402
from sharedcourt.errors import Conflict  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)
HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}


async def prepare(sessions: async_sessionmaker[AsyncSession], mediators: int, residents: int) -> tuple[str, list[int]]:
    code = f"B{uuid.uuid4().hex[:10]}"
    async with unit_of_work(sessions) as session:
        session.add(Site(code=code, name="基准测试共享法庭", level="village", opening_hours=HOURS))
        for i in range(mediators):
            session.add(SiteStaff(site_code=code, name=f"调解员{i + 1}", role="mediator", capacity=1 + i % 2))
        await session.flush()
        site = await session.get_one(Site, code)
        await ensure_slots(session, site, NOW, weeks=3)
        people = [Resident(channel="bench", channel_user_id=f"{code}-{i}") for i in range(residents)]
        session.add_all(people)
        await session.flush()
        convs = [Conversation(resident_id=p.id, channel="bench") for p in people]
        session.add_all(convs)
        await session.flush()
        cases = [
            Case(number=f"{code}-{i}", resident_id=p.id, conversation_id=c.id, dispute_code="debt", status="confirmed")
            for i, (p, c) in enumerate(zip(people, convs, strict=True))
        ]
        session.add_all(cases)
        await session.flush()
        return code, [c.id for c in cases]


async def run_scenario(
    sessions: async_sessionmaker[AsyncSession], site: str, cases: list[int], workers: int, hot: bool, seed: int
) -> dict[str, float]:
    async with sessions() as session:
        slots = list(await session.scalars(select(Slot).where(Slot.site_code == site).order_by(Slot.starts_at)))
    if hot:
        starts = sorted({s.starts_at for s in slots})[:3]
        targets = [s.id for s in slots if s.starts_at in starts]
    else:
        targets = [s.id for s in slots]
    rng = random.Random(seed)
    plan = [(case_id, rng.choice(targets)) for case_id in cases]
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    made = conflicts = 0

    async def worker() -> None:
        nonlocal made, conflicts
        while not queue.empty():
            case_id, slot_id = queue.get_nowait()
            try:
                async with unit_of_work(sessions) as session:
                    await bk.book(session, case_id=case_id, slot_id=slot_id, now=NOW)
                made += 1
            except Conflict:
                conflicts += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    async with sessions() as session:
        ids = set(targets)
        counts = dict(
            (
                await session.execute(
                    select(Booking.slot_id, func.count())
                    .where(Booking.site_code == site, Booking.status == "confirmed")
                    .group_by(Booking.slot_id)
                )
            ).all()
        )
        rows = list(await session.scalars(select(Slot).where(Slot.site_code == site)))
    double = sum(1 for s in rows if counts.get(s.id, 0) > s.capacity or counts.get(s.id, 0) != s.booked)
    seats = sum(s.capacity for s in rows if s.id in ids)
    return {
        "attempts": len(plan),
        "made": made,
        "conflicts": conflicts,
        "seats": seats,
        "seconds": elapsed,
        "bookings_per_s": made / elapsed,
        "attempts_per_s": len(plan) / elapsed,
        "double": double,
        "cpu_ms_per_attempt": 1000 * cpu / len(plan),
        "confirmed_total": sum(counts.values()),
    }


async def main_async(args: argparse.Namespace) -> int:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=args.workers, max_overflow=0)
        sessions = make_sessionmaker(engine)
        try:
            print(f"PostgreSQL, {args.workers} concurrent transactions, {args.residents} residents per scenario")
            print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            for name, hot in (("spread", False), ("hot", True)):
                site, cases = await prepare(sessions, args.mediators, args.residents)
                r = await run_scenario(sessions, site, cases, args.workers, hot, args.seed)
                print(
                    f"{name:6s}: {r['attempts']:.0f} attempts on {r['seats']:.0f} seats -> {r['made']:.0f} bookings, "
                    f"{r['conflicts']:.0f} conflicts in {r['seconds']:.2f} s = {r['bookings_per_s']:.0f} bookings/s "
                    f"({r['attempts_per_s']:.0f} attempts/s, {r['cpu_ms_per_attempt']:.1f} ms client CPU per attempt); "
                    f"slots over capacity or miscounted: {r['double']:.0f}"
                )
                if r["double"] or r["made"] != r["confirmed_total"]:
                    print("DOUBLE BOOKING DETECTED", file=sys.stderr)
                    return 1
        finally:
            await engine.dispose()
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--mediators", type=int, default=4)
    parser.add_argument("--seed", type=int, default=5)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
