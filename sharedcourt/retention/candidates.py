"""Which conversations are due: the SQL conditions every kind of purge selects with and re-checks under lock.

A conversation's activity is its own row, its messages, and the cases, tickets, bookings and callback requests
it led to. It is idle since a cut-off when none of them is newer; a live ticket (not closed), a confirmed booking
not yet over, or an open callback request keeps it whatever its age.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.sql import Select

from sharedcourt.db.booking import CONFIRMED, Booking, CallbackRequest
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.db.ticket import LIVE_STATES, Ticket

C = Conversation


def led_to_a_case() -> ColumnElement[bool]:
    """The conversation became a case, a ticket, a booking or a callback request (else it is an enquiry)."""
    return or_(
        exists().where(Case.conversation_id == C.id),
        exists().where(Ticket.conversation_id == C.id),
        exists().where(Booking.conversation_id == C.id),
        exists().where(CallbackRequest.conversation_id == C.id),
    )


def idle_since(cutoff: dt.datetime, now: dt.datetime) -> list[ColumnElement[bool]]:
    """Nothing of the conversation is newer than `cutoff`, and nothing of it is still live at `now`."""
    return [
        C.created_at < cutoff,
        C.updated_at < cutoff,
        ~exists().where(Message.conversation_id == C.id, Message.created_at >= cutoff),
        ~exists().where(Case.conversation_id == C.id, Case.updated_at >= cutoff),
        ~exists().where(
            Ticket.conversation_id == C.id, or_(Ticket.updated_at >= cutoff, Ticket.state.in_(LIVE_STATES))
        ),
        ~exists().where(
            Booking.conversation_id == C.id,
            or_(
                Booking.updated_at >= cutoff,
                Booking.ends_at >= cutoff,
                and_(Booking.status == CONFIRMED, Booking.ends_at >= now),
            ),
        ),
        ~exists().where(
            CallbackRequest.conversation_id == C.id,
            or_(CallbackRequest.created_at >= cutoff, CallbackRequest.status == "open"),
        ),
    ]


def due_cases(cutoff: dt.datetime, now: dt.datetime) -> list[ColumnElement[bool]]:
    """A case conversation idle for the case period, not yet purged (or written to again since)."""
    fresh = or_(C.purged_at.is_(None), exists().where(Message.conversation_id == C.id))
    return [led_to_a_case(), *idle_since(cutoff, now), fresh]


def due_enquiries(cutoff: dt.datetime, now: dt.datetime) -> list[ColumnElement[bool]]:
    """An enquiry with messages older than its period, or idle for the whole period and not yet purged."""
    old_message = exists().where(Message.conversation_id == C.id, Message.created_at < cutoff)
    return [~led_to_a_case(), or_(old_message, and_(C.purged_at.is_(None), *idle_since(cutoff, now)))]


def due_evidence(cutoff: dt.datetime, now: dt.datetime) -> list[ColumnElement[bool]]:
    """Any conversation idle for the evidence period that still has evidence rows."""
    has_evidence = or_(
        exists().where(Evidence.case_id == Case.id, Case.conversation_id == C.id),
        exists().where(Evidence.message_id == Message.id, Message.conversation_id == C.id),
    )
    return [*idle_since(cutoff, now), has_evidence]


def ids_where(conditions: list[ColumnElement[bool]]) -> Select[tuple[str]]:
    """The ids of conversations meeting every condition, oldest first."""
    return select(C.id).where(*conditions).order_by(C.created_at, C.id)


def evidence_of(conversation_id: str, *, before: dt.datetime | None = None) -> Select[Any]:
    """(id, path) of the evidence on the conversation's cases or messages (messages older than `before` only)."""
    on_message = select(Message.id).where(Message.conversation_id == conversation_id)
    if before is not None:
        return select(Evidence.id, Evidence.path).where(
            Evidence.message_id.in_(on_message.where(Message.created_at < before))
        )
    on_case = select(Case.id).where(Case.conversation_id == conversation_id)
    return select(Evidence.id, Evidence.path).where(
        or_(Evidence.case_id.in_(on_case), Evidence.message_id.in_(on_message))
    )
