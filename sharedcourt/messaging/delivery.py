"""How replies reach a resident later: a channel's deliverer after the commit, or its outbox queue inside it.

A `Queuer` channel (one that sends through the outbox) gets the just-stored transcript rows and queues them in
the same transaction, so a reply is never stored without its outbox item nor queued without its row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.conversation import Message
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.transcript import insert_replies, store_replies

AfterCommit = Callable[[], Awaitable[None]]


class Deliverer(Protocol):
    """Sends replies that were not returned in the request that caused them (after they were committed)."""

    async def deliver(self, conversation_id: str, replies: Sequence[Reply]) -> None:
        """Send `replies` to the resident of `conversation_id` through the channel."""


@runtime_checkable
class Queuer(Protocol):
    """A channel whose later replies go through the outbox: queued in the very transaction that stores them."""

    async def queue(
        self, session: AsyncSession, conversation_id: str, rows: Sequence[Message], replies: Sequence[Reply]
    ) -> bool:
        """Queue the just-stored `rows` (flushed, not committed) for the resident; True if anything was queued."""

    def kick(self) -> None:
        """Wake the sender after the commit."""


async def store_for_delivery(
    session: AsyncSession,
    target: Deliverer | Queuer | None,
    conversation_id: str,
    channel: str,
    replies: Sequence[Reply],
    *,
    author: str,
    kind: str = "text",
) -> AfterCommit | None:
    """Store replies; a `Queuer` queues them in this transaction. Returns what to run after the commit."""
    if not isinstance(target, Queuer):
        await insert_replies(session, conversation_id, replies, author=author, channel=channel, kind=kind)
        if target is None or not replies:
            return None
        deliverer = target

        async def send_later() -> None:
            await deliverer.deliver(conversation_id, replies)

        return send_later
    rows = store_replies(session, conversation_id, replies, author=author, channel=channel, kind=kind)
    if not replies:
        return None
    await session.flush()
    if not await target.queue(session, conversation_id, rows, replies):
        return None
    kick = target.kick

    async def wake() -> None:
        kick()

    return wake
