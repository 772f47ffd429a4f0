"""Cases: what the resident brought, with the facts collected for it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sharedcourt.db.base import Base, created, intpk, str32, str64, utcnow


class Case(Base):
    """A dispute brought by a resident; facts are the normalised values collected."""

    __tablename__ = "cases"

    id: Mapped[intpk]
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    dispute_code: Mapped[str32 | None]
    urgent: Mapped[bool] = mapped_column(default=False)
    # open -> confirmed -> booked / handed_off -> closed
    status: Mapped[str] = mapped_column(String(16), default="open")
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    site_code: Mapped[str32 | None]
    handler: Mapped[str64 | None]
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[created]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Evidence(Base):
    """A file the resident sent for a case (photo, voice, document), stored by hash."""

    __tablename__ = "evidence"

    id: Mapped[intpk]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    kind: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str64 | None]
    path: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created]
