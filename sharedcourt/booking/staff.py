"""What staff do to bookings: book for a resident, move or cancel one (the resident is told, and why), close days,
list a site's bookings and the reminders that never reached their resident.

The staff JSON API (sharedcourt/web/bookings.py) calls these; each takes the caller's `AsyncSession`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.booking.calendar import close_days
from sharedcourt.booking.service import book, cancel, reschedule
from sharedcourt.booking.views import BookingView, view_of, what_to_bring
from sharedcourt.db.booking import CONFIRMED, Booking, CallbackRequest, Reminder
from sharedcourt.errors import Conflict

LIST_LIMIT = 500
FAILED_LIMIT = 200


@dataclass(frozen=True)
class SiteBookings:
    """A site's upcoming confirmed bookings and the callback requests still open."""

    bookings: list[BookingView]
    callbacks: list[CallbackRequest]


@dataclass(frozen=True)
class Closure:
    """Days just closed: how many closed slots still hold bookings, and those bookings."""

    held_slots: int
    bookings: list[BookingView]


def _notice(session: AsyncSession, booking_id: int, kind: str, text: str, now: dt.datetime) -> None:
    session.add(Reminder(booking_id=booking_id, kind=kind, due_at=now, text=text))


@dataclass(frozen=True)
class Undelivered:
    """A reminder or notice that ended `failed`: what it was, why, and the booking it was about."""

    reminder_id: int
    kind: str
    reason: str
    due_at: dt.datetime
    booking: BookingView


async def staff_book(
    session: AsyncSession, case_id: int, slot_id: int, *, staff: str, now: dt.datetime, callback_id: int | None = None
) -> Booking:
    """Staff book a case (after calling the resident back); the resident is told the booking like any notice."""
    booking = await book(session, case_id=case_id, slot_id=slot_id, now=now, changed_by=f"staff:{staff}")
    if callback_id is not None:
        callback = await session.get(CallbackRequest, callback_id)
        if callback is not None and callback.case_id in (None, case_id):
            callback.status = "done"
    info = await view_of(session, booking)
    text = (
        f"工作人员已为您预约调解。\n时间：{info.when_zh}\n地点：{info.site_name}（{info.address}）\n"
        f"调解员：{info.mediator}\n请带好：{what_to_bring(info.dispute_code)}。\n如需改时间或取消，请回复“我的预约”。"
    )
    _notice(session, booking.id, "confirmed", text, now)
    await session.flush()
    return booking


async def failed_reminders(
    session: AsyncSession, site_code: str | None, limit: int = FAILED_LIMIT
) -> list[Undelivered]:
    """Reminders and notices that ended `failed` (newest due first), at one site or everywhere."""
    query = (
        select(Reminder, Booking).join(Booking, Booking.id == Reminder.booking_id).where(Reminder.status == "failed")
    )
    if site_code:
        query = query.where(Booking.site_code == site_code)
    rows = (await session.execute(query.order_by(Reminder.due_at.desc(), Reminder.id.desc()).limit(limit))).all()
    return [Undelivered(r.id, r.kind, r.last_error or "", r.due_at, await view_of(session, b)) for r, b in rows]


async def staff_move(
    session: AsyncSession, booking_id: int, slot_id: int, *, staff: str, reason: str, now: dt.datetime
) -> Booking:
    """Staff move a booking to another slot; the resident is told the new time and the reason."""
    if not reason.strip():
        raise Conflict("请填写改期原因，系统会发给当事人")
    new = await reschedule(session, booking_id, slot_id, now=now, by=f"staff:{staff}", reason=reason)
    info = await view_of(session, new)
    text = (
        f"您的调解预约已由工作人员调整，原因：{reason}\n"
        f"新的时间：{info.when_zh}\n地点：{info.site_name}（{info.address}）\n调解员：{info.mediator}\n"
        "如新时间不方便，请回复“我的预约”改约或取消。"
    )
    _notice(session, new.id, "moved", text, now)
    await session.flush()
    return new


async def staff_cancel(session: AsyncSession, booking_id: int, *, staff: str, reason: str, now: dt.datetime) -> Booking:
    """Staff cancel a booking; the resident is told why and how to book again."""
    if not reason.strip():
        raise Conflict("请填写取消原因，系统会发给当事人")
    booking = await cancel(session, booking_id, now=now, by=f"staff:{staff}", reason=reason)
    info = await view_of(session, booking)
    text = (
        f"很抱歉，您{info.when_zh}在{info.site_name}的调解预约已被工作人员取消，原因：{reason}\n"
        "您可以回复“我要预约”重新选择时间，或回复“人工服务”联系工作人员。"
    )
    _notice(session, booking.id, "cancelled", text, now)
    await session.flush()
    return booking


async def site_bookings(session: AsyncSession, site_code: str, now: dt.datetime) -> SiteBookings:
    """The site's confirmed bookings that have not ended (earliest first) and its open callback requests."""
    rows = await session.scalars(
        select(Booking)
        .where(Booking.site_code == site_code, Booking.status == CONFIRMED, Booking.ends_at > now)
        .order_by(Booking.starts_at, Booking.id)
        .limit(LIST_LIMIT)
    )
    bookings = [await view_of(session, b) for b in rows]
    callbacks = await session.scalars(
        select(CallbackRequest)
        .where(CallbackRequest.site_code == site_code, CallbackRequest.status == "open")
        .order_by(CallbackRequest.id)
    )
    return SiteBookings(bookings, list(callbacks))


async def close(session: AsyncSession, site_code: str | None, first: dt.date, last: dt.date, reason: str) -> Closure:
    """Close days at a site (None: every site); the bookings still held then are for staff to move or cancel."""
    held = await close_days(session, site_code, first, last, reason)
    rows = await session.scalars(
        select(Booking).where(Booking.slot_id.in_(held), Booking.status == CONFIRMED).order_by(Booking.starts_at)
    )
    return Closure(len(held), [await view_of(session, b) for b in rows])
