"""WeCom as a staff channel, through `/wecom/callback` with WeCom's real crypto: a member mapped to an active console
account accepts, relays both ways, transfers, hands back and closes with an outcome exactly as on DingTalk, and is
offered work on WeCom; an unknown member (or an inactive account) never acts as staff and talks to the bot."""

from __future__ import annotations

import asyncio
import time

import xmltodict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wecom_push import WeComPusher
from stand_ins.wecom_staff import AGENT, CORP, TOKEN, post, pusher, say, wecom_account, wecom_world
from stand_ins.workspace_world import DIRECTOR_DINGTALK, WorkspaceWorld

from sharedcourt.channels.wecom_staff import NOT_ON_ROSTER
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.ticket import TicketEvent
from sharedcourt.handoff.texts import TEXT_ONLY

BOT = "机器人回复"  # what the workspace world's Rasa answers every turn
JUDGE_DINGTALK = "demo-baiyun-judge"


async def _said_to_resident(world: WorkspaceWorld, conversation: str) -> list[tuple[str, str]]:
    async with world.app.state.sessions() as session:
        rows = await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation, Message.direction == "out")
            .order_by(Message.id)
        )
        return [(m.author, m.text) for m in rows]


async def _accepted_events(world: WorkspaceWorld, number: str) -> list[str]:
    ticket = await world.ticket(number)
    async with world.app.state.sessions() as session:
        query = select(TicketEvent.actor).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "accepted")
        return list(await session.scalars(query))


async def test_offer_accept_relay_both_ways_and_close_through_the_wecom_callback(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    wecom = pusher()
    async with wecom_world(database_url) as (world, api):
        client = world.client
        await wecom_account(sessions, "zhuren", wecom="ww-zhuren", dingtalk=DIRECTOR_DINGTALK)
        conversation, number = await world.resident_asks("wc-resident")
        [offer] = api.wecom_texts("ww-zhuren")
        assert offer.startswith(f"【居民请求人工服务 {number}】") and f"回复“接单 {number}”：接单" in offer
        assert "邻居把垃圾堆在我家门口" in offer and "**" not in offer

        push = wecom.push(wecom.text("ww-zhuren", f"接单 {number}"))
        accepted = await client.post("/wecom/callback", params=push.params, content=push.body)
        reply = wecom.open_reply(accepted.content)
        assert reply is not None and reply["Content"].startswith(f"已接单 {number}")
        assert (reply["ToUserName"], reply["FromUserName"]) == ("ww-zhuren", CORP)
        again = await client.post("/wecom/callback", params=push.params, content=push.body)
        assert again.text == "success", "WeCom's re-delivery of the same MsgId is handled once"
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.holder) == ("accepted", "baiyun-director")
        assert await _accepted_events(world, number) == ["staff:baiyun-director"]

        await world.resident_says("wc-resident", "垃圾还在门口，今天又多了两袋")
        assert "今天又多了两袋" in api.wecom_texts("ww-zhuren")[-1]
        assert await say(client, wecom, "ww-zhuren", "您好，我下午去现场看一下") == ""
        assert await say(client, wecom, "ww-zhuren", "交还押金的事我也问了") == ""
        told = await _said_to_resident(world, conversation)
        assert told[-2:] == [
            ("staff:baiyun-director", "您好，我下午去现场看一下"),
            ("staff:baiyun-director", "交还押金的事我也问了"),
        ]

        closed = await say(client, wecom, "ww-zhuren", "结束 调解成功 双方同意当天清理")
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.outcome, ticket.note) == ("closed", "调解成功", "双方同意当天清理")
        assert number in closed
    async with sessions() as session:
        residents = list(await session.scalars(select(Resident.channel)))
    assert "wecom" not in residents, "a staff member's messages never open a conversation with the bot"


async def test_transfer_to_the_judge_on_wecom_who_accepts_and_hands_back(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    wecom = pusher()
    async with wecom_world(database_url) as (world, api):
        client = world.client
        await wecom_account(sessions, "zhuren", wecom="ww-zhuren", dingtalk=DIRECTOR_DINGTALK)
        await wecom_account(sessions, "faguan", wecom="ww-faguan", dingtalk=JUDGE_DINGTALK, role="judge")
        conversation, number = await world.resident_asks("wc-transfer")
        assert (await say(client, wecom, "ww-zhuren", f"接单 {number}")).startswith("已接单")
        moved = await say(client, wecom, "ww-zhuren", "转交 法官")
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.assignee, ticket.holder) == ("offered", "baiyun-judge", None), moved
        assert any(number in text for text in api.wecom_texts("ww-faguan")), "the judge is offered it on WeCom"
        assert (await say(client, wecom, "ww-faguan", f"#接单 {number}")).startswith(f"已接单 {number}")
        await say(client, wecom, "ww-faguan", "交还")
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.holder, ticket.note) == ("closed", "baiyun-judge", "交还智能助手")
        async with sessions() as session:
            assert (await session.get_one(Conversation, conversation)).mode == "bot"


async def test_unknown_or_inactive_members_never_act_as_staff(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    wecom = pusher()
    async with wecom_world(database_url) as (world, api):
        client = world.client
        await wecom_account(sessions, "tuixiu", wecom="ww-gone", dingtalk=DIRECTOR_DINGTALK, active=False)
        await wecom_account(sessions, "wenyuan", wecom="ww-clerk", dingtalk=None, role=None)
        _, number = await world.resident_asks("wc-stranger")
        assert await say(client, wecom, "ww-stranger", f"接单 {number}") == BOT
        assert await say(client, wecom, "ww-gone", f"接单 {number}") == BOT
        assert await say(client, wecom, "ww-clerk", f"接单 {number}") == NOT_ON_ROSTER
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.holder) == ("offered", None)
        assert await _accepted_events(world, number) == []
        assert api.wecom_texts("ww-gone") == [], "an inactive account is offered nothing on WeCom"
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Resident.channel_user_id, Resident.is_staff).where(Resident.channel == "wecom")
            )
        ).all()
    assert sorted(rows) == [("ww-gone", False), ("ww-stranger", False)], "residents talk to the bot; the clerk does not"


async def test_pictures_are_refused_and_a_slow_answer_comes_as_an_application_message(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    wecom = pusher()
    async with wecom_world(database_url, WECHAT_REPLY_BUDGET="0") as (world, api):
        client = world.client
        await wecom_account(sessions, "zhuren", wecom="ww-zhuren", dingtalk=DIRECTOR_DINGTALK)
        _, number = await world.resident_asks("wc-slow")
        picture = wecom.open_reply((await post(client, wecom, wecom.image("ww-zhuren", "MEDIA1"))).content)
        assert picture is not None and picture["Content"] == TEXT_ONLY
        assert (await post(client, wecom, wecom.text("ww-zhuren", f"接单 {number}"))).text == "success"
        for _ in range(200):
            if any(t.startswith(f"已接单 {number}") for t in api.wecom_texts("ww-zhuren")):
                break
            await asyncio.sleep(0.05)
        assert any(t.startswith(f"已接单 {number}") for t in api.wecom_texts("ww-zhuren"))
        assert (await world.ticket(number)).holder == "baiyun-director"


def test_the_pusher_speaks_wecoms_envelope() -> None:
    wecom = pusher()
    push = wecom.push(wecom.text("ww-zhuren", "你好"), timestamp=1409659813, nonce="1372623149")
    envelope = xmltodict.parse(push.body)["xml"]
    assert set(envelope) == {"ToUserName", "Encrypt", "AgentID"} and envelope["ToUserName"] == CORP
    plain = wecom.crypto.decrypt_message(push.body.decode(), push.params["msg_signature"], "1409659813", "1372623149")
    assert xmltodict.parse(plain)["xml"]["Content"] == "你好"


async def test_a_forged_push_in_a_staff_members_name_accepts_nothing(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    forger = WeComPusher(TOKEN, "A" * 43, CORP, AGENT)  # the right token and CorpId, another AES key
    replayed_late = pusher()
    async with wecom_world(database_url) as (world, _):
        await wecom_account(sessions, "zhuren", wecom="ww-zhuren", dingtalk=DIRECTOR_DINGTALK)
        _, number = await world.resident_asks("wc-forged")
        forged = await post(world.client, forger, forger.text("ww-zhuren", f"接单 {number}"))
        stale = replayed_late.push(replayed_late.text("ww-zhuren", f"接单 {number}"), timestamp=int(time.time()) - 3600)
        late = await world.client.post("/wecom/callback", params=stale.params, content=stale.body)
        assert (forged.status_code, late.status_code) == (403, 403)
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.holder) == ("offered", None)
