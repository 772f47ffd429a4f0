"""Booking a mediation slot for a confirmed case: book, reschedule, cancel, callbacks, "my bookings".

Every function takes the caller's `AsyncSession` (one unit of work per request) and raises `Conflict` when a
concurrent change won: the slot is full (`SlotFull`), the booking was already changed, the case already holds a
booking. The guarantee that two residents never hold the same seat comes from the database (see
sharedcourt/db/booking.py): the conditional UPDATE on `slots`, its CHECK constraint and the partial unique index
on confirmed bookings per case. Nothing here checks capacity in Python first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from sharedcourt.booking import one_statement
from sharedcourt.booking.views import BookingView, view_of
from sharedcourt.db.base import utcnow
from sharedcourt.db.booking import CONFIRMED, Booking, CallbackRequest, Reminder, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.domain.clock import TZ
from sharedcourt.errors import Conflict, NotFound, SlotFull

# Reminders: the day before at this local time, and this long before the start.
DAY_BEFORE_AT = dt.time(10, 0)
SHORT_NOTICE = dt.timedelta(hours=2)
REMINDER_RULE = one_statement.reminder_rule(TZ.key, DAY_BEFORE_AT, SHORT_NOTICE)
# A concurrent booking can win the seat a fallback picked; try again this many times while seats are left.
FALLBACK_TRIES = 5
# Core tables for the hot path: plain statements skip the ORM's per-statement bookkeeping.
BOOKINGS = cast(Table, Booking.__table__)
REMINDERS = cast(Table, Reminder.__table__)
CASES = cast(Table, Case.__table__)
SLOTS = cast(Table, Slot.__table__)
# Built once: constructing a statement costs more client CPU than PostgreSQL spends running it.
CLAIM_SEAT = (
    update(SLOTS)
    .where(
        SLOTS.c.id == bindparam("slot_id"),
        SLOTS.c.status == "open",
        SLOTS.c.booked < SLOTS.c.capacity,
        SLOTS.c.starts_at > bindparam("now"),
    )
    .values(booked=SLOTS.c.booked + 1)
    .returning(SLOTS.c.id, SLOTS.c.site_code, SLOTS.c.starts_at, SLOTS.c.ends_at, SLOTS.c.mediator)
)
MARK_CASE_BOOKED = (
    update(CASES)
    .where(CASES.c.id == bindparam("case_id"))
    .values(status="booked", site_code=bindparam("new_site"), updated_at=bindparam("stamp"))
    .returning(CASES.c.resident_id, CASES.c.conversation_id)
)
INSERT_BOOKING = insert(BOOKINGS).returning(BOOKINGS.c.id)
INSERT_REMINDERS = insert(REMINDERS)


async def _claim_seat(session: AsyncSession, slot_id: int, now: dt.datetime) -> Any | None:
    """Take one seat in the slot if it has room: the database decides, atomically (one conditional UPDATE).

    Returns the slot's (id, site_code, starts_at, ends_at, mediator) when a seat was taken, else None."""
    return (await session.execute(CLAIM_SEAT, {"slot_id": slot_id, "now": now})).first()


async def _claim_any_seat(
    session: AsyncSession, site_code: str, starts_at: dt.datetime, now: dt.datetime
) -> Any | None:
    """Take a seat in any slot of the site at that time: one UPDATE whose subquery picks a seat with room; the
    UPDATE re-checks the room itself. (SQLite, whose writers are serialised; PostgreSQL: `one_statement.py`.)"""
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

    No ORM loads (the hot path: see docs/BENCHMARKS.md). On PostgreSQL one statement claims the seat, marks the case
    booked, inserts the booking and its reminders (`one_statement.py`; one more per try at another seat); on SQLite
    four: claim a seat, mark the case booked (reading back its resident and conversation), insert the booking,
    insert its reminders. Raises Conflict when no seat is left or the case already holds a confirmed booking,
    NotFound for an unknown case or slot; on any error the caller's transaction rolls back (the seat may already
    be claimed)."""
    if session.get_bind().dialect.name == "postgresql":
        return await _book_on_postgresql(session, case_id, slot_id, now, same_time_fallback, replaces_id, changed_by)
    taken = await _claim_seat(session, slot_id, now)
    if taken is None:
        taken = await _claim_same_time(session, slot_id, now, same_time_fallback)
    owner = await _mark_case_booked(session, case_id, taken.site_code)
    values = _booking_values(taken, owner, case_id, replaces_id, changed_by)
    try:
        # The partial unique index allows one confirmed booking per case; the caller's transaction rolls back.
        booking_id = (await session.execute(INSERT_BOOKING, values)).scalar_one()
    except IntegrityError:
        raise Conflict("这个案件已经有预约了") from None
    rows = reminder_rows(booking_id, taken.starts_at, now)
    if rows:
        await session.execute(INSERT_REMINDERS, rows)
    return _persistent(session, Booking(id=booking_id, **values))


async def _book_on_postgresql(
    session: AsyncSession,
    case_id: int,
    slot_id: int,
    now: dt.datetime,
    fallback: bool,
    replaces_id: int | None,
    changed_by: str,
) -> Booking:
    """`book` in one statement per try (`one_statement.py`): the asked seat, then another at the same time."""
    params = {"slot_id": slot_id, "case_id": case_id, "now": now, "stamp": utcnow(), "changed_by": changed_by,
              "replaces_id": replaces_id, **REMINDER_RULE}  # fmt: skip
    try:
        done = await one_statement.book_asked(session, params)
        if done is None and fallback:
            done = await one_statement.book_same_time(session, params, FALLBACK_TRIES)
    except IntegrityError:
        raise Conflict("这个案件已经有预约了") from None
    if done is None:
        if not fallback:
            await _claim_same_time(session, slot_id, now, fallback=False)  # NotFound or SlotFull
        raise SlotFull("该时段已约满")
    if done.booking_id is None:
        raise NotFound(f"case {case_id}")
    _case_held_in_step(session, case_id, done.site_code)
    values = _booking_values(done, done, case_id, replaces_id, changed_by, stamp=params["stamp"])
    return _persistent(session, Booking(id=done.booking_id, **values))


def _booking_values(
    taken: Any, owner: Any, case_id: int, replaces_id: int | None, changed_by: str, stamp: dt.datetime | None = None
) -> dict[str, Any]:
    """The booking row: the claimed slot's snapshot and the case's owner."""
    stamp = stamp or utcnow()
    return {
        "slot_id": taken.id,
        "case_id": case_id,
        "resident_id": owner.resident_id,
        "conversation_id": owner.conversation_id,
        "site_code": taken.site_code,
        "starts_at": taken.starts_at,
        "ends_at": taken.ends_at,
        "mediator": taken.mediator,
        "status": CONFIRMED,
        "changed_by": changed_by,
        "reason": None,
        "replaces_id": replaces_id,
        "created_at": stamp,
        "updated_at": stamp,
    }


async def _mark_case_booked(session: AsyncSession, case_id: int, site_code: str) -> Any:
    """UPDATE … RETURNING the case's owner; keeps a copy the session already holds in step (no extra query)."""
    params = {"case_id": case_id, "new_site": site_code, "stamp": utcnow()}
    owner = (await session.execute(MARK_CASE_BOOKED, params)).first()
    if owner is None:
        raise NotFound(f"case {case_id}")
    _case_held_in_step(session, case_id, site_code)
    return owner


def _case_held_in_step(session: AsyncSession, case_id: int, site_code: str) -> None:
    held = session.identity_map.get(identity_key(Case, case_id))
    if isinstance(held, Case):
        set_committed_value(held, "status", "booked")
        set_committed_value(held, "site_code", site_code)


def _persistent(session: AsyncSession, booking: Booking) -> Booking:
    """Attach the inserted row as a persistent object without reading it back."""
    make_transient_to_detached(booking)
    session.add(booking)
    return booking


def reminder_rows(booking_id: int, starts_at: dt.datetime, now: dt.datetime) -> list[dict[str, Any]]:
    """The day-before and two-hours-before reminders' rows, skipped when already past."""
    local_day = starts_at.astimezone(TZ).date()
    due = {
        "day_before": dt.datetime.combine(local_day - dt.timedelta(days=1), DAY_BEFORE_AT, TZ),
        "two_hours": starts_at - SHORT_NOTICE,
    }
    stamp = utcnow()
    return [
        {"booking_id": booking_id, "kind": kind, "due_at": at.astimezone(dt.timezone.utc), "status": "pending",
         "attempts": 0, "text": "", "created_at": stamp}
        for kind, at in due.items()
        if at > now
    ]  # fmt: skip


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
