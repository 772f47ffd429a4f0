"""What the trust checks remember across front doors: signed callbacks already seen, DingTalk messages claimed and
handled, and every opening of a transcript link."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sharedcourt.db.base import Base, intpk, str64


class SeenSignature(Base):
    """One signed request (channel, its signed key), kept for its freshness window: a replay is refused."""

    __tablename__ = "seen_signatures"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    signature: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(index=True)
    # SHA-256 of the body where the signature does not cover it (WeChat plain mode): a retry repeats it.
    digest: Mapped[str] = mapped_column(String(64), default="", server_default="")


class DingTalkInbound(Base):
    """A DingTalk robot message by its msgId: claimed while one front door handles it, `handled_at` once done."""

    __tablename__ = "dingtalk_inbound"

    msg_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(index=True)
    handled_at: Mapped[dt.datetime | None]


class LinkOpening(Base):
    """One opening of a ticket's transcript link: who (the staff key the link was signed for), when, how shown."""

    __tablename__ = "link_openings"

    id: Mapped[intpk]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    staff: Mapped[str64]
    opened_at: Mapped[dt.datetime]
    masked: Mapped[bool] = mapped_column(default=True)
    address: Mapped[str | None] = mapped_column(String(64))


__all__ = ["DingTalkInbound", "LinkOpening", "SeenSignature"]
