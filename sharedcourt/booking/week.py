"""A site's week as its calendar shows it (bookings against capacity per time window) and closing a day or a window.

A window is every seat's slot that starts at the same time: the calendar adds their capacity and bookings. Closing a
day or a window closes its slots (no new bookings) and cancels the bookings still in them through `staff_cancel`,
so each resident is told why on their own channel, exactly as when staff cancel one booking.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.booking.calendar import close_days
from sharedcourt.booking.staff import staff_cancel
from sharedcourt.booking.views import BookingView, view_of
from sharedcourt.db.booking import CONFIRMED, Booking, SiteClosure, Slot
from sharedcourt.domain.clock import TZ
from sharedcourt.errors import Conflict, NotFound

WEEK_DAYS = 7


@dataclass
class Window:
    """One start time at a site on one day: its seats' slots added up, and the bookings held in them."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int = 0
    booked: int = 0
    closed: bool = True  # until one of its slots is open
    slot_ids: list[int] = field(default_factory=list)
    bookings: list[BookingView] = field(default_factory=list)

    @property
    def free(self) -> int:
        """Seats still bookable (none when closed)."""
        return 0 if self.closed else max(0, self.capacity - self.booked)


@dataclass
class Day:
    """One day of the week: its windows in time order, and whether a closure covers it."""

    date: dt.date
    windows: list[Window] = field(default_factory=list)
    closure: str | None = None  # the closure's reason ('' when given none); None when open


def monday_of(day: dt.date) -> dt.date:
    """The Monday of `day`'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def _bounds(monday: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(monday, dt.time.min, TZ)
    return start, start + dt.timedelta(days=WEEK_DAYS)


async def _closures(session: AsyncSession, site_code: str, monday: dt.date) -> dict[dt.date, str]:
    last = monday + dt.timedelta(days=WEEK_DAYS - 1)
    rows = await session.scalars(
        select(SiteClosure)
        .where(SiteClosure.site_code.is_(None) | (SiteClosure.site_code == site_code))
        .where(SiteClosure.starts_on <= last, SiteClosure.ends_on >= monday)
        .order_by(SiteClosure.id)
    )
    out: dict[dt.date, str] = {}
    for closure in rows:
        day = max(closure.starts_on, monday)
        while day <= min(closure.ends_on, last):
            out.setdefault(day, closure.reason)
            day += dt.timedelta(days=1)
    return out


async def week_of(session: AsyncSession, site_code: str, monday: dt.date) -> list[Day]:
    """The site's seven days from `monday`: every window with capacity, bookings and state (China's clock)."""
    start, end = _bounds(monday)
    slots = await session.scalars(
        select(Slot)
        .where(Slot.site_code == site_code, Slot.starts_at >= start, Slot.starts_at < end)
        .order_by(Slot.starts_at, Slot.id)
    )
    windows: dict[dt.datetime, Window] = {}
    by_slot: dict[int, Window] = {}
    for slot in slots:
        window = windows.setdefault(slot.starts_at, Window(slot.starts_at, slot.ends_at))
        window.capacity += slot.capacity
        window.booked += slot.booked
        window.closed = window.closed and slot.status != "open"
        window.slot_ids.append(slot.id)
        by_slot[slot.id] = window
    if by_slot:
        held = await session.scalars(
            select(Booking)
            .where(Booking.slot_id.in_(list(by_slot)), Booking.status == CONFIRMED)
            .order_by(Booking.starts_at, Booking.id)
        )
        for booking in held:
            by_slot[booking.slot_id].bookings.append(await view_of(session, booking))
    closures = await _closures(session, site_code, monday)
    days = [Day(monday + dt.timedelta(days=i), closure=closures.get(monday + dt.timedelta(days=i))) for i in range(7)]
    for window in windows.values():
        days[(window.starts_at.astimezone(TZ).date() - monday).days].windows.append(window)
    return days


async def _cancel_held(
    session: AsyncSession, slot_ids: list[int], *, staff: str, reason: str, now: dt.datetime
) -> list[Booking]:
    """Cancel every confirmed booking in these slots; each resident is told the reason."""
    held = list(
        await session.scalars(
            select(Booking.id)
            .where(Booking.slot_id.in_(slot_ids), Booking.status == CONFIRMED)
            .order_by(Booking.starts_at, Booking.id)
        )
    )
    return [await staff_cancel(session, booking_id, staff=staff, reason=reason, now=now) for booking_id in held]


async def close_day(
    session: AsyncSession, site_code: str, day: dt.date, *, staff: str, reason: str, now: dt.datetime
) -> list[Booking]:
    """Close the site for `day` (a stored closure) and cancel the day's bookings with the reason."""
    if not reason.strip():
        raise Conflict("请填写闭庭原因，系统会发给受影响的当事人")
    held = await close_days(session, site_code, day, day, reason[:255])
    return await _cancel_held(session, held, staff=staff, reason=reason, now=now)


async def close_window(
    session: AsyncSession, site_code: str, starts_at: dt.datetime, *, staff: str, reason: str, now: dt.datetime
) -> list[Booking]:
    """Close every seat's slot at the site starting at `starts_at`, and cancel their bookings with the reason."""
    if not reason.strip():
        raise Conflict("请填写关闭原因，系统会发给受影响的当事人")
    slots = list(await session.scalars(select(Slot).where(Slot.site_code == site_code, Slot.starts_at == starts_at)))
    if not slots:
        raise NotFound("这个时段没有可关闭的号源")
    for slot in slots:
        slot.status = "closed"
    await session.flush()
    return await _cancel_held(session, [s.id for s in slots], staff=staff, reason=reason, now=now)


async def move_targets(session: AsyncSession, site_code: str, now: dt.datetime, limit: int = 40) -> list[Slot]:
    """Open slots with room at the site from now on (every seat), for a staff move; earliest first."""
    rows = await session.scalars(
        select(Slot)
        .where(Slot.site_code == site_code, Slot.status == "open", Slot.booked < Slot.capacity, Slot.starts_at > now)
        .order_by(Slot.starts_at, Slot.id)
        .limit(limit)
    )
    return list(rows)


async def booking_at(session: AsyncSession, site_code: str, booking_id: int) -> Booking:
    """The booking if it is at this site (the calendar acts only on its own site's bookings)."""
    booking = await session.get(Booking, booking_id)
    if booking is None or booking.site_code != site_code:
        raise NotFound("这个站点没有这个预约")
    return booking
