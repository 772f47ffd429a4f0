"""Case-status notices end to end through WeChat: a WeChat resident's ticket is closed with an outcome (by the
DingTalk command or the workspace, both through the handoff core) and the `case_status` notice travels through the
real outbox and WeChat sender to WeChat's stand-in, which checks every template field as WeChat does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_harness import APPID, OPENID, SECRET, TEMPLATE_IDS, Harness, harness
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.handoff.core import HandoffRequest
from sharedcourt.handoff.texts import RATING_PROMPT

STAFF = "baiyun-director"


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


async def held_ticket(h: Harness) -> tuple[str, str]:
    """The resident writes through the safe-mode callback, asks for a person, and a mediator accepts."""
    assert await h.reply_text(h.pusher.text(OPENID, "邻居装修把我家墙震裂了")) is not None
    async with h.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id).where(Conversation.channel == "wechat"))
    assert conversation_id is not None
    service = h.app.state.handoff.service
    requested = await service.request(HandoffRequest(conversation_id=conversation_id))
    assert requested.ok and requested.number
    assert (await service.accept(requested.number, STAFF)).ok
    await settled(h)
    return conversation_id, requested.number


async def settled(h: Harness) -> None:
    """Wait for the app's outbox loop to finish every queued item."""

    async def done() -> bool:
        return await h.count(OutboxItem, OutboxItem.status.in_(("queued", "sending"))) == 0

    await h.until(done)


async def notice_row(h: Harness, conversation_id: str) -> Message:
    async with h.sessions() as session:
        row = await session.scalar(
            select(Message).where(Message.conversation_id == conversation_id, Message.kind == "notice")
        )
    assert row is not None, "the notice is in the transcript"
    return row


async def test_closing_by_dingtalk_command_sends_the_case_status_template(h: Harness) -> None:
    conversation_id, number = await held_ticket(h)
    h.api.reset_quota(OPENID)
    done = await h.app.state.handoff.service.staff_says(STAFF, "结束 调解成功 双方同意赔偿修补费用")
    assert done.ok, done.text
    await settled(h)
    calls = h.api.calls("message/template/send")
    assert [c.body["_answer"]["errcode"] for c in calls] == [0], "the stand-in refused a field"
    (notice,) = h.api.sent_templates(OPENID)
    assert notice["template_id"] == TEMPLATE_IDS["case_status"]
    data = {k: v["value"] for k, v in notice["data"].items()}
    assert data["character_string1"] == number and data["phrase2"] == "调解成功"
    assert data["thing3"] == "人工服务已结束，结果：调解成功" and data["time4"].startswith("20")
    texts = h.api.sent_texts(OPENID)
    assert not any("结果：调解成功" in t for t in texts), "the outcome also went as a customer-service message"
    assert texts[-1].startswith(RATING_PROMPT.split("\n")[0])
    row = await notice_row(h, conversation_id)
    assert row.status == "sent" and "调解成功" in row.text


async def test_closing_in_the_workspace_with_a_refused_template_falls_back_to_text(h: Harness) -> None:
    conversation_id, number = await held_ticket(h)
    h.api.reset_quota(OPENID)
    h.api.fail_next("message/template/send", 47003)
    done = await h.app.state.handoff.service.close(number, STAFF, "调解不成", "对方不同意")
    assert done.ok, done.text
    await settled(h)
    assert h.api.sent_templates(OPENID) == []
    assert "工作人员已结束本次人工服务（结果：调解不成）。" in h.api.sent_texts(OPENID)
    async with h.sessions() as session:
        item = await session.scalar(select(OutboxItem).where(OutboxItem.payload["type"].as_string() == "notice"))
    assert item is not None and item.status == "sent" and "WeChat 47003" in (item.last_error or "")
    assert item.payload["purpose"] == "case_status"
    assert (await notice_row(h, conversation_id)).status == "sent"


async def test_hand_back_is_no_case_status(h: Harness) -> None:
    _conversation_id, number = await held_ticket(h)
    assert (await h.app.state.handoff.service.hand_back(number, STAFF)).ok
    await settled(h)
    assert h.api.sent_templates(OPENID) == []
    assert "工作人员已把对话交还给智能助手，您可以继续和我说。" in h.api.sent_texts(OPENID)
