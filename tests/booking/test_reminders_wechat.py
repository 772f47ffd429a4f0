"""Reminders end to end through WeChat: a resident who wrote through the safe-mode callback is booked, the clock is
moved (passed to the reminder loop, never slept), and the reminder travels through the real outbox and the real
WeChat sender to WeChat's stand-in, which checks every template field as WeChat does (tests/stand_ins/
wechat_templates.py) and enforces the customer-service quota."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from booking.test_reminders import booked
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_harness import APPID, OPENID, SECRET, TEMPLATE_IDS, Harness, harness
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.booking import reminders
from sharedcourt.booking import staff as booking_staff
from sharedcourt.booking.reminders import OutboxNoticeSender, Reminders
from sharedcourt.db.booking import Reminder
from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.wechat import WeChatQuota
from sharedcourt.domain.clock import TZ

DAY_BEFORE = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
TWO_HOURS = dt.datetime(2026, 12, 2, 7, 30, tzinfo=TZ)
LONG_SITE = "浙江省杭州市西湖区转塘街道象山社区共享法庭（象山社区党群服务中心二楼调解室）"


@pytest.fixture
def api() -> Iterator[WeChatStandIn]:
    with WeChatStandIn(appid=APPID, secret=SECRET) as stand_in:
        yield stand_in


@pytest.fixture
async def h(
    sessions: async_sessionmaker[AsyncSession], database_url: str, api: WeChatStandIn, tmp_path: Any
) -> AsyncIterator[Harness]:
    async with harness(sessions, database_url, api, tmp_path) as ready:
        yield ready


async def wrote_and_booked(h: Harness, site_name: str = "测试村共享法庭") -> int:
    """The resident writes through the safe-mode callback, then is booked in that conversation."""
    assert await h.reply_text(h.pusher.text(OPENID, "我要预约调解")) is not None
    async with h.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id).where(Conversation.channel == "wechat"))
    assert conversation_id is not None
    booking_id, _case = await booked(h.sessions, "wechat", conversation_id=conversation_id, site_name=site_name)
    return booking_id


def service(h: Harness) -> Reminders:
    """The reminder loop as the app wires it (its senders from the app's settings, router and outbox)."""
    state = h.app.state
    senders = reminders.senders_for(state.settings, state.router, state.outbox)
    assert isinstance(senders["wechat"], OutboxNoticeSender)
    return Reminders(h.sessions, senders)


async def settled(h: Harness) -> None:
    """Wait for the app's outbox loop to finish every queued item."""

    async def done() -> bool:
        return await h.count(OutboxItem, OutboxItem.status.in_(("queued", "sending"))) == 0

    await h.until(done)


async def reminder_rows(h: Harness, booking_id: int) -> dict[str, Reminder]:
    async with h.sessions() as session:
        rows = await session.scalars(select(Reminder).where(Reminder.booking_id == booking_id))
        return {r.kind: r for r in rows}


async def test_one_day_before_and_one_two_hours_notice_reach_wechat(h: Harness) -> None:
    booking_id = await wrote_and_booked(h, site_name=LONG_SITE)
    loop = service(h)
    assert await loop.run_due(DAY_BEFORE - dt.timedelta(minutes=1)) == 0
    assert await loop.run_due(DAY_BEFORE) == 1
    await settled(h)
    assert len(h.api.sent_templates(OPENID)) == 1
    assert await loop.run_due(DAY_BEFORE + dt.timedelta(hours=1)) == 0
    assert await loop.run_due(TWO_HOURS) == 1
    await settled(h)
    calls = h.api.calls("message/template/send")
    assert [c.body["_answer"]["errcode"] for c in calls] == [0, 0], "the stand-in refused a field"
    day_before, two_hours = h.api.sent_templates(OPENID)
    for body in (day_before, two_hours):
        assert body["template_id"] == TEMPLATE_IDS["reminder"]
        assert set(body["data"]) == {"thing1", "time2", "thing3", "thing4", "character_string5"}
        assert body["data"]["time2"]["value"] == "2026年12月2日 08:30"
        site = body["data"]["thing3"]["value"]
        assert len(site) == 20 and site.endswith("…") and LONG_SITE.startswith(site[:-1])
    assert day_before["data"]["thing1"]["value"] == "明天有调解，请按时到场"
    assert two_hours["data"]["thing1"]["value"] == "调解两小时后开始，请提前到场"
    assert {r.status for r in (await reminder_rows(h, booking_id)).values()} == {"sent"}
    assert h.api.sent_texts(OPENID) == [], "a reminder went as a customer-service message"


async def test_cancelled_booking_sends_no_reminder(h: Harness) -> None:
    booking_id = await wrote_and_booked(h)
    async with unit_of_work(h.sessions) as session:
        await booking_staff.staff_cancel(session, booking_id, staff="张主任", reason="调解室维修", now=DAY_BEFORE)
    loop = service(h)
    assert await loop.run_due(DAY_BEFORE) == 1  # the cancellation notice only
    assert await loop.run_due(TWO_HOURS) == 0
    await settled(h)
    (notice,) = h.api.sent_templates(OPENID)
    assert notice["template_id"] == TEMPLATE_IDS["booking_changed"]
    assert notice["data"]["phrase4"]["value"] == "已取消" and notice["data"]["thing5"]["value"] == "调解室维修"
    rows = await reminder_rows(h, booking_id)
    assert rows["day_before"].status == rows["two_hours"].status == "cancelled"


@pytest.mark.parametrize("errcode", [43101, 40037, 47003])
async def test_refused_template_falls_back_to_a_customer_service_message(h: Harness, errcode: int) -> None:
    booking_id = await wrote_and_booked(h)
    h.api.fail_next("message/template/send", errcode)
    assert await service(h).run_due(DAY_BEFORE) == 1
    await settled(h)
    assert h.api.sent_templates(OPENID) == []
    texts = h.api.sent_texts(OPENID)
    assert len(texts) == 1 and texts[0].startswith("温馨提醒：您预约的调解在明天")
    async with h.sessions() as session:
        item = await session.scalar(select(OutboxItem).where(OutboxItem.payload["type"].as_string() == "notice"))
    assert item is not None and item.status == "sent" and f"WeChat {errcode}" in (item.last_error or "")
    assert (await reminder_rows(h, booking_id))["day_before"].status == "sent"


async def test_refused_template_without_a_window_is_recorded_undelivered(h: Harness) -> None:
    booking_id = await wrote_and_booked(h)
    async with unit_of_work(h.sessions) as session:
        await session.execute(update(WeChatQuota).values(used=WeChatQuota.quota))  # the 5 messages are spent
    h.api.fail_next("message/template/send", 43101)
    assert await service(h).run_due(DAY_BEFORE) == 1
    await settled(h)
    assert h.api.sent_templates(OPENID) == [] and h.api.sent_texts(OPENID) == []

    async def told() -> bool:  # the outbox tells its failure watchers just after it commits the item `failed`
        return (await reminder_rows(h, booking_id))["day_before"].status != "sent"

    await h.until(told)
    reminder = (await reminder_rows(h, booking_id))["day_before"]
    assert reminder.status == "failed"
    assert "43101" in (reminder.last_error or "") and "no customer-service window" in (reminder.last_error or "")
    async with h.sessions() as session:
        message = await session.scalar(select(Message).where(Message.kind == "notice"))
    assert message is not None and message.status == "failed", "staff see the undelivered notice in the transcript"


async def test_reminder_without_a_template_goes_inside_the_window(
    sessions: async_sessionmaker[AsyncSession], database_url: str, api: WeChatStandIn, tmp_path: Any
) -> None:
    async with harness(sessions, database_url, api, tmp_path, WECHAT_TEMPLATE_REMINDER="") as h:
        await wrote_and_booked(h)
        assert await service(h).run_due(DAY_BEFORE) == 1
        await settled(h)
        assert h.api.calls("message/template/send") == []
        assert h.api.sent_texts(OPENID)[-1].startswith("温馨提醒：您预约的调解在明天")
