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
- A claim is a lease (`claimed_at`): an item a crash left `sending` past the lease is resolved by its channel's
  semantics. Channels whose API can take a repeat (registered `resendable`) get it queued again; the others
  (WeChat customer-service, DingTalk robot messages: no dedupe on their side) end `unknown`, never sent twice.
- Every conditional change reads back what it changed (`UPDATE … RETURNING`), never a driver's row count.
- Whoever owns what an item carries (a booking reminder) learns when it ends `failed` -- refused at once or given
  up after `max_attempts` -- through `on_failed` callbacks, so nothing is left looking delivered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Message
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import unit_of_work
from sharedcourt.messaging.transcript import outbound_message
from sharedcourt.telemetry.logs import bind_conversation
from sharedcourt.telemetry.metrics import Metrics

log = logging.getLogger(__name__)

Outcome = Literal["sent", "held", "retry", "failed", "unknown"]
FINAL = ("sent", "failed", "unknown", "cancelled")
LEASE = dt.timedelta(minutes=5)  # far beyond any sender's HTTP timeout: a `sending` item this old was left by a crash


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
    claimed_at: dt.datetime | None = None


FailureWatcher = Callable[[Item, str], Awaitable[None]]


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
        lease: dt.timedelta = LEASE,
        resendable: Iterable[str] = ("webchat",),
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics if metrics is not None else Metrics()
        self.clock = clock
        self.lease = lease
        self.resendable = set(resendable)
        self.senders: dict[str, Sender] = {}
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self.failure_watchers: list[FailureWatcher] = []

    def on_failed(self, watcher: FailureWatcher) -> None:
        """Call `watcher(item, reason)` whenever an item ends `failed` (refused, or retried `max_attempts` times)."""
        self.failure_watchers.append(watcher)

    def register(self, channel: str, sender: Sender, *, resendable: bool = False) -> None:
        """Send `channel`'s items through `sender` here; `resendable` when its API dedupes a repeated item."""
        self.senders[channel] = sender
        if resendable:
            self.resendable.add(channel)

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
            row = (
                await session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id == item_id, OutboxItem.status == "queued")
                    .values(status="sending", attempts=OutboxItem.attempts + 1, claimed_at=self.clock())
                    .returning(
                        OutboxItem.id,
                        OutboxItem.channel,
                        OutboxItem.recipient,
                        OutboxItem.payload,
                        OutboxItem.conversation_id,
                        OutboxItem.urgent,
                        OutboxItem.attempts,
                        OutboxItem.claimed_at,
                    )
                    .execution_options(synchronize_session=False)
                )
            ).one_or_none()
        if row is None:
            return None
        return Item(
            row.id,
            row.channel,
            row.recipient,
            dict(row.payload),
            row.conversation_id,
            row.urgent,
            row.attempts,
            row.claimed_at,
        )

    def _outcome(self, item: Item, result: SendResult) -> tuple[dict[str, Any], str | None]:
        """The item's new values and its transcript rows' new status (None: unchanged) for a sender's result."""
        now = self.clock()
        values: dict[str, Any] = {"last_error": result.detail[:2000] or None}
        if result.status == "sent":
            return {**values, "status": "sent", "sent_at": now}, "sent"
        if result.status == "held":
            return {**values, "status": "held"}, "held"
        if result.status == "retry" and item.attempts < self.max_attempts:
            delay = result.retry_after if result.retry_after is not None else self.backoff(item.attempts)
            return {**values, "status": "queued", "next_attempt_at": now + dt.timedelta(seconds=delay)}, None
        if result.status == "unknown":
            return {**values, "status": "unknown"}, "unknown"
        return {**values, "status": "failed"}, "failed"

    async def _finish(self, item: Item, result: SendResult) -> str | None:
        """Record the outcome; returns the item's new status (None: another claim's holder owns it now)."""
        values, message_status = self._outcome(item, result)
        async with unit_of_work(self.sessions) as session:
            # Only this claim's holder records the outcome (a lease reclaimed as `unknown` keeps its claimed_at:
            # the real outcome, when it comes, still wins; one queued again and claimed anew is not overwritten).
            message_ids = await session.scalar(
                update(OutboxItem)
                .where(OutboxItem.id == item.id, OutboxItem.claimed_at == item.claimed_at)
                .values(**values, claimed_at=None)
                .returning(OutboxItem.message_ids)
                .execution_options(synchronize_session=False)
            )
            if message_status and message_ids:
                await _mark_messages(session, message_ids, message_status)
        return str(values["status"]) if message_ids is not None else None

    async def _failed(self, item: Item, result: SendResult) -> None:
        """Tell the watchers; one that fails is logged, the others still run."""
        gave_up = result.status == "retry"
        reason = f"gave up after {item.attempts} attempts: {result.detail}" if gave_up else result.detail
        for watcher in self.failure_watchers:
            try:
                await watcher(item, reason)
            except Exception:
                log.exception("outbox failure watcher on item %s failed", item.id)

    async def reclaim(self) -> int:
        """Resolve items left `sending` past the lease: queued again where resendable, else `unknown`."""
        cutoff = self.clock() - self.lease
        resend = OutboxItem.channel.in_(sorted(self.resendable))
        async with unit_of_work(self.sessions) as session:
            rows = (
                await session.execute(
                    update(OutboxItem)
                    .where(
                        OutboxItem.status == "sending",
                        func.coalesce(OutboxItem.claimed_at, OutboxItem.created_at) < cutoff,
                    )
                    .values(
                        status=case((resend, "queued"), else_="unknown"),
                        claimed_at=case((resend, None), else_=OutboxItem.claimed_at),
                        next_attempt_at=self.clock(),
                        last_error="left sending past the lease (a crash)",
                    )
                    .returning(OutboxItem.id, OutboxItem.status, OutboxItem.message_ids)
                    .execution_options(synchronize_session=False)
                )
            ).all()
            for row in rows:
                if row.status == "unknown" and row.message_ids:
                    await _mark_messages(session, row.message_ids, "unknown")
        if rows:
            log.warning(
                "outbox items %s were left sending; resolved as %s", [r.id for r in rows], [r.status for r in rows]
            )
        return len(rows)

    async def send_one(self, item_id: int) -> Outcome | None:
        """Claim and send one item; None when someone else has it or it is not due."""
        item = await self._claim(item_id)
        if item is None:
            return None
        if item.conversation_id is not None:
            bind_conversation(item.conversation_id)
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
        status = await self._finish(item, result)
        self.metrics.outbox_result(item.channel, result.status)
        if status == "failed":
            await self._failed(item, result)
        return result.status

    async def run_once(self, limit: int = 100) -> int:
        """Send every due item once, oldest first; returns how many were sent."""
        if not self.senders:
            return 0
        await self.reclaim()
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
            released = list(
                await session.scalars(
                    update(OutboxItem)
                    .where(
                        OutboxItem.channel == channel, OutboxItem.recipient == recipient, OutboxItem.status == "held"
                    )
                    .values(status="queued", next_attempt_at=self.clock())
                    .returning(OutboxItem.id)
                    .execution_options(synchronize_session=False)
                )
            )
        if released:
            self.kick()
        return len(released)

    async def cancel(self, channel: str, recipient: str, reason: str) -> int:
        """Drop everything not yet sent to a recipient (they unsubscribed); an item being sent is left alone."""
        async with unit_of_work(self.sessions) as session:
            rows = (
                await session.execute(
                    update(OutboxItem)
                    .where(
                        OutboxItem.channel == channel,
                        OutboxItem.recipient == recipient,
                        OutboxItem.status.in_(("queued", "held")),
                    )
                    .values(status="cancelled", last_error=reason)
                    .returning(OutboxItem.id, OutboxItem.message_ids)
                    .execution_options(synchronize_session=False)
                )
            ).all()
            for row in rows:
                if row.message_ids:
                    await _mark_messages(session, row.message_ids, "cancelled")
            return len(rows)


async def _mark_messages(session: AsyncSession, message_ids: Sequence[Any], status: str) -> None:
    """The transcript rows an item carries follow its status."""
    await session.execute(update(Message).where(Message.id.in_(list(message_ids))).values(status=status))
