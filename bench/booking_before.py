"""Earlier versions of `sharedcourt.booking.service.book`, kept only for bench/bench_booking.py to measure against.

- `book_orm`: before issue 14 (read the case as an object, flush the booking and its reminders through the unit of
  work, then flush the case);
- `book_four`: issue 14's first step, commit d31d4fd (four prebuilt Core statements: claim the seat, mark the case
  booked RETURNING its owner, insert the booking RETURNING id, insert the reminders), run with pool pre-ping.

Both fall back to another seat at the same time as they did then: an ORM read of the asked slot, then an UPDATE
whose subquery picks a seat with room (SKIP LOCKED on PostgreSQL), and a check for room left after a miss.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.booking import service as bk
from sharedcourt.db.base import utcnow
from sharedcourt.db.booking import CONFIRMED, Booking, Reminder, Slot
from sharedcourt.db.case import Case
from sharedcourt.errors import Conflict, NotFound, SlotFull


async def claim_any_seat(session: AsyncSession, site_code: str, starts_at: dt.datetime, now: dt.datetime) -> Any:
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


async def claim_same_time(session: AsyncSession, slot_id: int, now: dt.datetime, fallback: bool) -> Any:
    slot = await session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(f"slot {slot_id}")
    for _ in range(bk.FALLBACK_TRIES if fallback else 0):
        taken = await claim_any_seat(session, slot.site_code, slot.starts_at, now)
        if taken is not None:
            return taken
        if not await bk._has_room(session, slot, now):
            break
    raise SlotFull("该时段已约满")


async def book_orm(
    session: AsyncSession, *, case_id: int, slot_id: int, now: dt.datetime, same_time_fallback: bool = True
) -> Booking:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id}")
    claim = (
        update(Slot)
        .where(Slot.id == slot_id, Slot.status == "open", Slot.booked < Slot.capacity, Slot.starts_at > now)
        .values(booked=Slot.booked + 1)
        .returning(Slot.id, Slot.site_code, Slot.starts_at, Slot.ends_at, Slot.mediator)
        .execution_options(synchronize_session=False)
    )
    taken = (await session.execute(claim)).first()
    if taken is None:
        taken = await claim_same_time(session, slot_id, now, same_time_fallback)
    booking = Booking(
        slot_id=taken.id, case_id=case.id, resident_id=case.resident_id, conversation_id=case.conversation_id,
        site_code=taken.site_code, starts_at=taken.starts_at, ends_at=taken.ends_at, mediator=taken.mediator,
        status=CONFIRMED, changed_by="resident",
    )  # fmt: skip
    session.add(booking)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("这个案件已经有预约了") from None
    case.status = "booked"
    case.site_code = taken.site_code
    for row in bk.reminder_rows(booking.id, booking.starts_at, now):
        session.add(Reminder(**row))
    await session.flush()
    return booking


async def book_four(
    session: AsyncSession, *, case_id: int, slot_id: int, now: dt.datetime, same_time_fallback: bool = True
) -> Booking:
    taken = (await session.execute(bk.CLAIM_SEAT, {"slot_id": slot_id, "now": now})).first()
    if taken is None:
        taken = await claim_same_time(session, slot_id, now, same_time_fallback)
    owner = await bk._mark_case_booked(session, case_id, taken.site_code)
    stamp = utcnow()
    values: dict[str, Any] = {
        "slot_id": taken.id, "case_id": case_id, "resident_id": owner.resident_id,
        "conversation_id": owner.conversation_id, "site_code": taken.site_code, "starts_at": taken.starts_at,
        "ends_at": taken.ends_at, "mediator": taken.mediator, "status": CONFIRMED, "changed_by": "resident",
        "reason": None, "replaces_id": None, "created_at": stamp, "updated_at": stamp,
    }  # fmt: skip
    try:
        booking_id = (await session.execute(bk.INSERT_BOOKING, values)).scalar_one()
    except IntegrityError:
        raise Conflict("这个案件已经有预约了") from None
    rows = bk.reminder_rows(booking_id, taken.starts_at, now)
    if rows:
        await session.execute(bk.INSERT_REMINDERS, rows)
    return bk._persistent(session, Booking(id=booking_id, **values))
