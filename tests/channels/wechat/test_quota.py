"""WeChat's customer-service quota: a sixth message waits, urgent ones go as templates; a reservation follows the
database even through a driver that misreports rowcount (tests/stand_ins/misreporting.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.misreporting import misreporting
from stand_ins.wechat_harness import OPENID, TEMPLATE_IDS, Harness, sent_at_least

from sharedcourt.channels.wechat.quota import MESSAGE_QUOTA, MESSAGE_WINDOW, take_quota
from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Conversation
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.wechat import WeChatQuota
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Router

WON, LOST = (1, 0), (0, 1)  # (rows the claim really changed, what rowcount said)


async def test_sixth_message_in_48_hours_waits_for_the_user(h: Harness) -> None:
    h.api.customer_quota = 5  # the stand-in refuses a sixth with 45047, as WeChat does
    assert await h.reply_text(h.pusher.text(OPENID, "你好")) is not None
    async with h.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    assert conversation_id is not None
    router: Router = h.app.state.router
    for n in range(1, 7):
        await router.send(conversation_id, [Reply(f"调解员的第{n}条回复")], author="staff:1")

    async def one_held() -> bool:
        return await h.count(OutboxItem, OutboxItem.status == "held") == 1

    await h.until(one_held)
    await asyncio.sleep(0.3)
    assert h.api.sent_texts(OPENID) == [f"调解员的第{n}条回复" for n in range(1, 6)]
    assert await h.count(OutboxItem, OutboxItem.status == "held") == 1
    assert not [c for c in h.api.calls("message/custom/send") if c.body["_answer"]["errcode"] != 0]
    # The user writes again: a new window opens and the held message goes out.
    h.api.reset_quota(OPENID)
    await h.reply_text(h.pusher.text(OPENID, "好的"))
    await h.until(lambda: sent_at_least(h, 6))
    assert h.api.sent_texts(OPENID)[-1] == "调解员的第6条回复"

    async def all_sent() -> bool:
        return await h.count(OutboxItem, OutboxItem.status == "sent") == 6

    await h.until(all_sent)


@pytest.mark.parametrize("kind", ["reminder", "notice"])
async def test_urgent_reminder_outside_the_quota_goes_as_template(h: Harness, kind: str) -> None:
    await h.reply_text(h.pusher.text(OPENID, "你好"))
    async with h.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
        await session.execute(update(_quota_table()).values(used=5))
        await session.commit()
    assert conversation_id is not None
    router: Router = h.app.state.router
    await router.send(conversation_id, [Reply("提醒：明天上午9点调解")], author="system", kind=kind)
    await h.until(lambda: _async_len(h.api.calls("message/template/send")))
    body = h.api.calls("message/template/send")[0].body
    assert body["_answer"]["errcode"] == 0, body["_answer"]  # the stand-in checked every field as WeChat does
    assert body["touser"] == OPENID and body["template_id"] == TEMPLATE_IDS["handoff_callback"]
    assert set(body["data"]) == {"thing1", "thing2", "time3"}
    assert body["data"]["thing2"]["value"] == "提醒：明天上午9点调解"


def _quota_table() -> Any:
    from sharedcourt.db.wechat import WeChatQuota

    return WeChatQuota


async def _async_len(items: list[Any]) -> bool:
    return len(items) > 0


async def _quota_row(sessions: async_sessionmaker[AsyncSession], openid: str, used: int) -> None:
    """An open 48-hour message window for `openid` with `used` of its 5 messages spent."""
    now = utcnow()
    async with unit_of_work(sessions) as session:
        session.add(
            WeChatQuota(
                openid=openid, window_kind="message", window_start=now, window_end=now + MESSAGE_WINDOW,
                quota=MESSAGE_QUOTA, used=used,
            )
        )  # fmt: skip


async def _used(sessions: async_sessionmaker[AsyncSession], openid: str) -> int:
    async with sessions() as session:
        return (await session.get_one(WeChatQuota, openid)).used


async def test_no_room_left_is_no_although_rowcount_says_1(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _quota_row(sessions, "o-full", used=MESSAGE_QUOTA)
    with misreporting("wechat_quota") as liar:
        assert await take_quota(sessions, "o-full") is False
        assert await take_quota(sessions, "o-nobody") is False, "no window at all"
    assert liar.on("wechat_quota") == [LOST, LOST]
    assert await _used(sessions, "o-full") == MESSAGE_QUOTA


async def test_room_left_is_yes_although_rowcount_says_0(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _quota_row(sessions, "o-room", used=MESSAGE_QUOTA - 1)
    with misreporting("wechat_quota") as liar:
        assert await take_quota(sessions, "o-room") is True
        assert await take_quota(sessions, "o-room") is False
    assert liar.on("wechat_quota") == [WON, LOST]
    assert await _used(sessions, "o-room") == MESSAGE_QUOTA


async def test_last_message_taken_by_one_of_two_racing(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _quota_row(sessions, "o-race", used=MESSAGE_QUOTA - 1)
    taken = await asyncio.gather(take_quota(sessions, "o-race"), take_quota(sessions, "o-race"))
    assert sorted(taken) == [False, True]
    assert await _used(sessions, "o-race") == MESSAGE_QUOTA


async def test_a_quota_with_no_room_left_sends_nothing(h: Harness) -> None:
    await h.reply_text(h.pusher.text(OPENID, "你好"))
    async with unit_of_work(h.sessions) as session:
        conversation_id = await session.scalar(select(Conversation.id))
        await session.execute(update(WeChatQuota).values(used=WeChatQuota.quota))
    assert conversation_id is not None
    sent_before = h.api.sent_texts(OPENID)
    router: Router = h.app.state.router
    with misreporting("wechat_quota") as liar:
        await router.send(conversation_id, [Reply("调解员的回复")], author="staff:1")

        async def held() -> bool:
            return await h.count(OutboxItem, OutboxItem.status == "held") == 1

        await h.until(held)
    assert LOST in liar.on("wechat_quota") and WON not in liar.on("wechat_quota")
    assert h.api.sent_texts(OPENID) == sent_before
    assert "调解员的回复" not in h.api.sent_texts(OPENID)
    assert await _used(h.sessions, OPENID) == MESSAGE_QUOTA
