"""The outbound queue for every message no request is waiting for (WeChat customer-service, DingTalk, reminders).

- `enqueue(session, channel, recipient, payload, conversation_id=...)` adds an item inside the caller's
  transaction; an item with a conversation and no transcript rows gets one, so every message ends in the
  transcript.
- `Outbox` sends due items through the sender registered for their channel. An item is claimed with a
  conditional update (queued -> sending) before its sender runs, so it is sent at most once across workers
  and processes. A failure that surely did not deliver is retried with exponential backoff; one that may have
  delivered (a timeout after the request went out) ends as `unknown` and is never repeated.
- A sender may answer `held` (WeChat's per-user quota is used up); held items go back to the queue when the
  channel calls `release_held` (the user wrote again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Message
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import unit_of_work
from sharedcourt.messaging.transcript import outbound_message

log = logging.getLogger(__name__)

Outcome = Literal["sent", "held", "retry", "failed", "unknown"]
FINAL = ("sent", "failed", "unknown", "cancelled")


@dataclass(frozen=True)
class SendResult:
    """What a sender says happened to one item, and when to try again."""

    status: Outcome
    detail: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class Item:
    """What a sender sees of an outbox row (detached, read-only)."""

    id: int
    channel: str
    recipient: str
    payload: dict[str, Any]
    conversation_id: str | None
    urgent: bool
    attempts: int


class Sender(Protocol):
    """Delivers one item through a channel's API and says what happened."""

    async def send(self, item: Item) -> SendResult:
        """Deliver `item`; raise only when it may have gone out (it is then never repeated)."""


async def enqueue(
    session: AsyncSession,
    channel: str,
    recipient: str,
    payload: dict[str, Any],
    *,
    conversation_id: str | None = None,
    message_ids: Sequence[int] = (),
    urgent: bool = False,
    author: str = "system",
    not_before: dt.datetime | None = None,
) -> OutboxItem:
    """Queue one message in the caller's transaction (commit makes it visible to the sender loop)."""
    ids = list(message_ids)
    if conversation_id is not None and not ids:
        kind = str(payload.get("kind") or payload.get("type") or "text")
        transcript = outbound_message(conversation_id, channel, payload, author=author, kind=kind, status="queued")
        session.add(transcript)
        await session.flush()
        ids = [transcript.id]
    elif ids:
        await session.execute(update(Message).where(Message.id.in_(ids)).values(status="queued"))
    item = OutboxItem(
        channel=channel,
        recipient=recipient,
        payload=payload,
        conversation_id=conversation_id,
        message_ids=ids,
        urgent=urgent,
        status="queued",
        next_attempt_at=not_before or utcnow(),
    )
    session.add(item)
    await session.flush()
    return item


class Outbox:
    """Sends queued items through per-channel senders, with retries and backoff."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        base_delay: float = 2.0,
        max_delay: float = 600.0,
        max_attempts: int = 8,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.senders: dict[str, Sender] = {}
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()

    def register(self, channel: str, sender: Sender) -> None:
        """Send `channel`'s items through `sender` in this process."""
        self.senders[channel] = sender

    def kick(self) -> None:
        """Wake the sender loop now (after a commit that queued something)."""
        self._wake.set()

    async def add(self, channel: str, recipient: str, payload: dict[str, Any], **kwargs: Any) -> int:
        """`enqueue` in its own transaction, then wake the loop; returns the item id."""
        async with unit_of_work(self.sessions) as session:
            item = await enqueue(session, channel, recipient, payload, **kwargs)
            item_id = item.id
        self.kick()
        return item_id

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt after `attempts` failures (doubling, capped at `max_delay`)."""
        delay: float = self.base_delay * (2 ** max(attempts - 1, 0))
        return min(self.max_delay, delay)

    async def _claim(self, item_id: int) -> Item | None:
        async with unit_of_work(self.sessions) as session:
            claimed = await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id, OutboxItem.status == "queued")
                .values(status="sending", attempts=OutboxItem.attempts + 1)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = await session.get_one(OutboxItem, item_id)
            await session.refresh(row)
            return Item(
                row.id, row.channel, row.recipient, dict(row.payload), row.conversation_id, row.urgent, row.attempts
            )

    async def _finish(self, item: Item, result: SendResult) -> None:
        now = self.clock()
        values: dict[str, Any] = {"last_error": result.detail[:2000] or None}
        message_status: str | None = None
        if result.status == "sent":
            values.update(status="sent", sent_at=now)
            message_status = "sent"
        elif result.status == "held":
            values.update(status="held")
            message_status = "held"
        elif result.status == "retry" and item.attempts < self.max_attempts:
            delay = result.retry_after if result.retry_after is not None else self.backoff(item.attempts)
            values.update(status="queued", next_attempt_at=now + dt.timedelta(seconds=delay))
        elif result.status == "unknown":
            values.update(status="unknown")
            message_status = "unknown"
        else:
            values.update(status="failed")
            message_status = "failed"
        async with unit_of_work(self.sessions) as session:
            await session.execute(update(OutboxItem).where(OutboxItem.id == item.id).values(**values))
            row = await session.get_one(OutboxItem, item.id)
            if message_status and row.message_ids:
                await session.execute(
                    update(Message).where(Message.id.in_(list(row.message_ids))).values(status=message_status)
                )

    async def send_one(self, item_id: int) -> Outcome | None:
        """Claim and send one item; None when someone else has it or it is not due."""
        item = await self._claim(item_id)
        if item is None:
            return None
        sender = self.senders.get(item.channel)
        if sender is None:
            result = SendResult("failed", f"no sender for channel {item.channel!r}")
        else:
            try:
                result = await sender.send(item)
            except Exception as exc:
                log.exception("sender for %s failed on outbox item %s", item.channel, item.id)
                # The request may have gone out: never repeat it.
                result = SendResult("unknown", f"{type(exc).__name__}: {exc}")
        await self._finish(item, result)
        return result.status

    async def run_once(self, limit: int = 100) -> int:
        """Send every due item once, oldest first; returns how many were sent."""
        if not self.senders:
            return 0
        async with self.sessions() as session:
            due = list(
                await session.scalars(
                    select(OutboxItem.id)
                    .where(
                        OutboxItem.status == "queued",
                        OutboxItem.next_attempt_at <= self.clock(),
                        # Only channels this process can send: another process may be configured for the rest.
                        OutboxItem.channel.in_(list(self.senders)),
                    )
                    .order_by(OutboxItem.id)
                    .limit(limit)
                )
            )
        sent = 0
        for item_id in due:
            if await self.send_one(item_id) == "sent":
                sent += 1
        return sent

    async def run(self, interval: float = 1.0) -> None:
        """The sender loop: every `interval` seconds, or at once when kicked."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox round failed")

    async def release_held(self, channel: str, recipient: str) -> int:
        """Held items of one recipient go back to the queue (the channel's quota opened again)."""
        async with unit_of_work(self.sessions) as session:
            result = await session.execute(
                update(OutboxItem)
                .where(OutboxItem.channel == channel, OutboxItem.recipient == recipient, OutboxItem.status == "held")
                .values(status="queued", next_attempt_at=self.clock())
            )
            count: int = result.rowcount  # type: ignore[attr-defined]
        if count:
            self.kick()
        return count

    async def cancel(self, channel: str, recipient: str, reason: str) -> int:
        """Drop everything not yet sent to a recipient (they unsubscribed)."""
        async with unit_of_work(self.sessions) as session:
            rows = list(
                await session.scalars(
                    select(OutboxItem).where(
                        OutboxItem.channel == channel,
                        OutboxItem.recipient == recipient,
                        OutboxItem.status.in_(("queued", "held")),
                    )
                )
            )
            for row in rows:
                row.status = "cancelled"
                row.last_error = reason
                if row.message_ids:
                    await session.execute(
                        update(Message).where(Message.id.in_(list(row.message_ids))).values(status="cancelled")
                    )
            return len(rows)
