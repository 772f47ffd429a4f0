"""Reminders and staff notices about bookings, sent from the database by a background loop.

Rows in `reminders` (created by sharedcourt.booking.service and sharedcourt.booking.staff) are the single source:
the loop claims due rows with a lease (``status='sending'``, ``claimed_until``; ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, BEGIN IMMEDIATE on SQLite), so two app processes never send the same reminder and a crash mid-send is
retried after the lease ends. Because the rows are in the database, reminders survive restarts.

Sending goes through the resident's channel by a `NoticeSender`:
- `RouterNoticeSender` (web chat and any channel without a dedicated route): `Router.send(kind="notice")`,
  stored as an outbound message the page polls for, and handed to the channel's deliverer;
- `OutboxNoticeSender` (WeChat): a channel-neutral notice (sharedcourt.messaging.notices) queued in the outbox;
  the WeChat sender sends it as a subscription notice the resident agreed to, the purpose's category template
  or a customer-service message; see `senders_for`. When the outbox ends its item `failed` (refused, or given up
  after its attempts) the reminder ends `failed` with the reason (`watch_outbox`), for staff to see.
A resident who said "不用提醒了" (sharedcourt.booking.optout) gets no further day-before or two-hours reminder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking.optout import HINT, OPTED_OUT, REMINDER_KINDS, AlsoStop, OptOut, stop_button
from sharedcourt.booking.views import BookingView, view, what_to_bring
from sharedcourt.db.base import utcnow
from sharedcourt.db.booking import CONFIRMED, Booking, Reminder, ReminderOptOut
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.domain.clock import TZ
from sharedcourt.messaging.notices import iso, notice_payload
from sharedcourt.messaging.outbox import Item, Outbox
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Router

log = logging.getLogger(__name__)

PURPOSE_OF_KIND = {"day_before": "reminder", "two_hours": "reminder", "moved": "booking_changed",
                   "cancelled": "booking_changed", "confirmed": "booking_confirmed"}  # fmt: skip
TITLES = {
    "day_before": "明天有调解，请按时到场",
    "two_hours": "调解两小时后开始，请提前到场",
    "moved": "调解预约已由工作人员调整",
    "cancelled": "调解预约已取消",
    "confirmed": "调解预约成功",
}
STATUS_OF_KIND = {"day_before": "待出席", "two_hours": "待出席", "moved": "已改期", "cancelled": "已取消"}
LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Notice:
    """One message owed to a resident about a booking."""

    reminder_id: int
    kind: str
    text: str
    channel: str
    channel_user_id: str
    booking: BookingView
    reason: str = ""


class NoticeSender(Protocol):
    """Sends a notice through one channel."""

    async def send(self, notice: Notice) -> None:
        """Send the notice to its resident."""


class NoticeQueue(Protocol):
    """The outbox, as far as notices need it."""

    async def add(self, channel: str, recipient: str, payload: dict[str, Any], **kwargs: Any) -> int:
        """Queue one item for the channel's sender."""


class RouterNoticeSender:
    """Web chat (and the default): a stored `notice` message in the conversation, delivered by the router."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def send(self, notice: Notice) -> None:
        """Store the notice as a message of the conversation and deliver it."""
        buttons = (stop_button(notice.booking.id),) if notice.kind in REMINDER_KINDS else ()
        reply = Reply(notice.text, buttons, custom={"notice": notice.kind, "booking_id": notice.booking.id})
        await self.router.send(notice.booking.conversation_id, [reply], author="system", kind="notice")


class OutboxNoticeSender:
    """WeChat: a channel-neutral notice (purpose, typed values, text) queued through the outbox; the WeChat sender
    sends it as the purpose's category template, or falls back (sharedcourt.channels.wechat.notify)."""

    def __init__(self, outbox: NoticeQueue, channel: str = "wechat") -> None:
        self.outbox = outbox
        self.channel = channel

    async def send(self, notice: Notice) -> None:
        """Queue the notice; its transcript row is stored with it."""
        purpose = PURPOSE_OF_KIND.get(notice.kind, "booking_changed")
        payload = notice_payload(purpose, notice_values(notice), notice.text, reminder_id=notice.reminder_id)
        await self.outbox.add(
            self.channel, notice.channel_user_id, payload, conversation_id=notice.booking.conversation_id
        )


def notice_values(notice: Notice) -> dict[str, str]:
    """The named values of a booking notice (sharedcourt.messaging.notices.VALUE_KINDS)."""
    b = notice.booking
    return {
        "title": TITLES.get(notice.kind, "调解预约通知"),
        "case_number": b.case_number,
        "when": iso(b.starts_at),
        "site_name": b.site_name,
        "address": b.address or b.site_name,
        "mediator": b.mediator,
        "status": STATUS_OF_KIND.get(notice.kind, "已确认"),
        "reason": notice.reason or TITLES.get(notice.kind, "调解预约通知"),
        "summary": notice.text,
    }


def reminder_text(kind: str, b: BookingView) -> str:
    """The reminder said the day before or two hours before the mediation."""
    place = f"{b.site_name}（{b.address}）" if b.address else b.site_name
    start = b.starts_at.astimezone(TZ)
    if kind == "day_before":
        return (
            f"温馨提醒：您预约的调解在明天 {b.when_zh}，地点：{place}，调解员：{b.mediator}。\n"
            f"请带好：{what_to_bring(b.dispute_code)}。\n如需改时间或取消，请回复“我的预约”。{HINT}"
        )
    return (
        f"温馨提醒：您的调解将于今天 {start:%H:%M} 在{place}开始，请提前10分钟到达。"
        f"案件编号：{b.case_number}，调解员：{b.mediator}。{HINT}"
    )


class Reminders:
    """Claims due reminders and sends each through the resident's channel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, NoticeSender],
        default: NoticeSender | None = None,
        *,
        batch: int = 50,
        lease: dt.timedelta = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.sessions = sessions
        self.senders = dict(senders)
        self.default = default
        self.batch = batch
        self.lease = lease
        self.max_attempts = max_attempts

    async def claim(self, now: dt.datetime) -> list[int]:
        """Lease the due reminders (and those whose lease ran out) to this process; returns their ids."""
        async with unit_of_work(self.sessions) as session:
            query = (
                select(Reminder.id)
                .where(
                    or_(
                        and_(Reminder.status == "pending", Reminder.due_at <= now),
                        and_(Reminder.status == "sending", Reminder.claimed_until < now),
                    )
                )
                .order_by(Reminder.due_at, Reminder.id)
                .limit(self.batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(await session.scalars(query))
            if ids:
                await session.execute(
                    update(Reminder)
                    .where(Reminder.id.in_(ids))
                    .values(status="sending", claimed_until=now + self.lease, attempts=Reminder.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
            return ids

    async def run_due(self, now: dt.datetime | None = None) -> int:
        """Send every due reminder once; returns how many were sent."""
        now = now or utcnow()
        sent = 0
        for reminder_id in await self.claim(now):
            if await self._send_one(reminder_id, now):
                sent += 1
        return sent

    async def _send_one(self, reminder_id: int, now: dt.datetime) -> bool:
        async with self.sessions() as session:
            reminder = await session.get_one(Reminder, reminder_id)
            booking = await session.get_one(Booking, reminder.booking_id)
            info = await view(session, booking.id)
            conversation = await session.get_one(Conversation, booking.conversation_id)
            resident = await session.get_one(Resident, conversation.resident_id)
            kind, text, attempts, reason = reminder.kind, reminder.text, reminder.attempts, booking.reason or ""
            if kind == "moved" and booking.replaces_id is not None:  # the reason is on the booking it replaced
                reason = (await session.get_one(Booking, booking.replaces_id)).reason or reason
        if kind in REMINDER_KINDS and (booking.status != CONFIRMED or booking.starts_at <= now):
            await self._finish(reminder_id, "cancelled", error="booking changed or already started")
            return False
        if kind in REMINDER_KINDS and await self._opted_out(resident.id):
            await self._finish(reminder_id, "cancelled", error=OPTED_OUT)
            return False
        notice = Notice(
            reminder_id,
            kind,
            text or reminder_text(kind, info),
            conversation.channel,
            resident.channel_user_id,
            info,
            reason if kind in ("moved", "cancelled") else "",
        )
        sender = self.senders.get(conversation.channel, self.default)
        if sender is None:
            await self._finish(reminder_id, "failed", error=f"no sender for channel {conversation.channel}")
            return False
        try:
            await sender.send(notice)
        except Exception as exc:  # noqa: BLE001 - any channel failure is retried, then recorded
            log.warning("reminder %s failed (attempt %s): %s", reminder_id, attempts, exc)
            if attempts >= self.max_attempts:
                await self._finish(reminder_id, "failed", error=repr(exc))
            else:
                await self._retry(reminder_id, now + dt.timedelta(minutes=attempts), repr(exc))
            return False
        await self._finish(reminder_id, "sent", sent_at=now)
        return True

    async def _opted_out(self, resident_id: int) -> bool:
        async with self.sessions() as session:
            return await session.get(ReminderOptOut, resident_id) is not None

    async def _finish(
        self, reminder_id: int, status: str, *, error: str | None = None, sent_at: dt.datetime | None = None
    ) -> None:
        async with unit_of_work(self.sessions) as session:
            values: dict[str, Any] = {"status": status, "claimed_until": None}
            if error is not None:
                values["last_error"] = error[:255]
            if sent_at is not None:
                values["sent_at"] = sent_at
            await session.execute(
                update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "sending").values(**values)
            )

    async def _retry(self, reminder_id: int, due_at: dt.datetime, error: str) -> None:
        async with unit_of_work(self.sessions) as session:
            await session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id, Reminder.status == "sending")
                .values(status="pending", due_at=due_at, claimed_until=None, last_error=error[:255])
            )

    async def loop(self, interval: float = 30.0) -> None:
        """Run forever (cancel the task to stop)."""
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("reminder round failed")
            await asyncio.sleep(interval)


async def mark_undelivered(sessions: async_sessionmaker[AsyncSession], reminder_id: int, reason: str) -> None:
    """The channel could not deliver a reminder it was handed: `failed` with the reason, for staff to see."""
    reason = reason if reason.startswith("undelivered") else f"undelivered: {reason}"
    async with unit_of_work(sessions) as session:
        await session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id)
            .values(status="failed", claimed_until=None, last_error=reason[:255])
        )


def watch_outbox(sessions: async_sessionmaker[AsyncSession], outbox: Outbox) -> None:
    """A reminder whose outbox item ends `failed` (refused, or given up after its attempts) ends `failed` too."""

    async def failed(item: Item, reason: str) -> None:
        reminder_id = item.payload.get("reminder_id")
        if isinstance(reminder_id, int):
            await mark_undelivered(sessions, reminder_id, reason)

    outbox.on_failed(failed)


def senders_for(settings: Any, router: Router, outbox: NoticeQueue | None = None) -> dict[str, NoticeSender]:
    """The notice route per channel: WeChat notices through the outbox when the account is configured (the
    WeChat sender picks the template or the fallback), everything else (web chat first) through the router."""
    routed = RouterNoticeSender(router)
    senders: dict[str, NoticeSender] = {"webchat": routed}
    wechat = bool(getattr(settings, "wechat_token", "")) and bool(getattr(settings, "wechat_appid", ""))
    if outbox is not None and wechat:
        senders["wechat"] = OutboxNoticeSender(outbox)
    return senders


def start(
    settings: Any,
    sessions: async_sessionmaker[AsyncSession],
    router: Router,
    outbox: Any = None,
    also_stop: tuple[AlsoStop, ...] = (),
) -> asyncio.Task[None]:
    """The app's background reminder loop (wired in sharedcourt.app's lifespan); `also_stop`: other reminders
    the typed "不用提醒了" stops too."""
    senders = senders_for(settings, router, outbox)
    # "不用提醒了" is answered before Rasa, in every channel
    router.shortcuts.append(OptOut(sessions, also_stop=also_stop))
    if isinstance(outbox, Outbox):
        watch_outbox(sessions, outbox)
    interval = settings.reminder_interval
    return asyncio.create_task(Reminders(sessions, senders, RouterNoticeSender(router)).loop(interval))
