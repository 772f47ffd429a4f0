"""Transcript rows for outbound messages: every reply, returned or queued, ends in `messages`."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Insert, Integer, Select, bindparam, insert, select
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


class Shown(Protocol):
    """What a channel shows of a transcript row (a Core row of `shown_columns`, or a Message)."""

    id: int
    kind: str
    author: str
    text: str
    payload: dict[str, Any]


def shown_columns() -> tuple[ColumnElement[Any], ...]:
    """The columns of `Shown`, for a Core select (no ORM objects to build for a page of messages)."""
    columns = table_of(Message).c
    return columns.id, columns.kind, columns.author, columns.text, columns.payload


@functools.cache
def _insert_replies() -> Insert:
    # RETURNING lets SQLAlchemy send the rows as one multi-row INSERT (insertmanyvalues), not one per reply;
    # in the replies' order (ids are the transcript's order), as the ORM's flush inserted them.
    return insert(table_of(Message)).returning(table_of(Message).c.id, sort_by_parameter_order=True)


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
    await connection.execute(_insert_replies(), rows)


@functools.cache
def _after() -> Select[Any]:
    messages, conversations, residents = table_of(Message), table_of(Conversation), table_of(Resident)
    return (
        select(*shown_columns())
        .select_from(
            messages.join(conversations, conversations.c.id == messages.c.conversation_id).join(
                residents, residents.c.id == conversations.c.resident_id
            )
        )
        .where(
            residents.c.channel == bindparam("p_channel"),
            residents.c.channel_user_id == bindparam("p_user"),
            messages.c.direction == "out",
            messages.c.id > bindparam("p_after", type_=Integer()),
        )
        .order_by(messages.c.id)
        .limit(bindparam("p_limit", type_=Integer()))
    )


async def messages_after(
    sessions: async_sessionmaker[AsyncSession], channel: str, user_id: str, after: int, limit: int = 50
) -> Sequence[Shown]:
    """Outbound messages for a channel user after a cursor (web chat polling)."""
    params = {"p_channel": channel, "p_user": user_id, "p_after": after, "p_limit": limit}
    async with reader(sessions) as session:
        connection = await session.connection()
        rows: Sequence[Shown] = (await connection.execute(_after(), params)).all()
        return rows
