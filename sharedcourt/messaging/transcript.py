"""Transcript rows for outbound messages: every reply, returned or queued, ends in `messages`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import table_of
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import reader
from sharedcourt.messaging.replies import Reply


def outbound_values(
    conversation_id: str,
    channel: str,
    content: Mapping[str, Any],
    *,
    author: str,
    kind: str = "text",
    status: str = "stored",
) -> dict[str, Any]:
    """The column values of one outbound transcript row: `content["text"]` is its text, the rest its payload."""
    return {
        "conversation_id": conversation_id,
        "direction": "out",
        "channel": channel,
        "kind": kind,
        "author": author,
        "text": str(content.get("text") or ""),
        "payload": {k: v for k, v in content.items() if k != "text"},
        "status": status,
    }


def outbound_message(
    conversation_id: str,
    channel: str,
    content: Mapping[str, Any],
    *,
    author: str,
    kind: str = "text",
    status: str = "stored",
) -> Message:
    """One outbound transcript row: `content["text"]` is its text, the rest of `content` its payload."""
    return Message(**outbound_values(conversation_id, channel, content, author=author, kind=kind, status=status))


def store_replies(
    session: AsyncSession,
    conversation_id: str,
    replies: Sequence[Reply],
    *,
    author: str,
    channel: str,
    kind: str = "text",
) -> list[Message]:
    """Add a transcript row per reply to the caller's transaction; returns the rows (ids after a flush)."""
    rows = [outbound_message(conversation_id, channel, reply.to_json(), author=author, kind=kind) for reply in replies]
    session.add_all(rows)
    return rows


async def insert_replies(
    session: AsyncSession,
    conversation_id: str,
    replies: Sequence[Reply],
    *,
    author: str,
    channel: str,
    kind: str = "text",
) -> None:
    """Insert a transcript row per reply in the caller's transaction, now, when no one needs the rows back
    (one Core INSERT: no ORM objects to build and flush)."""
    if not replies:
        return
    rows = [outbound_values(conversation_id, channel, r.to_json(), author=author, kind=kind) for r in replies]
    connection = await session.connection()
    await connection.execute(insert(table_of(Message)), rows)


async def messages_after(
    sessions: async_sessionmaker[AsyncSession], channel: str, user_id: str, after: int, limit: int = 50
) -> list[Message]:
    """Outbound messages for a channel user after a cursor (web chat polling)."""
    async with reader(sessions) as session:
        rows = await session.scalars(
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Resident, Resident.id == Conversation.resident_id)
            .where(
                Resident.channel == channel,
                Resident.channel_user_id == user_id,
                Message.direction == "out",
                Message.id > after,
            )
            .order_by(Message.id)
            .limit(limit)
        )
        return list(rows)
