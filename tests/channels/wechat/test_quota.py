"""WeChat's customer-service quota: a sixth message waits, urgent ones go as templates."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, update
from stand_ins.wechat_harness import OPENID, Harness, sent_at_least

from sharedcourt.db.conversation import Conversation
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Router


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
    assert body["touser"] == OPENID and body["template_id"] == "TEMPLATE-REMINDER"
    assert "明天上午9点" in body["data"]["keyword1"]["value"]


def _quota_table() -> Any:
    from sharedcourt.db.wechat import WeChatQuota

    return WeChatQuota


async def _async_len(items: list[Any]) -> bool:
    return len(items) > 0
