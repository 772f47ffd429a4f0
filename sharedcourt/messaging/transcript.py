"""Transcript rows for outbound messages: every reply, returned or queued, ends in `messages`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.conversation import Message
from sharedcourt.messaging.replies import Reply


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
    return Message(
        conversation_id=conversation_id,
        direction="out",
        channel=channel,
        kind=kind,
        author=author,
        text=str(content.get("text") or ""),
        payload={k: v for k, v in content.items() if k != "text"},
        status=status,
    )


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
