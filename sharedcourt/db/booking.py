"""Mediation slots, bookings, their reminders, callback requests and site closures.

Capacity is enforced by the database, never by a check in Python:
- a slot row holds `capacity` and `booked`; a booking increments `booked` with a conditional
  ``UPDATE slots SET booked = booked + 1 WHERE id = ? AND booked < capacity AND status = 'open'``
  (PostgreSQL row-locks the slot and re-checks the condition after a concurrent commit; SQLite
  serialises writers with BEGIN IMMEDIATE), and a CHECK constraint keeps ``0 <= booked <= capacity``;
- a partial unique index allows one confirmed booking per case;
- a unique constraint makes slot generation idempotent (site, seat, start).

There are deliberately no foreign keys to `sites`/`site_staff`: re-importing the site registry must never
cascade into residents' bookings; `site_code` and the mediator's name are kept as a snapshot instead.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sharedcourt.db.base import Base, created, intpk, str32, str64, str255, utcnow

CONFIRMED = "confirmed"
_ACTIVE = text("status = 'confirmed'")


class Slot(Base):
    """One mediator's (seat's) time window at a site; `capacity` cases can be booked into it."""

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("site_code", "seat_key", "starts_at"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        Index("ix_slots_site_code_starts_at", "site_code", "starts_at"),
    )

    id: Mapped[intpk]
    site_code: Mapped[str32]
    # "staff:<site_staff.id>" for a registered mediator, "site" when the site has none (庭务主任 hosts).
    seat_key: Mapped[str32]
    staff_id: Mapped[int | None]
    mediator: Mapped[str64] = mapped_column(default="")
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    capacity: Mapped[int] = mapped_column(default=1)
    booked: Mapped[int] = mapped_column(default=0)
    # open, closed (a closure or a staff decision)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[created]


class Booking(Base):
    """A resident's appointment in a slot for a case."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index(
            "uq_bookings_case_id_confirmed",
            "case_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_bookings_resident_id_status", "resident_id", "status"),
    )

    id: Mapped[intpk]
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    site_code: Mapped[str32]
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    mediator: Mapped[str64] = mapped_column(default="")
    # confirmed -> cancelled | rescheduled (a newer booking replaces it) | attended | no_show
    status: Mapped[str] = mapped_column(String(16), default=CONFIRMED)
    # resident, staff:<name>, system
    changed_by: Mapped[str64 | None]
    reason: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    created_at: Mapped[created]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Reminder(Base):
    """A message owed to a resident about a booking, due at a time; stored so it survives restarts.

    Kinds: day_before, two_hours (reminders), moved, cancelled (a staff change, with the reason)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("booking_id", "kind"),
        Index("ix_reminders_status_due_at", "status", "due_at"),
    )

    id: Mapped[intpk]
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[dt.datetime]
    # pending -> sending (claimed until `claimed_until`) -> sent | failed; cancelled when the booking changes or
    # the resident said "不用提醒了" (last_error says which); failed also when the channel gave up delivering it
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_until: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str255 | None]
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[created]


class ReminderOptOut(Base):
    """A resident said "不用提醒了": no day-before or two-hours reminder is sent to them any more.

    (Staff changes to a booking are still told.) One row per resident; deleting it turns reminders back on."""

    __tablename__ = "reminder_opt_outs"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    created_at: Mapped[created]


class CallbackRequest(Base):
    """None of the offered times fit (or the site could not be decided): a person calls the resident back."""

    __tablename__ = "callback_requests"

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    site_code: Mapped[str32 | None]
    phone: Mapped[str32 | None]
    preference: Mapped[str] = mapped_column(Text, default="")
    # open -> done
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[created]


class SiteClosure(Base):
    """Days a site (or, with no site, every site) is closed beyond the public holidays."""

    __tablename__ = "site_closures"

    id: Mapped[intpk]
    site_code: Mapped[str32 | None] = mapped_column(index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str255] = mapped_column(default="")
    created_at: Mapped[created]
