"""Handoff tickets: who was asked, who holds the conversation, every state change, and the resident's rating."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sharedcourt.db.base import Base, created, intpk, str32, str64, str255, utcnow

# requested -> offered -> accepted -> closed; offered -> escalated (with the dispatch centre) -> accepted;
# offered/escalated -> expired (nobody took it: a callback is owed); callback (out of hours) -> accepted.
TICKET_STATES = ("requested", "offered", "escalated", "accepted", "closed", "expired", "callback")
OPEN_STATES = ("requested", "offered", "escalated", "callback", "expired")
LIVE_STATES = (*OPEN_STATES, "accepted")
OUTCOMES = ("调解成功", "调解不成", "转立案", "已解答", "其他")


class Ticket(Base):
    """One request for a person, from the resident's ask to the close."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_state_offer_deadline", "state", "offer_deadline"),
        Index("ix_tickets_conversation_id_state", "conversation_id", "state"),
    )

    id: Mapped[intpk]
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    state: Mapped[str] = mapped_column(String(16), default="requested")
    # Routing: the rule that matched, its Chinese label, the reason in words, the site that serves it.
    rule: Mapped[str32]
    rule_label: Mapped[str64] = mapped_column(default="")
    reason: Mapped[str255] = mapped_column(default="")
    site_code: Mapped[str32 | None]
    site_name: Mapped[str] = mapped_column(String(128), default="")
    dispute_code: Mapped[str32 | None]
    urgent: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    # The escalation chain: roster ids in the order they are offered the ticket; `level` indexes it.
    chain: Mapped[list[Any]] = mapped_column(default=list)
    level: Mapped[int] = mapped_column(default=0)
    assignee: Mapped[str64 | None]  # who it is offered to now
    holder: Mapped[str64 | None]  # who accepted it (at most one; set only by a conditional UPDATE)
    offer_deadline: Mapped[dt.datetime | None]
    callback_after: Mapped[dt.datetime | None]
    outcome: Mapped[str32 | None]
    note: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[created]
    offered_at: Mapped[dt.datetime | None]
    escalated_at: Mapped[dt.datetime | None]
    accepted_at: Mapped[dt.datetime | None]
    expired_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TicketEvent(Base):
    """Every change of a ticket and every message about it (offered, escalated, accepted, relayed, closed)."""

    __tablename__ = "ticket_events"

    id: Mapped[intpk]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str32]
    actor: Mapped[str64] = mapped_column(default="system")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Rating(Base):
    """The resident's satisfaction with a closed handoff: 1-5 and an optional comment."""

    __tablename__ = "ratings"

    id: Mapped[intpk]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[created]
