"""The same offer accepted at the same moment from the web workspace, DingTalk and WeCom (asyncio.gather of the
three real requests against one app on a real database): exactly one holder and one acceptance; the two others
are told, in Chinese and on their own channel, who holds it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.dingtalk_server import DingTalkStandIn
from stand_ins.wechat_server import WeChatStandIn
from stand_ins.wecom_staff import CORP, SECRET, pusher, wecom_account, wecom_env
from stand_ins.workspace_world import DIRECTOR_DINGTALK, workspace_world

from sharedcourt.db.ticket import TicketEvent

WEB_DINGTALK = "demo-baiyun-mediator-1"  # the web desk's account is on the roster through this DingTalk id
WECOM_DINGTALK = "demo-baiyun-mediator-2"
NAMES = {
    "baiyun-mediator-1": "白云街道人民调解员（一）",
    "baiyun-director": "白云街道共享法庭庭务主任",
    "baiyun-mediator-2": "白云街道人民调解员（二）",
}
ROUNDS = 6


@pytest.fixture
def dingtalk() -> Iterator[DingTalkStandIn]:
    with DingTalkStandIn() as server:
        yield server


async def test_one_holder_when_web_dingtalk_and_wecom_accept_at_once(
    database_url: str, sessions: async_sessionmaker[AsyncSession], dingtalk: DingTalkStandIn
) -> None:
    wecom = pusher()
    winners: list[str] = []
    with WeChatStandIn(appid=CORP, secret=SECRET) as api:
        async with workspace_world(database_url, **wecom_env(api), **dingtalk.settings()) as world:
            web = await world.person("tiaojie1", "mediator", dingtalk=WEB_DINGTALK)
            await wecom_account(sessions, "tiaojie2", wecom="ww-tiaojie2", dingtalk=WECOM_DINGTALK)
            for round_ in range(ROUNDS):
                _, number = await world.resident_asks(f"race-{round_}")
                body = json.dumps(dingtalk.callback_body(DIRECTOR_DINGTALK, f"接单 {number}"), ensure_ascii=False)
                push = wecom.push(wecom.text("ww-tiaojie2", f"接单 {number}"))
                heard_before = len(dingtalk.messages_for(DIRECTOR_DINGTALK))
                on_web, on_dingtalk, on_wecom = await asyncio.gather(
                    world.act(web, number, "accept"),
                    world.client.post("/dingtalk/callback", content=body.encode(), headers=dingtalk.signed_headers()),
                    world.client.post("/wecom/callback", params=push.params, content=push.body),
                )
                assert on_dingtalk.status_code == 200 and on_wecom.status_code == 200
                ticket = await world.ticket(number)
                assert ticket.state == "accepted" and ticket.holder in NAMES
                async with sessions() as session:
                    query = select(TicketEvent.actor).where(
                        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "accepted"
                    )
                    assert list(await session.scalars(query)) == [f"staff:{ticket.holder}"]
                taken = f"工单 {number} 已由{NAMES[ticket.holder]}接单，无需重复处理。"
                said_on_dingtalk = dingtalk.wait_for(DIRECTOR_DINGTALK, number, after=heard_before).text
                reply = wecom.open_reply(on_wecom.content)
                said_on_wecom = "" if reply is None else str(reply["Content"])
                outcomes = {
                    "baiyun-mediator-1": (
                        on_web.status_code == 303,
                        on_web.status_code == 409 and taken in on_web.text,
                    ),
                    "baiyun-director": (f"已接单 {number}" in said_on_dingtalk, taken in said_on_dingtalk),
                    "baiyun-mediator-2": (said_on_wecom.startswith(f"已接单 {number}"), said_on_wecom == taken),
                }
                for key, (won, told) in outcomes.items():
                    assert won == (key == ticket.holder) and told == (key != ticket.holder), (key, outcomes)
                winners.append(ticket.holder or "")
    assert len(winners) == ROUNDS
