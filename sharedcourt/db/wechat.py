"""WeChat's per-user message quota and the passive/async decision per turn."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sharedcourt.db.base import Base, created, intpk, str32, str64


class WeChatQuota(Base):
    """How many customer-service messages one user may still receive, and until when.

    A user message opens a window of 5 messages for 48 hours; a menu click, follow or QR scan opens 3 for one
    minute (unless a message window with room is still open). `used` only grows inside a window.
    """

    __tablename__ = "wechat_quota"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_kind: Mapped[str] = mapped_column(String(16))  # "message" or "event"
    window_start: Mapped[dt.datetime]
    window_end: Mapped[dt.datetime]
    quota: Mapped[int]
    used: Mapped[int] = mapped_column(default=0)


class WeChatTurn(Base):
    """Who answers one inbound WeChat message: the passive reply or the outbox (decided once, across processes).

    `finished` is set when the turn's replies are stored; `reply_mode` is claimed by exactly one party.
    """

    __tablename__ = "wechat_turns"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    reply_mode: Mapped[str | None] = mapped_column(String(16))  # None, "passive", "outbox"
    finished: Mapped[bool] = mapped_column(default=False)
    reply_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[created]


class WeChatConsent(Base):
    """One "accept" of a subscription notice (订阅通知) template: one-time subscriptions allow one notice each.

    granted -> used (a notice consumed it, claimed by a conditional update) | refused (the resident refused
    later in WeChat's settings, or WeChat answered 43101 when it was used).
    """

    __tablename__ = "wechat_consents"
    __table_args__ = (Index("ix_wechat_consents_openid_template_id_status", "openid", "template_id", "status"),)

    id: Mapped[intpk]
    openid: Mapped[str64]
    template_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="granted")
    scene: Mapped[str32] = mapped_column(default="")  # WeChat's PopupScene: 1 an H5 page, 2 an article
    granted_at: Mapped[created]
    used_at: Mapped[dt.datetime | None]


__all__ = ["WeChatConsent", "WeChatQuota", "WeChatTurn"]
