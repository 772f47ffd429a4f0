"""Benchmark: booking throughput under concurrency on PostgreSQL, and proof of zero double bookings.

A private schema on TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) is migrated, then one
site with M mediators gets three weeks of slots (`ensure_slots`) and N residents with confirmed cases. Every
resident tries to book once, W at a time (W concurrent transactions on a pool of W connections), through
`sharedcourt.booking.service.book` exactly as the chat does (one unit of work per attempt). Two scenarios:

- spread: each resident picks a random slot among all free seats (the normal case; few conflicts);
- hot: every resident aims at the first 3 start times (contention: a few seats, hundreds of attempts).

Reported per scenario: attempts, bookings made, conflicts, wall time, bookings per second, attempts per second,
and the check that for every slot `booked == confirmed bookings <= capacity` (double bookings: must be 0).

Versions (`--variants`, default `four one`), each on an engine of its own against the same schema:
- `orm`: `book` before issue 14 (ORM loads and flushes; bench/booking_before.py), pool pre-ping on every checkout;
- `four`: issue 14's first step (four prebuilt Core statements; bench/booking_before.py), pool pre-ping;
- `one`: `sharedcourt.booking.service.book` now (one PostgreSQL statement per try) on `make_engine`'s pool as the
  app builds it (a connection is pinged only after sitting idle).
Each round runs every version on fresh, identical data (same seed), rotating which goes first, at every concurrency
given: the ratios come from one run on the same (shared, busy) machine. The event loop is uvloop, as the front door
(uvicorn) and the action server (Sanic) run it when installed; `--loop asyncio` measures the standard one.

Usage: .venv/app/bin/python bench/bench_booking.py [--residents 200] [--concurrency 20 100] [--rounds 5]
    [--pool 20] [--variants four one] [--loop uvloop] [--plot docs/plots/bench_booking.png]
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
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from booking_before import book_four, book_orm  # noqa: E402

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

BookFn = Callable[..., Awaitable[Any]]

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)
HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}


# name -> (book function, pool pre-ping on every checkout, label)
VARIANTS: dict[str, tuple[BookFn, bool, str]] = {
    "orm": (book_orm, True, "ORM (before issue 14)"),
    "four": (book_four, True, "four statements + pre-ping"),
    "one": (bk.book, False, "one statement + idle ping"),
}


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
    book: BookFn,
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
    engines: dict[str, async_sessionmaker[AsyncSession]], args: argparse.Namespace, workers: int, order: list[str]
) -> list[dict[str, Any]]:
    """Every version, both scenarios, on fresh identical data (same seed), in the given order."""
    out = []
    for name, hot in (("spread", False), ("hot", True)):
        for variant in order:
            sessions = engines[variant]
            site, cases = await prepare(sessions, args.mediators, args.residents)
            r = await run_scenario(sessions, site, cases, workers, hot, args.seed, VARIANTS[variant][0])
            if r["double"] or r["made"] != r["confirmed_total"]:
                raise SystemExit(f"DOUBLE BOOKING DETECTED ({variant}, {name}, {workers} concurrent)")
            print(
                f"  {workers:3d} concurrent {name:6s} {variant:4s}: {r['made']:.0f} bookings, {r['conflicts']:.0f} "
                f"conflicts of {r['attempts']:.0f} attempts ({r['seats']:.0f} seats) in {r['seconds']:.2f} s = "
                f"{r['bookings_per_s']:.0f} bookings/s, {r['attempts_per_s']:.0f} attempts/s, "
                f"{r['cpu_ms_per_attempt']:.2f} ms client CPU/attempt, double bookings {r['double']:.0f}",
                flush=True,
            )
            out.append({"variant": variant, "scenario": name, "workers": workers, **r})
    return out


def summarise(rows: list[dict[str, Any]], variants: list[str]) -> list[dict[str, Any]]:
    """Median over rounds of each (concurrency, scenario, version), with last/first version ratios."""
    keys = ("bookings_per_s", "attempts_per_s", "cpu_ms_per_attempt", "made", "double")
    table = []
    for workers, scenario in sorted(
        {(r["workers"], r["scenario"]) for r in rows}, key=lambda k: (k[0], k[1] != "spread")
    ):
        med = {}
        for variant in variants:
            mine = [r for r in rows if (r["workers"], r["scenario"], r["variant"]) == (workers, scenario, variant)]
            med[variant] = {k: statistics.median(r[k] for r in mine) for k in keys}
            med[variant]["range"] = (min(r["bookings_per_s"] for r in mine), max(r["bookings_per_s"] for r in mine))
        table.append({"workers": workers, "scenario": scenario, **med})
    first, last = variants[0], variants[-1]
    cols = " | ".join(f"{v}: bookings/s (min–max)" for v in variants)
    print(f"\n| concurrent | scenario | {cols} | ratio attempts/s {last}/{first} | client CPU ms/attempt | double |")
    print("|---|---|" + "---|" * len(variants) + "---|---|---|")
    for t in table:
        rates = " | ".join(
            f"{t[v]['bookings_per_s']:.0f} ({t[v]['range'][0]:.0f}–{t[v]['range'][1]:.0f})" for v in variants
        )
        ratio = t[last]["attempts_per_s"] / t[first]["attempts_per_s"]
        cpu = " / ".join(f"{t[v]['cpu_ms_per_attempt']:.2f}" for v in variants)
        double = " / ".join(f"{t[v]['double']:.0f}" for v in variants)
        print(f"| {t['workers']} | {t['scenario']} | {rates} | ×{ratio:.2f} | {cpu} | {double} |")
    return table


def plot(path: Path, table: list[dict[str, Any]], variants: list[str]) -> None:
    """Bookings (spread) or attempts (hot) per second and client CPU per attempt, per version."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{t['workers']} conc.\n{t['scenario']}" for t in table]
    xs = range(len(table))
    width = 0.8 / len(variants)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, key, title in ((left, "attempts_per_s", "attempts per second (spread: all booked; higher is better)"),
                           (right, "cpu_ms_per_attempt", "client CPU ms per attempt (lower is better)")):  # fmt: skip
        for i, variant in enumerate(variants):
            offset = (i - (len(variants) - 1) / 2) * width
            ax.bar([x + offset for x in xs], [t[variant][key] for t in table], width=width, label=VARIANTS[variant][2])
        ax.set_xticks(list(xs), labels)
        ax.set_title(title, fontsize=10)
        ax.margins(y=0.2)
        ax.legend(fontsize=8, loc="upper center", ncol=len(variants))
    left.axhline(300, color="grey", linestyle="--", linewidth=1)
    fig.suptitle("Booking on PostgreSQL, medians over rounds of one run (2 shared vCPUs); dashed: 300/s")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


async def main_async(args: argparse.Namespace) -> int:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    rows: list[dict[str, Any]] = []
    variants: list[str] = args.variants
    try:
        upgrade(url)
        engines = {
            v: make_engine(
                url, pool_size=args.pool, max_overflow=0, **({"pool_pre_ping": True} if VARIANTS[v][1] else {})
            )
            for v in variants
        }
        try:
            print(
                f"PostgreSQL, pool of {args.pool} per version, {args.residents} residents a block, {args.rounds} rounds"
            )
            print(f"{args.loop} loop; load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            sessions = {v: make_sessionmaker(e) for v, e in engines.items()}
            for variant in variants:
                # Not measured: opens every pooled connection and runs each statement often enough on each of them
                # for psycopg to prepare it (the fifth time), as a server that has been up for a while has.
                site, cases = await prepare(sessions[variant], args.mediators, args.pool * 8)
                await run_scenario(sessions[variant], site, cases, args.pool, False, args.seed, VARIANTS[variant][0])
            for i in range(args.rounds):
                for workers in args.concurrency:
                    order = variants[i % len(variants) :] + variants[: i % len(variants)]
                    rows += await run_round(sessions, args, workers, order)
            print(f"load average after the run: {os.getloadavg()[0]:.1f}")
        finally:
            for engine in engines.values():
                await engine.dispose()
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    table = summarise(rows, variants)
    if args.plot:
        plot(Path(args.plot), table, variants)
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
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["four", "one"])
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--plot", default="docs/plots/bench_booking.png")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        return uvloop.run(main_async(args))
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
