"""The outbound queue every channel sends through (web chat, WeChat, WeCom, DingTalk)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sharedcourt.db.base import Base, created, intpk, str32, str255, utcnow


class OutboxItem(Base):
    """One message to send later through a channel's API; sent at most once.

    status: queued -> sending -> sent | held (quota; back to queued when the user writes again)
            | queued again with a later `next_attempt_at` (a failure that surely did not deliver)
            | failed (gave up, or will never deliver) | unknown (the API may or may not have delivered it)
            | cancelled (the user left)
    An item left `sending` past its lease (`claimed_at`) by a crash is queued again on channels that can take
    a repeat, and `unknown` on those that cannot dedupe (never sent twice).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_channel_recipient", "channel", "recipient"),
    )

    id: Mapped[intpk]
    channel: Mapped[str32]
    recipient: Mapped[str255]
    # Channel-neutral content, read by the channel's sender: {"type": "text", "text": ...} or {"type": "template", ...}
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    # The transcript rows (messages.id) this item carries; their status follows the item's.
    message_ids: Mapped[list[Any]] = mapped_column(default=list)
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When a sender claimed it (queued -> sending): the lease a crash leaves behind.
    claimed_at: Mapped[dt.datetime | None]
    created_at: Mapped[created]
    sent_at: Mapped[dt.datetime | None]


__all__ = ["OutboxItem"]
