"""How people are reached (sharedcourt.handoff.notify): the demo inbox, and the outbox's DingTalk sender against
DingTalk's stand-in (sent, or a retry when DingTalk fails)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.dingtalk_server import DingTalkStandIn

from sharedcourt.clients.dingtalk import Card, DingTalkClient
from sharedcourt.db.offers import StaffNotice
from sharedcourt.handoff.notify import DingTalkNotifier, DingTalkSender, StoredNotifier
from sharedcourt.handoff.staff_routing import load_default
from sharedcourt.messaging.outbox import Item

CARD = Card("居民请求人工服务 T00001", "正文", (("接单", "接单 T00001"),))


@pytest.fixture
async def dingtalk() -> AsyncIterator[tuple[DingTalkStandIn, DingTalkClient]]:
    with DingTalkStandIn() as standin:
        client = DingTalkClient(standin.base_url, standin.app_key, standin.app_secret, standin.robot_code, backoff=0.01)
        try:
            yield standin, client
        finally:
            await client.aclose()


async def test_the_stored_inbox_keeps_each_card_for_its_person_across_a_restart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    roster = load_default().roster
    director, judge = roster.find("baiyun-director"), roster.find("baiyun-judge")
    assert director is not None and judge is not None
    await StoredNotifier(sessions).notify(director, CARD)
    await StoredNotifier(sessions).notify(judge, Card("居民消息 T00002", "别的", ()))
    restarted = StoredNotifier(sessions)  # a new process: nothing is held in memory
    assert await restarted.messages("baiyun-director") == [("baiyun-director", CARD)]
    assert [who for who, _ in await restarted.messages()] == ["baiyun-director", "baiyun-judge"]
    async with sessions() as session:
        numbers = list(await session.scalars(select(StaffNotice.ticket_number).order_by(StaffNotice.id)))
    assert numbers == ["T00001", "T00002"]


async def test_dingtalk_notifier_sends_to_the_persons_dingtalk_id(
    dingtalk: tuple[DingTalkStandIn, DingTalkClient],
) -> None:
    standin, client = dingtalk
    director = load_default().roster.find("baiyun-director")
    assert director is not None
    await DingTalkNotifier(client).notify(director, CARD)
    [sent] = standin.sent
    assert sent.users == [director.dingtalk] and sent.buttons() == {"接单": "接单 T00001"}


async def test_the_outbox_sender_sends_or_asks_for_a_retry(dingtalk: tuple[DingTalkStandIn, DingTalkClient]) -> None:
    standin, client = dingtalk
    sender = DingTalkSender(client)
    payload = {"title": CARD.title, "text": CARD.text, "buttons": [["接单", "接单 T00001"]]}
    item = Item(1, "dingtalk", "demo-baiyun-director", payload, conversation_id=None, urgent=False, attempts=0)
    assert (await sender.send(item)).status == "sent"
    assert standin.sent[-1].users == ["demo-baiyun-director"] and standin.sent[-1].title == CARD.title
    standin.fail_next["/v1.0/robot/oToMessages/batchSend"] = [503, 503, 503]
    result = await sender.send(item)
    assert result.status == "retry" and "503" in result.detail
    assert len(standin.sent) == 1
