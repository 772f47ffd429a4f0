"""Ending a booking follows the database, not `rowcount`: a booking ended twice gives its seat back once, even
through a driver that says 1 when nothing matched and 0 when the row matched (tests/stand_ins/misreporting.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.misreporting import misreporting

from sharedcourt.booking import service as bk
from sharedcourt.booking.calendar import ensure_slots, free_slots
from sharedcourt.db.booking import Booking, Reminder, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.domain.clock import TZ
from sharedcourt.errors import Conflict, NotFound

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)  # a Sunday afternoon
HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
WON, LOST = (1, 0), (0, 1)  # (rows the claim really changed, what rowcount said)


async def two_in_one_slot(sessions: async_sessionmaker[AsyncSession]) -> tuple[Slot, list[Booking], Slot]:
    """Two residents booked into one slot of capacity 2 (booked = 2), and another free slot."""
    tag = uuid.uuid4().hex[:8]
    async with unit_of_work(sessions) as session:
        site = Site(
            code=f"T{tag}", name="测试村共享法庭", level="village", address="测试村文化礼堂", phone="0570-1234567",
            opening_hours=HOURS,
        )  # fmt: skip
        session.add(site)
        session.add(SiteStaff(site_code=site.code, name="调解员1", role="mediator", capacity=2))
        await session.flush()
        await ensure_slots(session, site, NOW, weeks=1)
        slot, other = await free_slots(session, site.code, NOW, limit=2)
        bookings = []
        for i in range(2):
            resident = Resident(channel="webchat", channel_user_id=f"r-{tag}-{i}")
            session.add(resident)
            await session.flush()
            conversation = Conversation(resident_id=resident.id, channel="webchat")
            session.add(conversation)
            await session.flush()
            case = Case(
                number=f"GX{tag}{i}", resident_id=resident.id, conversation_id=conversation.id, status="confirmed"
            )
            session.add(case)
            await session.flush()
            bookings.append(await bk.book(session, case_id=case.id, slot_id=slot.id, now=NOW))
    return slot, bookings, other


async def booked(sessions: async_sessionmaker[AsyncSession], slot_id: int) -> int:
    async with sessions() as session:
        return (await session.get_one(Slot, slot_id)).booked


async def cancel(sessions: async_sessionmaker[AsyncSession], booking_id: int) -> str:
    """Cancel in a unit of work of its own: 'cancelled', or the error that refused it."""
    try:
        async with unit_of_work(sessions) as session:
            await bk.cancel(session, booking_id, now=NOW)
    except (Conflict, NotFound) as refused:
        return type(refused).__name__
    return "cancelled"


async def test_cancelled_twice_gives_the_seat_back_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    slot, (mine, theirs), _ = await two_in_one_slot(sessions)
    assert await booked(sessions, slot.id) == 2
    assert await cancel(sessions, mine.id) == "cancelled"
    assert await booked(sessions, slot.id) == 1
    with misreporting("bookings") as liar:
        assert await cancel(sessions, mine.id) == "Conflict"
    assert liar.on("bookings") == [LOST]
    assert await booked(sessions, slot.id) == 1, "the other resident's seat is still taken"
    async with sessions() as session:
        assert (await session.get_one(Booking, theirs.id)).status == "confirmed"
        assert (await session.get_one(Booking, mine.id)).status == "cancelled"
        reminders = set(await session.scalars(select(Reminder.status).where(Reminder.booking_id == mine.id)))
        assert reminders <= {"cancelled"}


async def test_cancel_gives_the_seat_back_although_rowcount_says_0(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    slot, (mine, _), _ = await two_in_one_slot(sessions)
    with misreporting("bookings") as liar:
        assert await cancel(sessions, mine.id) == "cancelled"
    assert liar.on("bookings") == [WON]
    assert await booked(sessions, slot.id) == 1
    async with sessions() as session:
        case = await session.get_one(Case, mine.case_id)
        assert (case.status, (await session.get_one(Booking, mine.id)).status) == ("confirmed", "cancelled")


async def test_two_cancels_racing_give_the_seat_back_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    slot, (mine, _), _ = await two_in_one_slot(sessions)
    with misreporting("bookings") as liar:
        results = await asyncio.gather(cancel(sessions, mine.id), cancel(sessions, mine.id))
    assert sorted(results) == ["Conflict", "cancelled"]
    assert sorted(liar.on("bookings")) == [LOST, WON]
    assert await booked(sessions, slot.id) == 1


async def test_reschedule_moves_although_rowcount_says_0(sessions: async_sessionmaker[AsyncSession]) -> None:
    slot, (mine, _), other = await two_in_one_slot(sessions)
    with misreporting("bookings") as liar:
        async with unit_of_work(sessions) as session:
            moved = await bk.reschedule(session, mine.id, other.id, now=NOW)
    assert liar.on("bookings") == [WON]
    assert (await booked(sessions, slot.id), await booked(sessions, other.id)) == (1, 1)
    async with sessions() as session:
        assert (await session.get_one(Booking, mine.id)).status == "rescheduled"
        assert (await session.get_one(Booking, moved.id)).replaces_id == mine.id


async def test_unknown_booking_is_not_found_although_rowcount_says_1(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    slot, _, _ = await two_in_one_slot(sessions)
    with misreporting("bookings") as liar:
        assert await cancel(sessions, 10**9) == "NotFound"
    assert liar.on("bookings") == [LOST]
    assert await booked(sessions, slot.id) == 2


@pytest.mark.parametrize("status", ["cancelled", "rescheduled"])
async def test_ended_booking_cannot_be_rescheduled_although_rowcount_says_1(
    sessions: async_sessionmaker[AsyncSession], status: str
) -> None:
    slot, (mine, _), other = await two_in_one_slot(sessions)
    async with unit_of_work(sessions) as session:
        (await session.get_one(Booking, mine.id)).status = status
    with misreporting("bookings") as liar, pytest.raises(Conflict):
        async with unit_of_work(sessions) as session:
            await bk.reschedule(session, mine.id, other.id, now=NOW)
    assert liar.on("bookings") == [LOST]
    assert (await booked(sessions, slot.id), await booked(sessions, other.id)) == (2, 0)
