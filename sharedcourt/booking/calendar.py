"""A site's bookable slots: opening hours x mediators, minus public holidays and closures.

- The holiday / 调休 calendar is `sharedcourt.domain.holidays.HolidayCalendar` (sharedcourt/data/holidays.yml),
  shared with the handoff's duty hours. A 调休 weekend day is a working day: the site opens with its weekday hours.
- `plan_slots(...)` is pure: which windows a site offers on which days, one row per seat (mediator).
  Each opening-hours block ("08:30-12:00") is cut into `slot_minutes` windows from its start; a remainder
  shorter than a window is not offered.
- `ensure_slots(session, site, ...)` writes the plan for the coming weeks idempotently (the unique
  constraint on site, seat and start plus INSERT ... ON CONFLICT DO NOTHING), so any process may call it
  at any time; it is called lazily when a site's slots are first offered.
- `free_slots(...)` lists open slots with room left, earliest first.

Capacity: each active mediator (role mediator / family_mediator) is a seat with their own `capacity` (cases
per slot). A site without registered mediators gets one seat hosted by its 庭务主任 (capacity 1).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.booking import SiteClosure, Slot
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.domain.clock import TZ, WEEKDAY_ZH
from sharedcourt.domain.holidays import HolidayCalendar

log = logging.getLogger(__name__)

MEDIATOR_ROLES = ("mediator", "family_mediator")
DEFAULT_SLOT_MINUTES = 60
DEFAULT_WEEKS = 3


@dataclass(frozen=True)
class Seat:
    """One bookable seat at a site: a mediator (or the site's director) and how many cases per slot."""

    key: str
    staff_id: int | None
    name: str
    capacity: int


@dataclass(frozen=True)
class PlannedSlot:
    """A slot the plan offers: a seat and its window."""

    seat: Seat
    starts_at: dt.datetime  # aware, UTC
    ends_at: dt.datetime


def seats_for(site: Site, staff: Sequence[SiteStaff] | None = None) -> list[Seat]:
    """The site's bookable seats: its active mediators, else one seat for the 庭务主任."""
    people = list(site.staff if staff is None else staff)
    mediators = [s for s in people if s.active and s.role in MEDIATOR_ROLES and s.capacity > 0]
    if mediators:
        return [Seat(f"staff:{s.id}", s.id, s.name, s.capacity) for s in mediators]
    director = next((s for s in people if s.active and s.role == "director"), None)
    if director is not None:
        return [Seat(f"staff:{director.id}", director.id, director.name, max(1, director.capacity))]
    return [Seat("site", None, site.director or "庭务主任", 1)]


def _blocks(spec: Iterable[str]) -> list[tuple[dt.time, dt.time]]:
    out = []
    for block in spec:
        start, _, end = str(block).partition("-")
        out.append((dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())))
    return out


def day_hours(opening_hours: dict[str, Any], day: dt.date, calendar: HolidayCalendar) -> list[tuple[dt.time, dt.time]]:
    """Opening blocks on `day` (local time); empty when closed for a public holiday or by the weekly hours.

    A 调休 working weekend day runs as a weekday: the day's own hours, else the first weekday's."""
    return _blocks(calendar.hours_on(opening_hours, day))


def plan_slots(
    opening_hours: dict[str, Any],
    seats: Sequence[Seat],
    first_day: dt.date,
    days: int,
    calendar: HolidayCalendar,
    closed_days: Iterable[dt.date] = (),
    slot_minutes: int = DEFAULT_SLOT_MINUTES,
) -> list[PlannedSlot]:
    """Every slot of every seat from `first_day` for `days` days (pure; no clock, no DB)."""
    closed = set(closed_days)
    length = dt.timedelta(minutes=slot_minutes)
    out: list[PlannedSlot] = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        if day in closed:
            continue
        for start, end in day_hours(opening_hours, day, calendar):
            cursor = dt.datetime.combine(day, start, TZ)
            block_end = dt.datetime.combine(day, end, TZ)
            while cursor + length <= block_end:
                for seat in seats:
                    out.append(
                        PlannedSlot(
                            seat, cursor.astimezone(dt.timezone.utc), (cursor + length).astimezone(dt.timezone.utc)
                        )
                    )
                cursor += length
    return out


async def closed_days(session: AsyncSession, site_code: str, first: dt.date, last: dt.date) -> set[dt.date]:
    """Days the site is closed by a closure (its own or one for every site) between `first` and `last`."""
    rows = await session.scalars(
        select(SiteClosure).where(
            or_(SiteClosure.site_code == site_code, SiteClosure.site_code.is_(None)),
            SiteClosure.starts_on <= last,
            SiteClosure.ends_on >= first,
        )
    )
    days: set[dt.date] = set()
    for closure in rows:
        day = max(closure.starts_on, first)
        while day <= min(closure.ends_on, last):
            days.add(day)
            day += dt.timedelta(days=1)
    return days


def local_today(now: dt.datetime) -> dt.date:
    """The date on China's clock at `now`."""
    return now.astimezone(TZ).date()


async def ensure_slots(
    session: AsyncSession,
    site: Site,
    now: dt.datetime,
    *,
    weeks: int = DEFAULT_WEEKS,
    calendar: HolidayCalendar | None = None,
    slot_minutes: int = DEFAULT_SLOT_MINUTES,
) -> int:
    """Create the site's missing slots from today for `weeks` weeks; returns how many rows were new."""
    calendar = calendar or HolidayCalendar.load()
    first = local_today(now)
    days = weeks * 7
    last = first + dt.timedelta(days=days - 1)
    if not calendar.covers(last):
        log.warning("holiday calendar has no %s: only fixed-date holidays are closed", last.year)
    closed = await closed_days(session, site.code, first, last)
    staff = (await session.scalars(select(SiteStaff).where(SiteStaff.site_code == site.code))).all()
    planned = plan_slots(site.opening_hours or {}, seats_for(site, staff), first, days, calendar, closed, slot_minutes)
    if not planned:
        return 0
    rows = [
        {
            "site_code": site.code,
            "seat_key": p.seat.key,
            "staff_id": p.seat.staff_id,
            "mediator": p.seat.name[:64],
            "starts_at": p.starts_at,
            "ends_at": p.ends_at,
            "capacity": p.seat.capacity,
            "booked": 0,
            "status": "open",
            "created_at": now,
        }
        for p in planned
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Slot).on_conflict_do_nothing(index_elements=["site_code", "seat_key", "starts_at"])
    result = await session.execute(stmt.returning(Slot.id), rows)
    return len(result.all())


async def close_days(
    session: AsyncSession, site_code: str | None, starts_on: dt.date, ends_on: dt.date, reason: str
) -> list[int]:
    """Record a closure and close its open slots; returns the ids of slots that still hold bookings
    (staff must move or cancel those bookings, see sharedcourt.booking.service.staff_move/staff_cancel)."""
    session.add(SiteClosure(site_code=site_code, starts_on=starts_on, ends_on=ends_on, reason=reason))
    start = dt.datetime.combine(starts_on, dt.time.min, TZ)
    end = dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time.min, TZ)
    query = select(Slot).where(Slot.starts_at >= start, Slot.starts_at < end, Slot.status == "open")
    if site_code is not None:
        query = query.where(Slot.site_code == site_code)
    held: list[int] = []
    for slot in await session.scalars(query):
        slot.status = "closed"
        if slot.booked:
            held.append(slot.id)
    await session.flush()
    return held


@dataclass(frozen=True)
class Window:
    """A preference for when: days (inclusive, local) and an optional part of the day."""

    first_day: dt.date | None = None
    last_day: dt.date | None = None
    part: str | None = None  # "am", "pm"
    weekdays: frozenset[int] | None = None
    hour: int | None = None

    def matches(self, starts_at: dt.datetime, ends_at: dt.datetime | None = None) -> bool:
        """True when a slot starting (and ending) then fits the preference."""
        local = starts_at.astimezone(TZ)
        if self.first_day and local.date() < self.first_day:
            return False
        if self.last_day and local.date() > self.last_day:
            return False
        if self.weekdays is not None and local.weekday() not in self.weekdays:
            return False
        if self.part == "am" and local.hour >= 12:
            return False
        if self.part == "pm" and local.hour < 12:
            return False
        if self.hour is not None:
            # "10点": a slot that starts in that hour or is running at its start.
            end = (ends_at or starts_at + dt.timedelta(hours=1)).astimezone(TZ)
            at = dt.datetime.combine(local.date(), dt.time(self.hour), TZ)
            return local.hour == self.hour or local <= at < end
        return True


async def free_slots(
    session: AsyncSession,
    site_code: str,
    now: dt.datetime,
    *,
    limit: int = 5,
    window: Window | None = None,
    min_lead: dt.timedelta = dt.timedelta(hours=3),
    distinct_times: bool = True,
    exclude: Iterable[int] = (),
) -> list[Slot]:
    """Open slots with room, earliest first, at least `min_lead` from now; one per start time by default."""
    query = (
        select(Slot)
        .where(
            Slot.site_code == site_code,
            Slot.status == "open",
            Slot.booked < Slot.capacity,
            Slot.starts_at >= now + min_lead,
        )
        .order_by(Slot.starts_at, Slot.id)
    )
    if window is not None and window.first_day is not None:
        query = query.where(Slot.starts_at >= dt.datetime.combine(window.first_day, dt.time.min, TZ))
    if window is not None and window.last_day is not None:
        query = query.where(
            Slot.starts_at < dt.datetime.combine(window.last_day + dt.timedelta(days=1), dt.time.min, TZ)
        )
    skip = set(exclude)
    out: list[Slot] = []
    seen: set[dt.datetime] = set()
    for slot in await session.scalars(query.limit(2000)):
        if slot.id in skip or (window is not None and not window.matches(slot.starts_at, slot.ends_at)):
            continue
        if distinct_times and slot.starts_at in seen:
            continue
        seen.add(slot.starts_at)
        out.append(slot)
        if len(out) >= limit:
            break
    return out


def format_time(starts_at: dt.datetime, ends_at: dt.datetime | None = None) -> str:
    """'12月2日（周三）09:30-10:30' in Beijing time."""
    local = starts_at.astimezone(TZ)
    text = f"{local.month}月{local.day}日（{WEEKDAY_ZH[local.weekday()]}）{local:%H:%M}"
    if ends_at is not None:
        text += f"-{ends_at.astimezone(TZ):%H:%M}"
    return text
