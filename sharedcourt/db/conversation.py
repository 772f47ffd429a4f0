"""Residents, their conversations and every message in and out."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sharedcourt.db.base import Base, created, intpk, str32, str64, str255, utcnow
from sharedcourt.db.fulltext import TRGM_SCHEMA, TRIGRAM_INDEX


def new_conversation_id() -> str:
    """A fresh conversation id (also Rasa's sender id): 32 hex characters."""
    return uuid.uuid4().hex


class Resident(Base):
    """One identity per channel user (a WeChat openid, a web chat sender id)."""

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: Mapped[intpk]
    channel: Mapped[str32]
    channel_user_id: Mapped[str255]
    name: Mapped[str64 | None]
    phone: Mapped[str32 | None]
    is_staff: Mapped[bool] = mapped_column(default=False)
    subscribed: Mapped[bool] = mapped_column(default=True)
    # Where the resident said or showed they are: a statistical code and/or coordinates.
    place_code: Mapped[str32 | None]
    site_code: Mapped[str32 | None]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    location_label: Mapped[str255 | None]
    created_at: Mapped[created]
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    conversations: Mapped[list[Conversation]] = relationship(back_populates="resident")


class Conversation(Base):
    """A resident's dialogue; its id is the Rasa sender id."""

    __tablename__ = "conversations"
    # Review lists conversations newest first and pages on (updated_at, id).
    __table_args__ = (Index("ix_conversations_updated_at_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_conversation_id)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    channel: Mapped[str32]
    # "bot" while Rasa answers, "human" while a person holds the conversation.
    mode: Mapped[str] = mapped_column(String(16), default="bot")
    created_at: Mapped[created]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When the retention purge removed its messages and anonymised what it led to (sharedcourt.retention).
    purged_at: Mapped[dt.datetime | None]

    resident: Mapped[Resident] = relationship(back_populates="conversations")


class Message(Base):
    """Every inbound and outbound message; the id is the web chat cursor."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_status", "status"),
        # Search (review): substring ILIKE on PostgreSQL; SQLite has its FTS5 table instead (db/fulltext.py).
        Index(
            TRIGRAM_INDEX,
            "text",
            postgresql_using="gin",
            postgresql_ops={"text": f"{TRGM_SCHEMA}.gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[intpk]
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    channel: Mapped[str32]
    # text, voice, image, location, link, video, file, event, notice
    kind: Mapped[str] = mapped_column(String(16), default="text")
    # resident, bot, staff:<id>, system
    author: Mapped[str64]
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Channel's own id (WeChat MsgId, or openid+CreateTime for events) for de-duplication.
    external_id: Mapped[str | None] = mapped_column(String(128))
    # in: received -> processing (a worker's turn) -> processed | pending (kept: Rasa down) | relayed (to a person)
    # out: stored | queued -> sent | held | failed | unknown | cancelled (through the outbox)
    status: Mapped[str] = mapped_column(String(16), default="received")
    # When a worker claimed the inbound message for a turn: its lease (a crash leaves it; `recover` takes it back).
    claimed_at: Mapped[dt.datetime | None]
    # A turn for it reached Rasa and no answer came back (timeout, crash): read the tracker before replaying.
    turn_unsure: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[created]
