"""Reaching staff on WeCom (sharedcourt.handoff.wecom): the WeCom id comes through the person's active account (its
own id, else the roster row naming the account), the card becomes a WeCom text within 2048 bytes, and a WeCom
failure (an error code, or no answer within the explicit timeout) falls back to the other notifier."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.console_accounts import add_account
from stand_ins.wechat_server import WeChatStandIn
from stand_ins.wecom_staff import CORP, SECRET, wecom_account

from sharedcourt.clients.dingtalk import Card
from sharedcourt.clients.wecom import TEXT_LIMIT_BYTES, WeComAPI
from sharedcourt.db.staff import RosterEntry
from sharedcourt.handoff.staff_routing import Staffer, load_default
from sharedcourt.handoff.wecom import WeComNotifier, card_text, wecom_id_of

CARD = Card(
    "居民请求人工服务 T00001",
    "### 居民请求人工服务（T00001）\n\n- **紧急**：否\n\n[查看完整对话记录](https://court.example/t/abc)\n",
    (("接单", "接单 T00001"), ("转交法官", "转交 法官 T00001")),
)


@dataclass
class Fallback:
    got: list[tuple[str, str]] = field(default_factory=list)

    async def notify(self, staffer: Staffer, card: Card) -> None:
        self.got.append((staffer.id, card.title))


def _person(key: str) -> Staffer:
    person = load_default().roster.find(key)
    assert person is not None
    return person


def test_the_card_as_wecom_text() -> None:
    text = card_text(CARD)
    assert text.startswith("【居民请求人工服务 T00001】\n居民请求人工服务（T00001）")
    assert "查看完整对话记录：https://court.example/t/abc" in text and "**" not in text and "###" not in text
    assert text.endswith("回复“接单 T00001”：接单\n回复“转交 法官 T00001”：转交法官")
    long = card_text(Card("居民消息 T00002", "长" * 3000, (("接单", "接单 T00002"),)))
    assert len(long.encode()) <= TEXT_LIMIT_BYTES and long.endswith("回复“接单 T00002”：接单")


async def test_the_wecom_id_comes_through_an_active_account(sessions: async_sessionmaker[AsyncSession]) -> None:
    director, judge, lawyer = _person("baiyun-director"), _person("baiyun-judge"), _person("baiyun-lawyer")
    await wecom_account(sessions, "zhuren", wecom="ww-zhuren", dingtalk=director.dingtalk)
    await wecom_account(sessions, "faguan", wecom="ww-faguan", dingtalk=judge.dingtalk, active=False)
    lawyer_account = await add_account(sessions, "lvshi", "mediator", "GX330802009")
    async with sessions() as session, session.begin():
        session.add(
            RosterEntry(
                key=lawyer.id, role="lawyer", name=lawyer.name, wecom_user_id="ww-lvshi", account_id=lawyer_account
            )
        )
    assert await wecom_id_of(sessions, director) == "ww-zhuren"
    assert await wecom_id_of(sessions, judge) == "", "an inactive account is reached no more"
    assert await wecom_id_of(sessions, lawyer) == "ww-lvshi", "the roster row naming the account"
    assert await wecom_id_of(sessions, _person("baiyun-police")) == ""


async def test_wecom_first_and_the_fallback_when_wecom_fails(sessions: async_sessionmaker[AsyncSession]) -> None:
    director, mediator = _person("baiyun-director"), _person("baiyun-mediator-1")
    await wecom_account(sessions, "zhuren", wecom="ww-zhuren", dingtalk=director.dingtalk)
    with WeChatStandIn(appid=CORP, secret=SECRET) as api:
        fallback = Fallback()
        notifier = WeComNotifier(WeComAPI(CORP, SECRET, api.base_url, timeout=0.5), "1000002", sessions, fallback)
        await notifier.notify(director, CARD)
        await notifier.notify(mediator, CARD)
        assert [t[:20] for t in api.wecom_texts("ww-zhuren")] == [card_text(CARD)[:20]]
        assert fallback.got == [("baiyun-mediator-1", CARD.title)], "no WeCom id: the other way"
        api.fail_next("message/send", 60020)
        await notifier.notify(director, CARD)
        api.delay["message/send"] = 1.5
        started = time.monotonic()
        await notifier.notify(director, CARD)
        assert time.monotonic() - started < 1.4, "the explicit timeout, not WeCom's silence, decides"
        assert fallback.got[1:] == [("baiyun-director", CARD.title)] * 2
