"""Residents subscribe to an upcoming 普法 live stream in the conversation and get one reminder before it starts.

The schedule's reply carries one button per stream (`/pufa_remind{"stream":"<key>"}`), answered before Rasa by a
router shortcut (`Subscribe`), in every channel, so no NLU intent or retraining is involved. The reminder is a row
of `pufa_stream_reminders`, sent once by a background loop that leases due rows like the booking reminders:
web chat gets it as a notice in the conversation; WeChat gets a channel-neutral `reminder` notice through the
outbox, which sends it as a subscription notice the resident agreed to (one per acceptance), else the category
template, else a customer-service message inside the 48-hour window, else records it undelivered. The confirmation
carries a "不用提醒了" button that cancels the reminder (sharedcourt.faq.stream_optout); subscribing again renews it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.faq import PufaStreamReminder
from sharedcourt.db.session import unit_of_work
from sharedcourt.domain.clock import TZ
from sharedcourt.faq.stream_optout import Unsubscribe, cancel_button
from sharedcourt.faq.streams import Stream, county_named, load, schedule_reply, upcoming
from sharedcourt.messaging import subscribe_link
from sharedcourt.messaging.notices import iso, notice_payload
from sharedcourt.messaging.replies import Button, Reply

log = logging.getLogger(__name__)
PAYLOAD = "/pufa_remind"
LEAD = dt.timedelta(minutes=30)  # the reminder goes out this long before the stream starts
LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
_PAYLOAD = re.compile(r"^/pufa_remind(\{.*\})$")
SUBSCRIBED = "好的，《{title}》在{when}开播，开播前半小时我会提醒您。不需要时点“不用提醒了”。"
ALREADY = "您已经订阅了《{title}》的开播提醒，开播前半小时会提醒您。"
GONE = "这场直播已经开始或不在日程上了。可以问我“最近有什么普法直播”看看别的场次。"
WECHAT_OFFER = "想在微信服务通知里收到提醒，请在微信中打开下面的链接，点“订阅提醒”：\n{url}"


def stream_key(stream: Stream) -> str:
    """A short stable name for one scheduled stream (county, title and start)."""
    raw = f"{stream.county}|{stream.title}|{stream.start:%Y-%m-%d %H:%M}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:12]


def when_zh(start: dt.datetime) -> str:
    """'12月5日 19:30' in China's time."""
    local = start.astimezone(TZ)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def remind_button(stream: Stream) -> Button:
    """The button that subscribes to one stream's reminder."""
    title = stream.title if len(stream.title) <= 12 else stream.title[:11] + "…"
    return Button(f"开播提醒：{title}", f'{PAYLOAD}{{"stream":"{stream_key(stream)}"}}')


def schedule_with_buttons(text: str, now: dt.datetime, streams: Sequence[Stream] | None = None) -> Reply:
    """The schedule's reply (sharedcourt.faq.streams) with a reminder button per upcoming stream listed."""
    streams = load() if streams is None else streams
    reply = schedule_reply(text, now, streams)
    found = upcoming(streams, now, county_named(text, streams))
    if not found:
        return reply
    return Reply(
        reply.text.replace("直播开始前请留意公众号通知。", "想让我开播前提醒您，请点下面的场次。"),
        tuple(remind_button(s) for s in found),
    )


def key_of(text: str) -> str | None:
    """The stream key a reminder button carries; None when the text is not that button."""
    match = _PAYLOAD.match(text.strip())
    if match is None:
        return None
    try:
        value = json.loads(match.group(1)).get("stream")
    except (json.JSONDecodeError, AttributeError):
        return None
    return str(value) if isinstance(value, str) and value.isalnum() else None


def reminder_text(row: PufaStreamReminder) -> str:
    """What the resident is told before the stream."""
    watch = f"观看：{row.watch}" if row.watch.startswith("http") else (f"地点：{row.watch}" if row.watch else "")
    return f"温馨提醒：您订阅的普法直播《{row.title}》（{row.county}）将于{when_zh(row.starts_at)}开始。{watch}"


def notice_values(row: PufaStreamReminder) -> dict[str, str]:
    """The named values of the `reminder` notice (a stream has no case: its start stands in as the number)."""
    return {
        "title": "普法直播即将开始",
        "when": iso(row.starts_at),
        "site_name": f"{row.county}《{row.title}》",
        "address": row.watch or row.county,
        "case_number": f"PF{row.starts_at.astimezone(TZ):%Y%m%d%H%M}",
        "status": "待出席",
        "summary": reminder_text(row),
    }


class Subscribe:
    """Router shortcut: a stream's reminder button records one reminder for the resident of the conversation."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Any,
        clock: Callable[[], dt.datetime] = utcnow,
        streams: Callable[[], Sequence[Stream]] = load,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.streams = streams

    async def __call__(self, conversation_id: str, text: str) -> list[Reply] | None:
        """The answer to a reminder button; None for any other text."""
        key = key_of(text)
        if key is None:
            return None
        now = self.clock()
        stream = next((s for s in self.streams() if stream_key(s) == key and s.start > now), None)
        if stream is None:
            return [Reply(GONE)]
        async with self.sessions() as session:
            conversation = await session.get_one(Conversation, conversation_id)
            resident = await session.get_one(Resident, conversation.resident_id)
        row = PufaStreamReminder(
            resident_id=resident.id,
            conversation_id=conversation_id,
            stream_key=key,
            county=stream.county,
            title=stream.title[:255],
            starts_at=stream.start,
            watch=stream.link or stream.place or "",
            due_at=max(now, stream.start - LEAD),
            status="pending",
        )
        try:
            async with unit_of_work(self.sessions) as session:
                session.add(row)
        except IntegrityError:
            if not await self._renew(resident.id, key, row.due_at):
                return [Reply(ALREADY.format(title=stream.title), (cancel_button(key),))]
        replies = [Reply(SUBSCRIBED.format(title=stream.title, when=when_zh(stream.start)))]
        offer = self._wechat_offer(resident, now)
        # The cancel button sits on the last reply: typing its title right after chooses it.
        *first, last = [*replies, offer] if offer else replies
        return [*first, Reply(last.text, (cancel_button(key),))]

    async def _renew(self, resident_id: int, key: str, due_at: dt.datetime) -> bool:
        """A reminder the resident had cancelled is pending again (True); False when it was never cancelled."""
        async with unit_of_work(self.sessions) as session:
            renewed = await session.execute(
                update(PufaStreamReminder)
                .where(
                    PufaStreamReminder.resident_id == resident_id,
                    PufaStreamReminder.stream_key == key,
                    PufaStreamReminder.status == "cancelled",
                )
                .values(status="pending", due_at=due_at, attempts=0, last_error=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
        return bool(getattr(renewed, "rowcount", 0))

    def _wechat_offer(self, resident: Resident, now: dt.datetime) -> Reply | None:
        """WeChat residents get the page where WeChat asks their consent to a subscription notice."""
        configured = str(getattr(self.settings, "wechat_subscribe_reminder", "") or "").strip()
        secret = str(getattr(self.settings, "link_secret", "") or "")
        if resident.channel != "wechat" or not configured or not secret:
            return None
        link = subscribe_link.url(self.settings.public_url, secret, resident.id, now)
        return Reply(WECHAT_OFFER.format(url=link))


class StreamReminders:
    """Claims due stream reminders and sends each once: web chat through the router, WeChat through the outbox."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], router: Any, outbox: Any = None) -> None:
        self.sessions = sessions
        self.router = router
        self.outbox = outbox

    async def claim(self, now: dt.datetime, batch: int = 50) -> list[int]:
        """Lease the due reminders (and those whose lease ran out) to this process."""
        async with unit_of_work(self.sessions) as session:
            query = (
                select(PufaStreamReminder.id)
                .where(
                    or_(
                        and_(PufaStreamReminder.status == "pending", PufaStreamReminder.due_at <= now),
                        and_(PufaStreamReminder.status == "sending", PufaStreamReminder.claimed_until < now),
                    )
                )
                .order_by(PufaStreamReminder.due_at, PufaStreamReminder.id)
                .limit(batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(await session.scalars(query))
            if ids:
                await session.execute(
                    update(PufaStreamReminder)
                    .where(PufaStreamReminder.id.in_(ids))
                    .values(status="sending", claimed_until=now + LEASE, attempts=PufaStreamReminder.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
            return ids

    async def run_due(self, now: dt.datetime | None = None) -> int:
        """Send every due reminder once; how many were sent."""
        now = now or utcnow()
        sent = 0
        for reminder_id in await self.claim(now):
            sent += await self._send_one(reminder_id, now)
        return sent

    async def _send_one(self, reminder_id: int, now: dt.datetime) -> bool:
        async with self.sessions() as session:
            row = await session.get_one(PufaStreamReminder, reminder_id)
            resident = await session.get_one(Resident, row.resident_id)
            conversation = await session.get_one(Conversation, row.conversation_id)
            session.expunge_all()
        if row.starts_at <= now:
            await self.finish(reminder_id, "cancelled", "the stream had started")
            return False
        try:
            if conversation.channel == "wechat" and self.outbox is not None:
                payload = notice_payload("reminder", notice_values(row), reminder_text(row))
                payload["pufa_reminder_id"] = reminder_id  # the outbox's failure watcher marks the row
                await self.outbox.add("wechat", resident.channel_user_id, payload, conversation_id=conversation.id)
            else:
                reply = Reply(reminder_text(row), custom={"notice": "pufa_stream"})
                await self.router.send(conversation.id, [reply], author="system", kind="notice")
        except Exception as exc:  # noqa: BLE001 - any channel failure is retried, then recorded
            log.warning("stream reminder %s failed (attempt %s): %s", reminder_id, row.attempts, exc)
            status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
            await self.finish(reminder_id, status, repr(exc), due_at=now + dt.timedelta(minutes=row.attempts))
            return False
        await self.finish(reminder_id, "sent", sent_at=now)
        return True

    async def finish(
        self,
        reminder_id: int,
        status: str,
        error: str | None = None,
        *,
        sent_at: dt.datetime | None = None,
        due_at: dt.datetime | None = None,
    ) -> None:
        """End (or put back) a reminder this process holds."""
        values: dict[str, Any] = {"status": status, "claimed_until": None}
        values.update({k: v for k, v in (("last_error", error and error[:255]), ("sent_at", sent_at)) if v})
        if status == "pending" and due_at is not None:
            values["due_at"] = due_at
        async with unit_of_work(self.sessions) as session:
            await session.execute(
                update(PufaStreamReminder)
                .where(PufaStreamReminder.id == reminder_id, PufaStreamReminder.status.in_(("sending", "sent")))
                .values(**values)
            )

    async def loop(self, interval: float) -> None:
        """Run forever (cancel the task to stop)."""
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("stream reminder round failed")
            await asyncio.sleep(interval)


def watch_outbox(reminders: StreamReminders, outbox: Any) -> None:
    """A stream reminder whose outbox item ends `failed` ends `failed` too, with the reason, for staff to see."""

    async def failed(item: Any, reason: str) -> None:
        reminder_id = item.payload.get("pufa_reminder_id")
        if isinstance(reminder_id, int):
            await reminders.finish(reminder_id, "failed", f"undelivered: {reason}")

    outbox.on_failed(failed)


def start(settings: Any, sessions: async_sessionmaker[AsyncSession], router: Any, outbox: Any) -> asyncio.Task[None]:
    """The app's background loop for stream reminders, and the button's shortcut (wired in sharedcourt.app)."""
    router.shortcuts.append(Subscribe(sessions, settings))
    router.shortcuts.append(Unsubscribe(sessions))  # the "不用提醒了" button on a subscription's confirmation
    wechat = bool(getattr(settings, "wechat_token", "")) and bool(getattr(settings, "wechat_appid", ""))
    reminders = StreamReminders(sessions, router, outbox if wechat else None)
    if wechat and outbox is not None:
        watch_outbox(reminders, outbox)
    return asyncio.create_task(reminders.loop(settings.reminder_interval))
