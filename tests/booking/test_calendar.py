"""Slot generation: opening hours, seats, public holidays, 调休 working weekends, closures."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking.calendar import (
    Seat,
    Window,
    close_days,
    day_hours,
    ensure_slots,
    format_time,
    free_slots,
    plan_slots,
    seats_for,
)
from sharedcourt.db.booking import Slot
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.domain.clock import TZ
from sharedcourt.domain.holidays import HolidayCalendar

HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
CAL = HolidayCalendar.load()


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


def test_official_2025_and_2026_calendars() -> None:
    assert CAL.holiday(dt.date(2025, 1, 28)) == "春节"  # 除夕
    assert CAL.holiday(dt.date(2025, 2, 4)) == "春节"
    assert CAL.holiday(dt.date(2025, 10, 8)) == "国庆节、中秋节"
    assert CAL.holiday(dt.date(2026, 2, 15)) == "春节"
    assert CAL.holiday(dt.date(2026, 2, 23)) == "春节"
    assert CAL.holiday(dt.date(2026, 6, 19)) == "端午节"
    assert CAL.holiday(dt.date(2026, 10, 7)) == "国庆节"
    assert CAL.holiday(dt.date(2026, 10, 8)) is None
    for day in ("2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"):
        assert CAL.is_makeup_workday(dt.date.fromisoformat(day))
    for day in ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"):
        assert CAL.is_makeup_workday(dt.date.fromisoformat(day))
    # Every 调休 day is a weekend day; every year lists its holidays.
    assert all(d.weekday() >= 5 for d in CAL.workdays)
    assert len([d for d in CAL.holidays if d.year == 2025]) == 1 + 8 + 3 + 5 + 3 + 8
    assert len([d for d in CAL.holidays if d.year == 2026]) == 3 + 9 + 3 + 5 + 3 + 3 + 7


def test_unknown_year_closes_fixed_date_holidays_only() -> None:
    assert CAL.holiday(dt.date(2027, 1, 1)) == "元旦"
    assert CAL.holiday(dt.date(2027, 10, 2)) == "国庆节"
    assert CAL.holiday(dt.date(2027, 1, 4)) is None


def test_day_hours_holiday_weekend_and_makeup_day() -> None:
    assert day_hours(HOURS, dt.date(2026, 10, 5), CAL) == []  # Monday in 国庆
    assert day_hours(HOURS, dt.date(2026, 10, 11), CAL) == []  # an ordinary Sunday
    saturday = day_hours(HOURS, dt.date(2026, 10, 10), CAL)  # 调休 Saturday: weekday hours
    assert saturday == [(dt.time(8, 30), dt.time(12, 0)), (dt.time(14, 0), dt.time(17, 30))]
    village = {**HOURS, "sat": ["09:00-11:00"]}
    assert day_hours(village, dt.date(2026, 10, 10), CAL) == [(dt.time(9), dt.time(11))]
    assert day_hours(village, dt.date(2026, 10, 3), CAL) == []  # Saturday inside 国庆: closed


def test_plan_slots_cuts_blocks_per_seat() -> None:
    seats = [Seat("staff:1", 1, "王调解", 1), Seat("staff:2", 2, "李调解", 2)]
    plan = plan_slots(HOURS, seats, dt.date(2026, 12, 2), 1, CAL)  # a Wednesday
    starts = sorted({p.starts_at.astimezone(TZ).strftime("%H:%M") for p in plan})
    # 08:30-12:00 gives 3 whole hours, 14:00-17:30 gives 3; the half-hour remainders are not offered.
    assert starts == ["08:30", "09:30", "10:30", "14:00", "15:00", "16:00"]
    assert len(plan) == 12
    assert all(p.ends_at - p.starts_at == dt.timedelta(hours=1) for p in plan)
    assert plan_slots(HOURS, seats, dt.date(2026, 12, 2), 1, CAL, closed_days=[dt.date(2026, 12, 2)]) == []
    # Around 国庆 2026: Sep 28 - Oct 11 has 6 working days (Sep 28-30, Oct 8-9, and the 调休 Saturday Oct 10).
    days = {p.starts_at.astimezone(TZ).date() for p in plan_slots(HOURS, seats[:1], dt.date(2026, 9, 28), 14, CAL)}
    assert dt.date(2026, 10, 10) in days and dt.date(2026, 10, 1) not in days and len(days) == 6


def test_seats_prefer_mediators_then_director() -> None:
    site = Site(code="X", name="测试", level="village", director="张主任")
    staff = [
        SiteStaff(id=1, site_code="X", name="张主任", role="director", capacity=1, active=True),
        SiteStaff(id=2, site_code="X", name="王调解", role="mediator", capacity=2, active=True),
        SiteStaff(id=3, site_code="X", name="离职", role="mediator", capacity=1, active=False),
    ]
    assert [(s.name, s.capacity) for s in seats_for(site, staff)] == [("王调解", 2)]
    assert [s.name for s in seats_for(site, staff[:1])] == ["张主任"]
    assert seats_for(site, []) == [Seat("site", None, "张主任", 1)]


def test_window_matches() -> None:
    w = Window(dt.date(2026, 12, 2), dt.date(2026, 12, 2), "pm")
    assert w.matches(local(2026, 12, 2, 14))
    assert not w.matches(local(2026, 12, 2, 9, 30))
    assert not w.matches(local(2026, 12, 3, 14))
    ten = Window(hour=10)
    assert ten.matches(local(2026, 12, 2, 9, 30), local(2026, 12, 2, 10, 30))
    assert ten.matches(local(2026, 12, 2, 10, 30), local(2026, 12, 2, 11, 30))
    assert not ten.matches(local(2026, 12, 2, 14), local(2026, 12, 2, 15))


def test_format_time() -> None:
    assert format_time(local(2026, 12, 2, 9, 30), local(2026, 12, 2, 10, 30)) == "12月2日（周三）09:30-10:30"


async def _site(session: AsyncSession, mediators: int = 2) -> Site:
    code = f"T{uuid.uuid4().hex[:10]}"
    site = Site(code=code, name="测试村共享法庭", level="village", address="测试村文化礼堂", opening_hours=HOURS)
    session.add(site)
    for i in range(mediators):
        session.add(SiteStaff(site_code=code, name=f"调解员{i + 1}", role="mediator", capacity=1))
    await session.flush()
    return site


async def test_ensure_slots_is_idempotent_and_free_slots_orders(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = local(2026, 11, 29, 15)  # a Sunday
    async with unit_of_work(sessions) as session:
        site = await _site(session)
        created = await ensure_slots(session, site, now, weeks=2)
    # 2 weeks from Sun Nov 29: 10 working days x 6 windows x 2 mediators.
    assert created == 120
    async with unit_of_work(sessions) as session:
        assert await ensure_slots(session, site, now, weeks=2) == 0
        assert await session.scalar(select(func.count()).select_from(Slot).where(Slot.site_code == site.code)) == 120
        free = await free_slots(session, site.code, now, limit=3)
        assert [format_time(s.starts_at) for s in free] == [
            "11月30日（周一）08:30",
            "11月30日（周一）09:30",
            "11月30日（周一）10:30",
        ]
        pm = await free_slots(session, site.code, now, limit=2, window=Window(dt.date(2026, 12, 2), None, "pm"))
        assert [format_time(s.starts_at) for s in pm] == ["12月2日（周三）14:00", "12月2日（周三）15:00"]
        both = await free_slots(session, site.code, now, limit=4, distinct_times=False)
        assert len({s.starts_at for s in both}) == 2


async def test_concurrent_generation_creates_each_slot_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    import asyncio

    now = local(2026, 11, 29, 15)
    async with unit_of_work(sessions) as session:
        site = await _site(session, mediators=1)

    async def generate() -> int:
        async with unit_of_work(sessions) as session:
            return await ensure_slots(session, site, now, weeks=1)

    results = await asyncio.gather(*(generate() for _ in range(5)))
    assert sum(results) == 30
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Slot).where(Slot.site_code == site.code)) == 30


async def test_closure_closes_days(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = local(2026, 11, 29, 15)
    async with unit_of_work(sessions) as session:
        site = await _site(session, mediators=1)
        await ensure_slots(session, site, now, weeks=1)
        held = await close_days(session, site.code, dt.date(2026, 11, 30), dt.date(2026, 11, 30), "培训")
        assert held == []
        free = await free_slots(session, site.code, now, limit=1)
        assert format_time(free[0].starts_at) == "12月1日（周二）08:30"
    # A later generation respects the closure too.
    async with unit_of_work(sessions) as session:
        other = await _site(session, mediators=1)
        await close_days(session, None, dt.date(2026, 12, 1), dt.date(2026, 12, 1), "全市停电")
        await ensure_slots(session, other, now, weeks=1)
        days = {s.starts_at.astimezone(TZ).date() for s in await free_slots(session, other.code, now, limit=50)}
        assert dt.date(2026, 12, 1) not in days and dt.date(2026, 11, 30) in days
