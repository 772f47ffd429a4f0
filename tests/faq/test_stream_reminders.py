"""普法 stream reminders: a button per upcoming stream, the subscription recorded once per resident and stream, and
one reminder before the start (web chat: a notice in the conversation; WeChat: a `reminder` notice in the outbox)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select

from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.faq import PufaStreamReminder
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import unit_of_work
from sharedcourt.domain.clock import TZ
from sharedcourt.faq.stream_reminders import (
    LEAD,
    StreamReminders,
    Subscribe,
    key_of,
    schedule_with_buttons,
    stream_key,
)
from sharedcourt.faq.streams import Stream
from sharedcourt.messaging.outbox import Outbox
from sharedcourt.messaging.router import Router
from sharedcourt.settings import Settings

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
STREAMS = [
    Stream("江山市", "农村土地承包那些事", dt.datetime(2026, 12, 5, 19, 30, tzinfo=TZ), link="https://live.example/1"),
    Stream("全市", "防范电信诈骗", dt.datetime(2026, 12, 8, 15, 0, tzinfo=TZ), place="市图书馆报告厅"),
    Stream("江山市", "已经播过的一场", dt.datetime(2026, 12, 1, 19, 30, tzinfo=TZ), link="https://live.example/0"),
]


async def _conversation(sessions: Any, channel: str = "webchat") -> str:
    async with unit_of_work(sessions) as session:
        resident = Resident(channel=channel, channel_user_id=f"o-{uuid.uuid4().hex[:10]}")
        session.add(resident)
        await session.flush()
        conversation = Conversation(resident_id=resident.id, channel=channel)
        session.add(conversation)
        await session.flush()
        return conversation.id


def _subscribe(sessions: Any, settings: Settings | None = None, now: dt.datetime = NOW) -> Subscribe:
    return Subscribe(sessions, settings or Settings.from_env({}), clock=lambda: now, streams=lambda: STREAMS)


def test_the_schedule_offers_a_reminder_button_per_upcoming_stream() -> None:
    reply = schedule_with_buttons("江山最近有什么普法直播", NOW, STREAMS)
    assert "农村土地承包那些事" in reply.text and "已经播过" not in reply.text
    keys = [key_of(b.payload) for b in reply.buttons]
    assert keys == [stream_key(STREAMS[0]), stream_key(STREAMS[1])]
    assert all(b.title.startswith("开播提醒：") for b in reply.buttons)


def test_only_the_button_is_taken_for_a_subscription() -> None:
    assert key_of('/pufa_remind{"stream":"abc123"}') == "abc123"
    assert key_of("提醒我看直播") is None
    assert key_of('/pufa_remind{"stream":"x; drop"}') is None
    assert key_of("/pufa_remind{not json}") is None


async def test_a_subscription_is_recorded_once_with_its_reminder_before_the_start(sessions: Any) -> None:
    conversation_id = await _conversation(sessions)
    subscribe = _subscribe(sessions)
    payload = f'/pufa_remind{{"stream":"{stream_key(STREAMS[0])}"}}'
    assert await subscribe(conversation_id, "你好") is None
    (said,) = await subscribe(conversation_id, payload) or []
    assert "农村土地承包那些事" in said.text and "12月5日 19:30" in said.text
    (again,) = await subscribe(conversation_id, payload) or []
    assert "已经订阅" in again.text
    async with sessions() as session:
        (row,) = list(await session.scalars(select(PufaStreamReminder)))
    assert row.due_at == STREAMS[0].start - LEAD and row.status == "pending"
    (gone,) = await subscribe(conversation_id, f'/pufa_remind{{"stream":"{stream_key(STREAMS[2])}"}}') or []
    assert "已经开始或不在日程" in gone.text


async def test_a_wechat_resident_is_offered_the_consent_page(sessions: Any) -> None:
    conversation_id = await _conversation(sessions, "wechat")
    env = {"WECHAT_SUBSCRIBE_REMINDER": "tmpl-1", "LINK_SECRET": "s" * 32, "PUBLIC_URL": "https://court.example"}
    subscribe = _subscribe(sessions, Settings.from_env(env))
    replies = await subscribe(conversation_id, f'/pufa_remind{{"stream":"{stream_key(STREAMS[1])}"}}') or []
    assert len(replies) == 2 and "https://court.example/wechat/subscribe?" in replies[1].text


async def test_web_chat_gets_one_notice_in_the_conversation_when_it_is_due(sessions: Any) -> None:
    conversation_id = await _conversation(sessions)
    await _subscribe(sessions)(conversation_id, f'/pufa_remind{{"stream":"{stream_key(STREAMS[0])}"}}')
    reminders = StreamReminders(sessions, Router(sessions, rasa=None))  # type: ignore[arg-type]
    assert await reminders.run_due(STREAMS[0].start - LEAD - dt.timedelta(minutes=1)) == 0
    assert await reminders.run_due(STREAMS[0].start - LEAD) == 1
    assert await reminders.run_due(STREAMS[0].start - dt.timedelta(minutes=5)) == 0  # once only
    async with sessions() as session:
        notices = list(await session.scalars(select(Message).where(Message.kind == "notice")))
        row = await session.scalar(select(PufaStreamReminder))
    (notice,) = notices
    assert notice.conversation_id == conversation_id
    assert "农村土地承包那些事" in notice.text and "https://live.example/1" in notice.text
    assert row is not None and row.status == "sent"


async def test_wechat_gets_a_reminder_notice_through_the_outbox(sessions: Any) -> None:
    conversation_id = await _conversation(sessions, "wechat")
    await _subscribe(sessions)(conversation_id, f'/pufa_remind{{"stream":"{stream_key(STREAMS[1])}"}}')
    reminders = StreamReminders(sessions, Router(sessions, rasa=None), Outbox(sessions))  # type: ignore[arg-type]
    assert await reminders.run_due(STREAMS[1].start - LEAD) == 1
    async with sessions() as session:
        (item,) = list(await session.scalars(select(OutboxItem)))
        resident = await session.scalar(select(Resident).where(Resident.channel == "wechat"))
    assert item.channel == "wechat" and resident is not None and item.recipient == resident.channel_user_id
    assert item.payload["purpose"] == "reminder" and "防范电信诈骗" in item.payload["text"]
    assert dt.datetime.fromisoformat(item.payload["values"]["when"]) == STREAMS[1].start


async def test_a_reminder_claimed_after_the_start_is_not_sent(sessions: Any) -> None:
    conversation_id = await _conversation(sessions)
    await _subscribe(sessions)(conversation_id, f'/pufa_remind{{"stream":"{stream_key(STREAMS[0])}"}}')
    reminders = StreamReminders(sessions, Router(sessions, rasa=None))  # type: ignore[arg-type]
    assert await reminders.run_due(STREAMS[0].start + dt.timedelta(minutes=1)) == 0
    async with sessions() as session:
        row = await session.scalar(select(PufaStreamReminder))
    assert row is not None and row.status == "cancelled"
