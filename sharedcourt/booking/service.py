"""Booking a mediation slot for a confirmed case: book, reschedule, cancel, callbacks, "my bookings".

Every function takes the caller's `AsyncSession` (one unit of work per request) and raises `Conflict` when a
concurrent change won: the slot is full (`SlotFull`), the booking was already changed, the case already holds a
booking. The guarantee that two residents never hold the same seat comes from the database (see
sharedcourt/db/booking.py): the conditional UPDATE on `slots`, its CHECK constraint and the partial unique index
on confirmed bookings per case. Nothing here checks capacity in Python first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.booking.views import BookingView, view_of
from sharedcourt.db.booking import CONFIRMED, Booking, CallbackRequest, Reminder, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.domain.clock import TZ
from sharedcourt.errors import Conflict, NotFound, SlotFull

# Reminders: the day before at this local time, and this long before the start.
DAY_BEFORE_AT = dt.time(10, 0)
SHORT_NOTICE = dt.timedelta(hours=2)
# A concurrent booking can win the seat a fallback picked; try again this many times while seats are left.
FALLBACK_TRIES = 5


async def _claim_seat(session: AsyncSession, slot_id: int, now: dt.datetime) -> Any | None:
    """Take one seat in the slot if it has room: the database decides, atomically (one conditional UPDATE).

    Returns the slot's (id, site_code, starts_at, ends_at, mediator) when a seat was taken, else None."""
    result = await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.status == "open", Slot.booked < Slot.capacity, Slot.starts_at > now)
        .values(booked=Slot.booked + 1)
        .returning(Slot.id, Slot.site_code, Slot.starts_at, Slot.ends_at, Slot.mediator)
        .execution_options(synchronize_session=False)
    )
    return result.first()


async def _claim_any_seat(
    session: AsyncSession, site_code: str, starts_at: dt.datetime, now: dt.datetime
) -> Any | None:
    """Take a seat in any slot of the site at that time: one UPDATE whose subquery picks a seat with room
    (skipping seats other transactions hold locked on PostgreSQL); the UPDATE re-checks the room itself."""
    pick = (
        select(Slot.id)
        .where(
            Slot.site_code == site_code,
            Slot.starts_at == starts_at,
            Slot.status == "open",
            Slot.booked < Slot.capacity,
            Slot.starts_at > now,
        )
        .order_by(Slot.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    result = await session.execute(
        update(Slot)
        .where(Slot.id == pick.scalar_subquery(), Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1)
        .returning(Slot.id, Slot.site_code, Slot.starts_at, Slot.ends_at, Slot.mediator)
        .execution_options(synchronize_session=False)
    )
    return result.first()


async def _has_room(session: AsyncSession, slot: Slot, now: dt.datetime) -> bool:
    found = await session.scalar(
        select(Slot.id)
        .where(
            Slot.site_code == slot.site_code,
            Slot.starts_at == slot.starts_at,
            Slot.status == "open",
            Slot.booked < Slot.capacity,
            Slot.starts_at > now,
        )
        .limit(1)
    )
    return found is not None


async def _release_seat(session: AsyncSession, slot_id: int) -> None:
    await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )


async def _claim_same_time(session: AsyncSession, slot_id: int, now: dt.datetime, fallback: bool) -> Any:
    """That seat is gone (or never existed): take another seat at the same site and time, or raise SlotFull."""
    slot = await session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(f"slot {slot_id}")
    for _ in range(FALLBACK_TRIES if fallback else 0):
        taken = await _claim_any_seat(session, slot.site_code, slot.starts_at, now)
        if taken is not None:
            return taken
        if not await _has_room(session, slot, now):
            break
    raise SlotFull("该时段已约满")


async def book(
    session: AsyncSession,
    *,
    case_id: int,
    slot_id: int,
    now: dt.datetime,
    same_time_fallback: bool = True,
    replaces_id: int | None = None,
    changed_by: str = "resident",
) -> Booking:
    """Book the case into the slot (or, if that seat is full, another seat at the same site and time).

    Raises Conflict when no seat is left or the case already holds a confirmed booking, NotFound for an unknown
    case or slot."""
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id}")
    taken = await _claim_seat(session, slot_id, now)
    if taken is None:
        taken = await _claim_same_time(session, slot_id, now, same_time_fallback)
    booking = Booking(
        slot_id=taken.id,
        case_id=case.id,
        resident_id=case.resident_id,
        conversation_id=case.conversation_id,
        site_code=taken.site_code,
        starts_at=taken.starts_at,
        ends_at=taken.ends_at,
        mediator=taken.mediator,
        status=CONFIRMED,
        changed_by=changed_by,
        replaces_id=replaces_id,
    )
    session.add(booking)
    try:
        # The partial unique index allows one confirmed booking per case; the caller's transaction rolls back.
        await session.flush()
    except IntegrityError:
        raise Conflict("这个案件已经有预约了") from None
    case.status = "booked"
    case.site_code = taken.site_code
    schedule_reminders(session, booking, now)
    await session.flush()
    return booking


def schedule_reminders(session: AsyncSession, booking: Booking, now: dt.datetime) -> None:
    """The day-before and two-hours-before reminders, skipped when already past."""
    local_day = booking.starts_at.astimezone(TZ).date()
    due = {
        "day_before": dt.datetime.combine(local_day - dt.timedelta(days=1), DAY_BEFORE_AT, TZ),
        "two_hours": booking.starts_at - SHORT_NOTICE,
    }
    for kind, at in due.items():
        if at > now:
            session.add(Reminder(booking_id=booking.id, kind=kind, due_at=at.astimezone(dt.timezone.utc)))


async def _end(session: AsyncSession, booking_id: int, status: str, changed_by: str, reason: str | None) -> Booking:
    """Move a confirmed booking to `status` exactly once (conditional UPDATE … RETURNING) and give its seat back."""
    result = await session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.status == CONFIRMED)
        .values(status=status, changed_by=changed_by, reason=reason, updated_at=dt.datetime.now(dt.timezone.utc))
        .returning(Booking.id)
        .execution_options(synchronize_session=False)
    )
    # Only the row RETURNING gives back proves this call ended it: a false count would release the seat twice.
    if result.scalar_one_or_none() is None:
        if await session.get(Booking, booking_id) is None:
            raise NotFound(f"booking {booking_id}")
        raise Conflict("这个预约已经取消或改过了")
    booking = await session.get_one(Booking, booking_id, populate_existing=True)
    await _release_seat(session, booking.slot_id)
    await session.execute(
        update(Reminder)
        .where(Reminder.booking_id == booking_id, Reminder.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return booking


async def cancel(
    session: AsyncSession, booking_id: int, *, now: dt.datetime, by: str = "resident", reason: str | None = None
) -> Booking:
    """Cancel a confirmed booking and give its seat back; the case can be booked again."""
    booking = await _end(session, booking_id, "cancelled", by, reason)
    case = await session.get_one(Case, booking.case_id)
    case.status = "confirmed"
    await session.flush()
    return booking


async def reschedule(
    session: AsyncSession,
    booking_id: int,
    slot_id: int,
    *,
    now: dt.datetime,
    by: str = "resident",
    reason: str | None = None,
) -> Booking:
    """Replace the booking by one in `slot_id`, atomically: if the new seat is gone the old booking stays."""
    old = await _end(session, booking_id, "rescheduled", by, reason)
    return await book(session, case_id=old.case_id, slot_id=slot_id, now=now, replaces_id=old.id, changed_by=by)


async def my_bookings(session: AsyncSession, resident_id: int, now: dt.datetime) -> list[BookingView]:
    """The resident's confirmed bookings that have not ended, earliest first."""
    rows = await session.scalars(
        select(Booking)
        .where(Booking.resident_id == resident_id, Booking.status == CONFIRMED, Booking.ends_at > now)
        .order_by(Booking.starts_at, Booking.id)
    )
    return [await view_of(session, b) for b in rows]


async def resident_for_conversation(session: AsyncSession, conversation_id: str) -> Resident | None:
    """The resident who holds the conversation, if the conversation is known."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    return await session.get(Resident, conversation.resident_id)


async def bookable_case(session: AsyncSession, conversation_id: str) -> Case | None:
    """The conversation's newest case that was confirmed and is not booked yet (intake stores it)."""
    resident = await resident_for_conversation(session, conversation_id)
    if resident is None:
        return None
    case: Case | None = await session.scalar(
        select(Case)
        .where(Case.resident_id == resident.id, Case.status == "confirmed")
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(1)
    )
    return case


async def request_callback(
    session: AsyncSession,
    *,
    conversation_id: str,
    case_id: int | None,
    site_code: str | None,
    phone: str | None,
    preference: str,
) -> CallbackRequest:
    """None of the times fit: a person calls back (recorded; staff see open requests)."""
    resident = await resident_for_conversation(session, conversation_id)
    if resident is None:
        raise NotFound(f"conversation {conversation_id}")
    if phone and not resident.phone:
        resident.phone = phone
    request = CallbackRequest(
        resident_id=resident.id,
        conversation_id=conversation_id,
        case_id=case_id,
        site_code=site_code,
        phone=phone or resident.phone,
        preference=preference[:500],
    )
    session.add(request)
    await session.flush()
    return request
