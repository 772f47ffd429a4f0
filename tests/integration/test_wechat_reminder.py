"""A WeChat resident books through the dialogue with the real Rasa and action server, then the day-before and
two-hours reminders of that booking reach WeChat's stand-in as category template messages once the clock is moved
(the reminder loop is run here with the moved time; the app process's own outbox loop sends them)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from stand_ins.wechat_harness import TEMPLATE_IDS, add_templates
from stand_ins.wechat_push import WeChatPusher
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.booking.reminders import OutboxNoticeSender, Reminders
from sharedcourt.cli.procs import Stack, free_port, start_app
from sharedcourt.db.booking import Booking, Reminder
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import make_engine, make_sessionmaker
from sharedcourt.messaging.outbox import Outbox
from sharedcourt.settings import Settings

from .conftest import System
from .test_booking_journey import confirmed_case
from .test_wechat_journey import AES_KEY, APPID, SECRET, TOKEN, WeChatSystem

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def templated(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeChatSystem]:
    """An app process for WeChat with every notice purpose's category template configured."""
    evidence_dir = tmp_path_factory.mktemp("evidence")
    with WeChatStandIn(appid=APPID, secret=SECRET) as api:
        env = dict(system.settings.extra)
        env.update(
            PORT=str(free_port()),
            WECHAT_TOKEN=TOKEN,
            WECHAT_APPID=APPID,
            WECHAT_SECRET=SECRET,
            WECHAT_AES_KEY=AES_KEY,
            WECHAT_API_BASE=api.base_url,
            WECHAT_REPLY_BUDGET="4",
            EVIDENCE_DIR=str(evidence_dir),
            OUTBOX_INTERVAL="0.2",
            REMINDER_INTERVAL="3600",
            **{f"WECHAT_TEMPLATE_{purpose.upper()}": tid for purpose, tid in TEMPLATE_IDS.items()},
        )
        settings = Settings.from_env(env)
        add_templates(api, settings)
        stack = Stack(settings, tmp_path_factory.mktemp("wechat-reminder-logs"))
        try:
            start_app(stack)
            stack.wait_healthy("app", f"http://127.0.0.1:{settings.port}/webchat/messages?after=0", 60)
            yield WeChatSystem(settings, api, WeChatPusher(TOKEN, APPID, AES_KEY), evidence_dir)
        finally:
            stack.stop()


def say(w: WeChatSystem, openid: str, text: str) -> str:
    """A text the resident sends (opening WeChat's 5 customer-service messages); the bot's answer."""
    w.api.reset_quota(openid)
    how, answer, _elapsed = w.answer(w.pusher.text(openid, text), openid)
    assert how != "none", text
    return answer


def choice(answer: str, startswith: str) -> str:
    """The number WeChat's text rendering put before a button (“回复数字选择：” list)."""
    found = re.search(rf"^(\d+)\. {re.escape(startswith)}", answer, re.M)
    assert found, answer
    return found.group(1)


def _db(database_url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = make_engine(database_url)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _booking_of(database_url: str, openid: str) -> tuple[int, dict[str, dt.datetime]]:
    async def work(sessions: Any) -> tuple[int, dict[str, dt.datetime]]:
        async with sessions() as session:
            booking = await session.scalar(
                select(Booking)
                .join(Conversation, Conversation.id == Booking.conversation_id)
                .join(Resident, Resident.id == Conversation.resident_id)
                .where(Resident.channel_user_id == openid, Booking.status == "confirmed")
            )
            assert booking is not None
            rows = await session.scalars(select(Reminder).where(Reminder.booking_id == booking.id))
            return booking.id, {r.kind: r.due_at for r in rows}

    result: tuple[int, dict[str, dt.datetime]] = _db(database_url, work)
    return result


def _run_reminders(database_url: str, now: dt.datetime) -> int:
    """The reminder loop at a moved clock; WeChat notices go to the outbox, which the app process sends."""

    async def work(sessions: Any) -> int:
        sent: int = await Reminders(sessions, {"wechat": OutboxNoticeSender(Outbox(sessions))}).run_due(now)
        return sent

    result: int = _db(database_url, work)
    return result


def _templates_for(w: WeChatSystem, openid: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while len(w.api.sent_templates(openid)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return w.api.sent_templates(openid)


def test_a_booking_made_in_the_wechat_dialogue_is_reminded_on_wechat(templated: WeChatSystem, system: System) -> None:
    w = templated
    openid = f"oRemind{uuid.uuid4().hex[:20]}"
    assert w.answer(w.pusher.event(openid, "subscribe"), openid)[0] == "passive"
    greeting = say(w, openid, "你好")
    number = confirmed_case(system.settings.database_url, openid)
    offer = say(w, openid, choice(greeting, "找最近的共享法庭"))
    assert "近期可以预约的时间" in offer, offer
    # Next week, so that the day-before reminder is still ahead whatever the hour the test runs.
    next_week = say(w, openid, "下周都行")
    assert "下周" in next_week and "1. " in next_week, next_week
    confirmed = say(w, openid, "1")
    assert "预约成功" in confirmed and number in confirmed, confirmed

    booking_id, due = _booking_of(system.settings.database_url, openid)
    assert set(due) >= {"day_before", "two_hours"}
    assert w.api.sent_templates(openid) == []
    _run_reminders(system.settings.database_url, due["day_before"])
    day_before = _templates_for(w, openid, 1)
    _run_reminders(system.settings.database_url, due["two_hours"])
    both = _templates_for(w, openid, 2)
    assert len(day_before) == 1 and len(both) == 2, (booking_id, both)
    answers = [c.body["_answer"]["errcode"] for c in w.api.calls("message/template/send")]
    assert answers == [0, 0], "the stand-in refused a field"
    for body in both:
        assert body["template_id"] == TEMPLATE_IDS["reminder"]
        assert body["data"]["character_string5"]["value"] == number
        assert body["url"].startswith("http")
    assert [b["data"]["thing1"]["value"] for b in both] == ["明天有调解，请按时到场", "调解两小时后开始，请提前到场"]
