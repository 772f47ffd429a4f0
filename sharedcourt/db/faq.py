"""普法 knowledge base edits made in the console, the questions it could not answer, and stream reminders.

`faq_entry_edits`: one row per entry an admin changed or added; it replaces the shipped YAML entry of the same id
(or adds one) in every front door (sharedcourt.faq.live). `faq_unanswered`: one row per distinct (masked,
normalised) law question the assistant declined or had no entry for, counted. `pufa_stream_reminders`: one
reminder owed to a resident who subscribed to an upcoming 普法 live stream.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sharedcourt.db.base import Base, created, intpk, str32, str64, str255, utcnow


class FaqEntryEdit(Base):
    """An entry as the console last saved it (an override of the shipped entry with this id, or a new one)."""

    __tablename__ = "faq_entry_edits"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dispute: Mapped[str32]
    questions: Mapped[list[Any]]
    answer: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[Any]]
    figures: Mapped[str | None] = mapped_column(Text)
    checked: Mapped[dt.date] = mapped_column(Date)
    updated_by: Mapped[str64]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[created]


class FaqUnanswered(Base):
    """A law question (masked) the assistant declined or had no entry for, grouped by its normalised text."""

    __tablename__ = "faq_unanswered"
    __table_args__ = (Index("ix_faq_unanswered_covered_entry_last_at", "covered_entry", "last_at"),)

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(String(255), unique=True)  # the masked text without filler and punctuation
    text: Mapped[str] = mapped_column(Text)  # the latest wording, masked
    dispute_code: Mapped[str32 | None]  # the classifier's or the retrieval's guess
    reason: Mapped[str] = mapped_column(String(16))  # "not_sure" (below the threshold) or "no_entry"
    score: Mapped[float] = mapped_column(default=0.0)
    count: Mapped[int] = mapped_column(default=1)
    first_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    covered_entry: Mapped[str64 | None]
    covered_by: Mapped[str64 | None]
    covered_at: Mapped[dt.datetime | None]


class PufaStreamReminder(Base):
    """One reminder before a 普法 live stream, owed to a resident who subscribed in the conversation."""

    __tablename__ = "pufa_stream_reminders"
    __table_args__ = (
        UniqueConstraint("resident_id", "stream_key"),
        Index("ix_pufa_stream_reminders_status_due_at", "status", "due_at"),
    )

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    stream_key: Mapped[str32]
    county: Mapped[str64]
    title: Mapped[str255]
    starts_at: Mapped[dt.datetime]
    watch: Mapped[str] = mapped_column(Text, default="")  # the link or the place
    due_at: Mapped[dt.datetime]
    # pending -> sending (claimed until `claimed_until`) -> sent | failed; cancelled when the resident said so
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_until: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str255 | None]
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[created]
