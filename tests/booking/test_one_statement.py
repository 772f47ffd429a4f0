"""Booking in one PostgreSQL statement (and the portable path on SQLite): no seat taken twice, every reminder the
Python rule asks for, the case marked booked, errors as before; on PostgreSQL the one-statement path is the one used.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from booking.test_service import make_cases
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking import one_statement
from sharedcourt.booking import service as bk
from sharedcourt.db.booking import Booking, Reminder, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.session import unit_of_work
from sharedcourt.domain.clock import TZ
from sharedcourt.errors import Conflict, NotFound, SlotFull

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)  # a Sunday afternoon


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time on China's clock in 2026."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def statements_run(sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the one-statement calls `book` made (none on SQLite)."""
    calls: list[str] = []
    for name in ("book_asked", "book_same_time"):
        real = getattr(one_statement, name)

        async def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return await _real(*args, **kwargs)

        monkeypatch.setattr(one_statement, name, spy)
    yield calls


async def make_slots(
    session: AsyncSession, starts: list[dt.datetime], capacities: tuple[int, ...] = (1,)
) -> list[Slot]:
    """One site; at each start, one seat per capacity given."""
    code = f"T{uuid.uuid4().hex[:10]}"
    slots = [
        Slot(site_code=code, seat_key=f"staff:{seat}", mediator=f"调解员{seat}", starts_at=start,
             ends_at=start + dt.timedelta(hours=1), capacity=capacity)
        for start in starts
        for seat, capacity in enumerate(capacities)
    ]  # fmt: skip
    session.add_all(slots)
    await session.flush()
    return slots


async def reminders_of(session: AsyncSession, booking_id: int) -> set[tuple[str, dt.datetime]]:
    rows = await session.execute(select(Reminder.kind, Reminder.due_at).where(Reminder.booking_id == booking_id))
    return {(kind, due) for kind, due in rows.tuples()}


def expected(booking_id: int, starts_at: dt.datetime, now: dt.datetime) -> set[tuple[str, dt.datetime]]:
    return {(r["kind"], r["due_at"]) for r in bk.reminder_rows(booking_id, starts_at, now)}


# (slot start, booking time, reminder kinds the rule gives): both, the day-before one past, none, and a start just
# after local midnight, where the day before in China is not the day before in UTC.
CASES = [
    (at(12, 2, 9, 30), NOW, {"day_before", "two_hours"}),
    (at(11, 30, 8, 30), NOW, {"two_hours"}),
    (at(11, 30, 9, 30), at(11, 30, 7, 0), {"two_hours"}),
    (at(11, 30, 9, 30), at(11, 30, 8, 0), set()),
    (at(12, 2, 0, 30), NOW, {"day_before", "two_hours"}),
    (at(12, 2, 0, 30), at(12, 1, 10, 0), {"two_hours"}),
]


@pytest.mark.parametrize(("starts_at", "now", "kinds"), CASES)
async def test_reminders_follow_the_python_rule(
    sessions: async_sessionmaker[AsyncSession],
    statements_run: list[str],
    starts_at: dt.datetime,
    now: dt.datetime,
    kinds: set[str],
) -> None:
    async with unit_of_work(sessions) as session:
        (slot,) = await make_slots(session, [starts_at])
        (case,) = await make_cases(session, 1)
        booking = await bk.book(session, case_id=case.id, slot_id=slot.id, now=now)
    async with sessions() as session:
        stored = await reminders_of(session, booking.id)
        assert stored == expected(booking.id, starts_at, now)
        assert {kind for kind, _ in stored} == kinds
        assert (await session.get_one(Case, case.id)).status == "booked"
        row = await session.get_one(Booking, booking.id)
    assert (row.slot_id, row.starts_at, row.resident_id, row.status) == (
        slot.id,
        starts_at,
        case.resident_id,
        "confirmed",
    )
    assert (booking.starts_at, booking.conversation_id) == (starts_at, case.conversation_id)
    backend = sessions.kw["bind"].dialect.name
    assert statements_run == (["book_asked"] if backend == "postgresql" else [])


async def attempt(sessions: async_sessionmaker[AsyncSession], case_id: int, slot_id: int) -> int | None:
    try:
        async with unit_of_work(sessions) as session:
            return (await bk.book(session, case_id=case_id, slot_id=slot_id, now=NOW)).id
    except Conflict:
        return None


async def test_concurrent_bookings_take_each_seat_once_with_all_reminders(
    sessions: async_sessionmaker[AsyncSession], statements_run: list[str]
) -> None:
    # Three seats (capacities 1, 1, 2) at each of four times; 60 residents aim at the first two times, most
    # falling back to another seat at the same time, and 30 more at all four.
    starts = [at(12, 1, 9), at(12, 1, 10), at(12, 2, 9), at(12, 3, 14)]
    async with unit_of_work(sessions) as session:
        slots = await make_slots(session, starts, capacities=(1, 1, 2))
        cases = await make_cases(session, 90)
    rng = random.Random(14)
    hot = [s.id for s in slots if s.starts_at in starts[:2]]
    plan = [(c.id, rng.choice(hot if i < 60 else [s.id for s in slots])) for i, c in enumerate(cases)]
    starts_of = {s.id: s.starts_at for s in slots}
    assert all(sum(1 for _, s in plan if starts_of[s] == start) >= 4 for start in starts), "more attempts than seats"
    made = [b for b in await asyncio.gather(*(attempt(sessions, c, s) for c, s in plan)) if b is not None]
    async with sessions() as session:
        rows = list(await session.scalars(select(Booking).where(Booking.slot_id.in_([s.id for s in slots]))))
        stored = {s.id: s for s in await session.scalars(select(Slot).where(Slot.id.in_([s.id for s in slots])))}
        for slot in stored.values():
            assert sum(1 for b in rows if b.slot_id == slot.id) == slot.booked <= slot.capacity
        assert sum(s.capacity for s in stored.values()) == len(made) == len(rows) == 16, "every seat is taken once"
        for b in rows:
            assert await reminders_of(session, b.id) == expected(b.id, b.starts_at, NOW)
            assert (await session.get_one(Case, b.case_id)).status == "booked"
        left = [c.id for c in cases if c.id not in {b.case_id for b in rows}]
        assert set(await session.scalars(select(Case.status).where(Case.id.in_(left)))) == {"confirmed"}
    if sessions.kw["bind"].dialect.name == "postgresql":
        assert statements_run.count("book_asked") == 90 and "book_same_time" in statements_run


async def test_unknown_case_or_slot_and_a_full_slot(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        slot, other, later, _ = await make_slots(session, [at(12, 2, 9), at(12, 2, 10)], capacities=(1, 1))
        first, second, third = await make_cases(session, 3)
    with pytest.raises(NotFound):
        async with unit_of_work(sessions) as session:
            await bk.book(session, case_id=10**9, slot_id=slot.id, now=NOW)
    for fallback in (True, False):
        with pytest.raises(NotFound):
            async with unit_of_work(sessions) as session:
                await bk.book(session, case_id=first.id, slot_id=10**9, now=NOW, same_time_fallback=fallback)
    async with unit_of_work(sessions) as session:
        await bk.book(session, case_id=first.id, slot_id=slot.id, now=NOW)
    with pytest.raises(SlotFull):
        async with unit_of_work(sessions) as session:
            await bk.book(session, case_id=second.id, slot_id=slot.id, now=NOW, same_time_fallback=False)
    async with unit_of_work(sessions) as session:
        moved = await bk.book(session, case_id=second.id, slot_id=slot.id, now=NOW)
    assert moved.slot_id == other.id
    with pytest.raises(SlotFull):
        async with unit_of_work(sessions) as session:
            await bk.book(session, case_id=third.id, slot_id=slot.id, now=NOW)
    with pytest.raises(Conflict) as refused:
        async with unit_of_work(sessions) as session:
            await bk.book(session, case_id=first.id, slot_id=later.id, now=NOW)
    assert type(refused.value) is Conflict, "the case already holds a booking"
    async with sessions() as session:
        ids = [slot.id, other.id, later.id]
        assert [s.booked for s in await session.scalars(select(Slot).where(Slot.id.in_(ids)).order_by(Slot.id))] == [
            1,
            1,
            0,
        ]
        assert (await session.get_one(Case, third.id)).status == "confirmed"
