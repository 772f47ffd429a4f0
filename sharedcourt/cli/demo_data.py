"""`make demo-data`: a realistic synthetic month in an empty console, marked so `--remove` deletes exactly it.

The month is the 30 days ending `end` (default: yesterday, China time). Residents come from Quzhou's six counties
(two town Shared Courts each), bring every dispute type, most ask for a person (some offers time out and pass on,
a few nobody takes: 有呼无应), many book a mediation slot (two seats a weekday morning per site) and rate the help.
Deterministic: the same seed and end day give the same rows. Marks: see sharedcourt.cli.demo_rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.cli import demo_rows as rows
from sharedcourt.db.base import utcnow
from sharedcourt.db.booking import Booking, CallbackRequest, Reminder, Slot
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work
from sharedcourt.db.ticket import Rating, Ticket, TicketEvent
from sharedcourt.domain.clock import local
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.errors import Conflict

DAYS = 30
SEATS = 2


def _day_slots(site: rows.DemoSite, day: dt.date, n: int) -> Slot:
    start = rows.local_at(day, 9, 0)
    return Slot(site_code=site.code, seat_key=f"{rows.MARK}{n}", mediator="演示调解员", starts_at=start,
                ends_at=start + dt.timedelta(hours=3), capacity=SEATS)  # fmt: skip


async def _slots(session: AsyncSession, sites: list[rows.DemoSite], days: list[dt.date]) -> dict[Any, Slot]:
    made: dict[Any, Slot] = {}
    for day in days:
        if day.weekday() < 5:
            for site in sites:
                made[(site.code, day)] = _day_slots(site, day, len(made))
    session.add_all(made.values())
    await session.flush()
    return made


async def _one(session: AsyncSession, rng: random.Random, seed: int, n: int, day: dt.date, ctx: dict[str, Any]) -> None:
    site, code = rng.choice(ctx["sites"]), ctx["codes"][n % len(ctx["codes"])]
    made = rows.resident_rows(rng, seed, n, day, site, code)
    resident, conv, asked = made["resident"], made["conversation"], made["asked"]
    session.add(resident)
    await session.flush()
    conv.resident_id = resident.id
    session.add(conv)
    await session.flush()
    case = rows.case_row(resident, conv, site, code, asked)
    session.add_all([rows.message(conv, made["text"], asked), case])
    await session.flush()
    if rng.random() < 0.6:
        ticket = rows.ticket_rows(rng, n, case, site, asked)
        session.add(ticket)
        await session.flush()
        session.add_all(rows.ticket_events(ticket))
        rating = rows.rating_row(rng, ticket)
        if rating is not None:
            session.add(rating)
    later = [d for d in ctx["days"] if d > day and (site.code, d) in ctx["slots"]][:5]
    if later and rng.random() < 0.45:
        slot = ctx["slots"][(site.code, rng.choice(later))]
        if slot.booked < slot.capacity:
            slot.booked += 1
            status = rng.choices(["confirmed", "attended", "no_show", "cancelled"], weights=[30, 55, 5, 10])[0]
            session.add(Booking(slot_id=slot.id, case_id=case.id, resident_id=resident.id, conversation_id=conv.id,
                                site_code=site.code, starts_at=slot.starts_at, ends_at=slot.ends_at,
                                mediator=slot.mediator, status=status, changed_by="system"))  # fmt: skip
            if status == "cancelled":
                slot.booked -= 1


async def present(session: AsyncSession) -> int:
    """How many demo residents the database holds."""
    found = await session.scalar(select(func.count()).select_from(Resident).where(_demo_residents()))
    return int(found or 0)


def _demo_residents() -> Any:
    return Resident.channel_user_id.startswith(rows.MARK, autoescape=True)


async def generate(session: AsyncSession, seed: int, end: dt.date) -> dict[str, int]:
    """Add the month ending `end`; a database already holding demo data is refused (Conflict)."""
    if await present(session):
        raise Conflict("演示数据已存在，请先运行 make demo-data REMOVE=1（demo data already present: remove it first）")
    rng = random.Random(seed)
    days = [end - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    sites = rows.demo_sites()
    ctx = {"sites": sites, "days": days, "codes": sorted(BY_CODE), "slots": await _slots(session, sites, days)}
    n = 0
    for day in days:
        for _ in range(rng.randint(8, 14) if day.weekday() < 5 else rng.randint(3, 6)):
            await _one(session, rng, seed, n, day, ctx)
            n += 1
    return await counts(session)


async def counts(session: AsyncSession) -> dict[str, int]:
    """The demo rows per kind."""
    residents = select(Resident.id).where(_demo_residents())
    tickets = select(Ticket.id).where(Ticket.resident_id.in_(residents))

    async def n(query: Select[Any]) -> int:
        return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    return {
        "residents": await n(residents),
        "cases": await n(select(Case.id).where(Case.resident_id.in_(residents))),
        "tickets": await n(tickets),
        "ratings": await n(select(Rating.id).where(Rating.ticket_id.in_(tickets))),
        "bookings": await n(select(Booking.id).where(Booking.resident_id.in_(residents))),
        "slots": await n(select(Slot.id).where(Slot.seat_key.startswith(rows.MARK, autoescape=True))),
    }


async def remove(session: AsyncSession) -> dict[str, int]:
    """Delete exactly the demo rows (and whatever hangs off them), children first; returns what was there."""
    before = await counts(session)
    residents = select(Resident.id).where(_demo_residents())
    convs = select(Conversation.id).where(Conversation.resident_id.in_(residents))
    tickets = select(Ticket.id).where(Ticket.resident_id.in_(residents))
    bookings = select(Booking.id).where(Booking.resident_id.in_(residents))
    cases = select(Case.id).where(Case.resident_id.in_(residents))
    for statement in (
        delete(Rating).where(Rating.ticket_id.in_(tickets)),
        delete(TicketEvent).where(TicketEvent.ticket_id.in_(tickets)),
        delete(Ticket).where(Ticket.id.in_(tickets)),
        delete(Reminder).where(Reminder.booking_id.in_(bookings)),
        delete(Booking).where(Booking.id.in_(bookings)),
        delete(Slot).where(Slot.seat_key.startswith(rows.MARK, autoescape=True)),
        delete(CallbackRequest).where(CallbackRequest.resident_id.in_(residents)),
        delete(Evidence).where(Evidence.case_id.in_(cases)),
        delete(Case).where(Case.id.in_(cases)),
        delete(OutboxItem).where(OutboxItem.conversation_id.in_(convs)),
        delete(Message).where(Message.conversation_id.in_(convs)),
        delete(Conversation).where(Conversation.id.in_(convs)),
        delete(Resident).where(Resident.id.in_(residents)),
    ):
        await session.execute(statement.execution_options(synchronize_session=False))
    return before


async def run(database_url: str, seed: int, end: dt.date | None, drop: bool) -> dict[str, int]:
    """Add or remove the demo month in one transaction."""
    engine = make_engine(database_url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            if drop:
                return await remove(session)
            return await generate(session, seed, end or local(utcnow()).date() - dt.timedelta(days=1))
    finally:
        await engine.dispose()


def demo_data(database_url: str, seed: int, end: dt.date | None, drop: bool) -> int:
    """The command: prints what was added or removed."""
    done = asyncio.run(run(database_url, seed, end, drop))
    words = "已删除演示数据" if drop else "已生成演示数据（一个月）"
    print(f"{words}：" + "，".join(f"{k} {v}" for k, v in done.items()))
    return 0
