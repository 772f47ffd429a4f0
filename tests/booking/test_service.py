"""Booking: capacity enforced by the database under concurrency, reschedule, cancel, staff changes, callbacks."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking import service as bk
from sharedcourt.booking import staff as booking_staff
from sharedcourt.booking.calendar import Window, ensure_slots, format_time, free_slots
from sharedcourt.booking.preferences import parse_preference
from sharedcourt.booking.views import view
from sharedcourt.db.booking import Booking as BookingRow
from sharedcourt.db.booking import CallbackRequest, Reminder, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.domain.clock import TZ
from sharedcourt.errors import Conflict

HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)  # a Sunday afternoon


async def make_site(session: AsyncSession, capacities: tuple[int, ...] = (1,)) -> Site:
    code = f"T{uuid.uuid4().hex[:10]}"
    site = Site(
        code=code, name="测试村共享法庭", level="village", address="测试村文化礼堂", phone="0570-1234567",
        opening_hours=HOURS,
    )  # fmt: skip
    session.add(site)
    for i, capacity in enumerate(capacities):
        session.add(SiteStaff(site_code=code, name=f"调解员{i + 1}", role="mediator", capacity=capacity))
    await session.flush()
    return site


async def make_cases(session: AsyncSession, n: int, dispute: str = "debt") -> list[Case]:
    tag = uuid.uuid4().hex[:8]
    residents = [Resident(channel="webchat", channel_user_id=f"r-{tag}-{i}") for i in range(n)]
    session.add_all(residents)
    await session.flush()
    conversations = [Conversation(resident_id=r.id, channel="webchat") for r in residents]
    session.add_all(conversations)
    await session.flush()
    cases = [
        Case(number=f"GX{tag}{i:04d}", resident_id=r.id, conversation_id=c.id, dispute_code=dispute, status="confirmed")
        for i, (r, c) in enumerate(zip(residents, conversations, strict=True))
    ]
    session.add_all(cases)
    await session.flush()
    return cases


async def setup(
    sessions: async_sessionmaker[AsyncSession], capacities: tuple[int, ...] = (1,), cases: int = 1
) -> tuple[Site, list[Case]]:
    async with unit_of_work(sessions) as session:
        site = await make_site(session, capacities)
        made = await make_cases(session, cases)
        await ensure_slots(session, site, NOW, weeks=2)
    return site, made


async def attempt(sessions: async_sessionmaker[AsyncSession], case_id: int, slot_id: int, fallback: bool) -> bool:
    try:
        async with unit_of_work(sessions) as session:
            await bk.book(session, case_id=case_id, slot_id=slot_id, now=NOW, same_time_fallback=fallback)
        return True
    except Conflict:
        return False


@pytest.mark.parametrize("fallback", [True, False])
async def test_200_concurrent_attempts_never_exceed_capacity(
    sessions: async_sessionmaker[AsyncSession], fallback: bool
) -> None:
    # Two mediators (capacity 1 and 2) x two start times: four slots, six seats in all.
    site, cases = await setup(sessions, capacities=(1, 2), cases=200)
    async with sessions() as session:
        first = await free_slots(session, site.code, NOW, limit=2)
        targets = list(
            await session.scalars(
                select(Slot).where(Slot.site_code == site.code, Slot.starts_at.in_([s.starts_at for s in first]))
            )
        )
    assert len(targets) == 4 and sum(s.capacity for s in targets) == 6
    rng = random.Random(5)
    results = await asyncio.gather(*(attempt(sessions, c.id, rng.choice(targets).id, fallback) for c in cases))
    async with sessions() as session:
        ids = [t.id for t in targets]
        per_slot = dict(
            (
                await session.execute(
                    select(BookingRow.slot_id, func.count())
                    .where(BookingRow.slot_id.in_(ids), BookingRow.status == "confirmed")
                    .group_by(BookingRow.slot_id)
                )
            ).all()
        )
        slots = {s.id: s for s in await session.scalars(select(Slot).where(Slot.id.in_(ids)))}
    for slot in slots.values():
        assert per_slot.get(slot.id, 0) == slot.booked <= slot.capacity
    if fallback:
        # Every seat is taken (each attempt falls back to another seat at the same time).
        assert sum(results) == 6 == sum(per_slot.values())
        assert all(s.booked == s.capacity for s in slots.values())
    else:
        assert sum(results) == sum(per_slot.values()) <= 6
        assert all(s.booked == s.capacity for s in slots.values() if any(True for _ in [s]))


async def test_one_case_cannot_hold_two_bookings(sessions: async_sessionmaker[AsyncSession]) -> None:
    site, cases = await setup(sessions, capacities=(5,), cases=1)
    async with sessions() as session:
        slots = await free_slots(session, site.code, NOW, limit=20)
    results = await asyncio.gather(*(attempt(sessions, cases[0].id, s.id, False) for s in slots))
    assert sum(results) == 1
    async with sessions() as session:
        assert sum(s.booked for s in await session.scalars(select(Slot).where(Slot.site_code == site.code))) == 1


async def test_check_constraint_stops_overbooking_outside_the_api(sessions: async_sessionmaker[AsyncSession]) -> None:
    site, _ = await setup(sessions)
    with pytest.raises(IntegrityError):
        async with unit_of_work(sessions) as session:
            await session.execute(update(Slot).where(Slot.site_code == site.code).values(booked=2))
    with pytest.raises(IntegrityError):
        async with unit_of_work(sessions) as session:
            await session.execute(text("UPDATE slots SET booked = -1 WHERE site_code = :c"), {"c": site.code})


async def test_book_confirm_reschedule_cancel(sessions: async_sessionmaker[AsyncSession]) -> None:
    site, (case,) = await setup(sessions)
    async with unit_of_work(sessions) as session:
        first, second = await free_slots(session, site.code, NOW, limit=2, window=Window(dt.date(2026, 12, 1)))
        booking = await bk.book(session, case_id=case.id, slot_id=first.id, now=NOW)
        info = await view(session, booking.id)
    text_ = info.confirmation_zh()
    for part in (
        case.number,
        "测试村共享法庭",
        "测试村文化礼堂",
        "12月1日（周二）08:30-09:30",
        "调解员1",
        "身份证",
        "借条",
    ):
        assert part in text_, part
    async with unit_of_work(sessions) as session:
        assert (await session.get_one(Case, case.id)).status == "booked"
        kinds = set(await session.scalars(select(Reminder.kind).where(Reminder.booking_id == booking.id)))
        assert kinds == {"day_before", "two_hours"}
        # Booked on Sunday afternoon for Monday morning: the day-before time has passed, only the short one.
        (other,) = await make_cases(session, 1)
        soon = await bk.book(
            session, case_id=other.id, slot_id=(await free_slots(session, site.code, NOW))[0].id, now=NOW
        )
        assert set(await session.scalars(select(Reminder.kind).where(Reminder.booking_id == soon.id))) == {"two_hours"}
        moved = await bk.reschedule(session, booking.id, second.id, now=NOW)
    async with unit_of_work(sessions) as session:
        assert (await session.get_one(BookingRow, booking.id)).status == "rescheduled"
        assert (await session.get_one(Slot, first.id)).booked == 0
        assert (await session.get_one(Slot, second.id)).booked == 1
        old_reminders = set(await session.scalars(select(Reminder.status).where(Reminder.booking_id == booking.id)))
        assert old_reminders == {"cancelled"}
        mine = await bk.my_bookings(session, case.resident_id, NOW)
        assert [b.id for b in mine] == [moved.id]
        await bk.cancel(session, moved.id, now=NOW)
    async with unit_of_work(sessions) as session:
        assert (await session.get_one(Slot, second.id)).booked == 0
        assert (await session.get_one(Case, case.id)).status == "confirmed"
        assert await bk.my_bookings(session, case.resident_id, NOW) == []
        with pytest.raises(Conflict):
            await bk.cancel(session, moved.id, now=NOW)


async def test_reschedule_to_a_full_slot_keeps_the_old_booking(sessions: async_sessionmaker[AsyncSession]) -> None:
    site, (a, b) = await setup(sessions, cases=2)
    async with unit_of_work(sessions) as session:
        first, second = await free_slots(session, site.code, NOW, limit=2)
        mine = await bk.book(session, case_id=a.id, slot_id=first.id, now=NOW)
        await bk.book(session, case_id=b.id, slot_id=second.id, now=NOW)
    with pytest.raises(Conflict):
        async with unit_of_work(sessions) as session:
            await bk.reschedule(session, mine.id, second.id, now=NOW)
    async with sessions() as session:
        assert (await session.get_one(BookingRow, mine.id)).status == "confirmed"
        assert (await session.get_one(Slot, first.id)).booked == 1


async def test_staff_move_and_cancel_notify_with_reason(sessions: async_sessionmaker[AsyncSession]) -> None:
    site, (case,) = await setup(sessions)
    async with unit_of_work(sessions) as session:
        first, second = await free_slots(session, site.code, NOW, limit=2)
        booking = await bk.book(session, case_id=case.id, slot_id=first.id, now=NOW)
        with pytest.raises(Conflict):
            await booking_staff.staff_move(session, booking.id, second.id, staff="张主任", reason=" ", now=NOW)
    async with unit_of_work(sessions) as session:
        moved = await booking_staff.staff_move(
            session, booking.id, second.id, staff="张主任", reason="调解员临时外出", now=NOW
        )
        notice = await session.scalar(select(Reminder).where(Reminder.booking_id == moved.id, Reminder.kind == "moved"))
        assert notice is not None and "调解员临时外出" in notice.text and "09:30" in notice.text
        assert moved.changed_by == "staff:张主任"
    async with unit_of_work(sessions) as session:
        await booking_staff.staff_cancel(session, moved.id, staff="张主任", reason="法庭停电", now=NOW)
        notice = await session.scalar(
            select(Reminder).where(Reminder.booking_id == moved.id, Reminder.kind == "cancelled")
        )
        assert notice is not None and "法庭停电" in notice.text and notice.status == "pending"


async def test_callback_request_recorded(sessions: async_sessionmaker[AsyncSession]) -> None:
    site, (case,) = await setup(sessions)
    async with unit_of_work(sessions) as session:
        req = await bk.request_callback(
            session,
            conversation_id=case.conversation_id,
            case_id=case.id,
            site_code=site.code,
            phone="13812345678",
            preference="这些时间都不行，只有晚上有空",
        )
    async with sessions() as session:
        stored = await session.get_one(CallbackRequest, req.id)
        assert stored.status == "open" and stored.phone == "13812345678"
        assert (await session.get_one(Resident, case.resident_id)).phone == "13812345678"
        assert (await bk.bookable_case(session, case.conversation_id)) is not None


async def test_preference_finds_matching_slots(sessions: async_sessionmaker[AsyncSession]) -> None:
    site, _ = await setup(sessions)
    p = parse_preference("周三下午", NOW)
    assert p is not None
    async with sessions() as session:
        found = await free_slots(session, site.code, NOW, limit=3, window=p.window)
    assert [format_time(s.starts_at) for s in found] == [
        "12月2日（周三）14:00",
        "12月2日（周三）15:00",
        "12月2日（周三）16:00",
    ]
