"""Benchmark: booking throughput under concurrency on PostgreSQL, and proof of zero double bookings.

A private schema on TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) is migrated, then one
site with M mediators gets three weeks of slots (`ensure_slots`) and N residents with confirmed cases. Every
resident tries to book once, W at a time (W concurrent transactions on a pool of W connections), through
`sharedcourt.booking.service.book` exactly as the chat does (one unit of work per attempt). Two scenarios:

- spread: each resident picks a random slot among all free seats (the normal case; few conflicts);
- hot: every resident aims at the first 3 start times (contention: a few seats, hundreds of attempts).

Reported per scenario: attempts, bookings made, conflicts, wall time, bookings per second, attempts per second,
and the check that for every slot `booked == confirmed bookings <= capacity` (double bookings: must be 0).

Before/after: `book_before` below is the ORM version of `book` as it was before issue 14 (read the case as an
object, flush the booking and its reminders through the unit of work, then flush the case). Each round runs both
versions on fresh, identical data, alternating which goes first, at every concurrency given: the ratios come from
one run on the same (shared, busy) machine.

Usage: .venv/app/bin/python bench/bench_booking.py [--residents 200] [--concurrency 20 100] [--rounds 5]
    [--pool 20] [--plot docs/plots/bench_booking.png]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sharedcourt.booking import service as bk  # noqa: E402
from sharedcourt.booking.calendar import ensure_slots  # noqa: E402
from sharedcourt.db.booking import CONFIRMED, Booking, Reminder, Slot  # noqa: E402
from sharedcourt.db.case import Case  # noqa: E402
from sharedcourt.db.conversation import Conversation, Resident  # noqa: E402
from sharedcourt.db.migrate import upgrade  # noqa: E402
from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from sharedcourt.db.site import Site, SiteStaff  # noqa: E402
from sharedcourt.domain.clock import TZ  # noqa: E402
from sharedcourt.errors import Conflict, NotFound  # noqa: E402

BookFn = Callable[..., Awaitable[Any]]

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)
HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}


async def book_before(
    session: AsyncSession, *, case_id: int, slot_id: int, now: dt.datetime, same_time_fallback: bool = True
) -> Booking:
    """The booking hot path before issue 14, kept only to measure against (ORM loads and flushes)."""
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id}")
    claim = (
        update(Slot)
        .where(Slot.id == slot_id, Slot.status == "open", Slot.booked < Slot.capacity, Slot.starts_at > now)
        .values(booked=Slot.booked + 1)
        .returning(Slot.id, Slot.site_code, Slot.starts_at, Slot.ends_at, Slot.mediator)
        .execution_options(synchronize_session=False)
    )
    taken = (await session.execute(claim)).first()
    if taken is None:
        taken = await bk._claim_same_time(session, slot_id, now, same_time_fallback)
    booking = Booking(
        slot_id=taken.id, case_id=case.id, resident_id=case.resident_id, conversation_id=case.conversation_id,
        site_code=taken.site_code, starts_at=taken.starts_at, ends_at=taken.ends_at, mediator=taken.mediator,
        status=CONFIRMED, changed_by="resident",
    )  # fmt: skip
    session.add(booking)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("这个案件已经有预约了") from None
    case.status = "booked"
    case.site_code = taken.site_code
    for row in bk.reminder_rows(booking.id, booking.starts_at, now):
        session.add(Reminder(**row))
    await session.flush()
    return booking


VARIANTS: dict[str, BookFn] = {"before": book_before, "after": bk.book}


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
    sessions: async_sessionmaker[AsyncSession],
    site: str,
    cases: list[int],
    workers: int,
    hot: bool,
    seed: int,
    book: BookFn = bk.book,
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
                    await book(session, case_id=case_id, slot_id=slot_id, now=NOW)
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


async def run_round(
    sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace, workers: int, order: list[str]
) -> list[dict[str, Any]]:
    """Both versions, both scenarios, on fresh identical data (same seed), in the given order."""
    out = []
    for name, hot in (("spread", False), ("hot", True)):
        for variant in order:
            site, cases = await prepare(sessions, args.mediators, args.residents)
            r = await run_scenario(sessions, site, cases, workers, hot, args.seed, VARIANTS[variant])
            if r["double"] or r["made"] != r["confirmed_total"]:
                raise SystemExit(f"DOUBLE BOOKING DETECTED ({variant}, {name}, {workers} concurrent)")
            print(
                f"  {workers:3d} concurrent {name:6s} {variant:6s}: {r['made']:.0f} bookings, {r['conflicts']:.0f} "
                f"conflicts of {r['attempts']:.0f} attempts ({r['seats']:.0f} seats) in {r['seconds']:.2f} s = "
                f"{r['bookings_per_s']:.0f} bookings/s, {r['attempts_per_s']:.0f} attempts/s, "
                f"{r['cpu_ms_per_attempt']:.2f} ms client CPU/attempt, double bookings {r['double']:.0f}",
                flush=True,
            )
            out.append({"variant": variant, "scenario": name, "workers": workers, **r})
    return out


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median over rounds of each (concurrency, scenario, variant), with after/before ratios."""
    table = []
    keys = sorted({(r["workers"], r["scenario"]) for r in rows}, key=lambda k: (k[0], k[1] != "spread"))
    for workers, scenario in keys:
        med = {}
        for variant in VARIANTS:
            mine = [r for r in rows if (r["workers"], r["scenario"], r["variant"]) == (workers, scenario, variant)]
            med[variant] = {
                k: statistics.median(r[k] for r in mine)
                for k in ("bookings_per_s", "attempts_per_s", "cpu_ms_per_attempt", "made", "double")
            }
        table.append({"workers": workers, "scenario": scenario, **med})
    print(
        "\n| concurrent | scenario | before: bookings/s | after: bookings/s | before: attempts/s | after: attempts/s "
        "| ratio attempts/s | before: CPU ms/attempt | after: CPU ms/attempt | double bookings |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in table:
        b, a = t["before"], t["after"]
        print(
            f"| {t['workers']} | {t['scenario']} | {b['bookings_per_s']:.0f} | {a['bookings_per_s']:.0f} | "
            f"{b['attempts_per_s']:.0f} | {a['attempts_per_s']:.0f} | ×{a['attempts_per_s'] / b['attempts_per_s']:.2f} "
            f"| {b['cpu_ms_per_attempt']:.2f} | {a['cpu_ms_per_attempt']:.2f} | {b['double']:.0f} / {a['double']:.0f} |"
        )
    return table


def plot(path: Path, table: list[dict[str, Any]]) -> None:
    """Attempts per second and client CPU per attempt, before and after, per concurrency and scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{t['workers']} conc.\n{t['scenario']}" for t in table]
    xs = range(len(table))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in ((left, "attempts_per_s", "attempts per second (higher is better)"),
                           (right, "cpu_ms_per_attempt", "client CPU ms per attempt (lower is better)")):  # fmt: skip
        for offset, variant in ((-0.2, "before"), (0.2, "after")):
            ax.bar([x + offset for x in xs], [t[variant][key] for t in table], width=0.4, label=variant)
        ax.set_xticks(list(xs), labels)
        ax.set_title(title)
        ax.legend()
    fig.suptitle("Booking on PostgreSQL: ORM path (before) vs four Core statements (after), same run")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


async def main_async(args: argparse.Namespace) -> int:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    rows: list[dict[str, Any]] = []
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=args.pool, max_overflow=0)
        sessions = make_sessionmaker(engine)
        try:
            print(f"PostgreSQL, pool of {args.pool}, {args.residents} residents per scenario, {args.rounds} rounds")
            print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            for i in range(args.rounds):
                for workers in args.concurrency:
                    order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
                    rows += await run_round(sessions, args, workers, order)
            print(f"load average after the run: {os.getloadavg()[0]:.1f}")
        finally:
            await engine.dispose()
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    table = summarise(rows)
    if args.plot:
        plot(Path(args.plot), table)
        print(f"plot: {args.plot}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pool", type=int, default=20)
    parser.add_argument("--mediators", type=int, default=4)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--plot", default="docs/plots/bench_booking.png")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
