"""Cards for people on the roster kept in the database when no DingTalk is configured (the web inbox): a restart
loses nothing, and every front door reads the same inbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sharedcourt.db.base import Base, created, intpk, str64, str255


class StaffNotice(Base):
    """One card for one person: the offer of a ticket, a resident's message, a cancellation."""

    __tablename__ = "staff_notices"
    __table_args__ = (Index("ix_staff_notices_staff_key_id", "staff_key", "id"),)

    id: Mapped[intpk]
    staff_key: Mapped[str64]  # the roster id of whom it is for
    ticket_number: Mapped[str | None] = mapped_column(String(32), index=True)
    title: Mapped[str255]
    text: Mapped[str] = mapped_column(Text, default="")
    buttons: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[created]


class DingTalkCard(Base):
    """One interactive card sent on DingTalk (its outTrackId): which ticket, whom; every card of a ticket is
    updated after an action on any of them (taken by X, closed with an outcome)."""

    __tablename__ = "dingtalk_cards"

    out_track_id: Mapped[str64] = mapped_column(primary_key=True)
    ticket_number: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str64]  # the DingTalk user id it was delivered to
    created_at: Mapped[created]


__all__ = ["DingTalkCard", "StaffNotice"]
