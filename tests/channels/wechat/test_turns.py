"""What each kind of push does: voice, location, follow, scan, menu clicks, Rasa outages."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select
from stand_ins.wechat_harness import OPENID, Harness, sent_at_least

from sharedcourt.channels.wechat.texts import VOICE_UNRECOGNISED, privacy_notice
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.site import Site
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Router


async def test_voice_uses_recognition_or_asks_to_type(h: Harness) -> None:
    await h.reply_text(h.pusher.voice(OPENID, "VOICE1", recognition="我和邻居因为宅基地吵架"))
    assert h.rasa.received[-1]["message"] == "我和邻居因为宅基地吵架"
    assert h.rasa.received[-1]["metadata"]["kind"] == "voice"
    answer = await h.reply_text(h.pusher.voice(OPENID, "VOICE2"))
    assert answer is not None and answer.startswith(VOICE_UNRECOGNISED) and "1. 人工服务" in answer
    assert len(h.rasa.received) == 1
    async with h.sessions() as session:
        kinds = list(await session.scalars(select(Message.kind).where(Message.direction == "in").order_by(Message.id)))
    assert kinds == ["voice", "voice"]


async def test_location_is_kept_and_sent_to_rasa_as_metadata(h: Harness) -> None:
    await h.reply_text(h.pusher.location(OPENID, 30.274085, 120.155070, "浙江省杭州市上城区"))
    async with h.sessions() as session:
        resident = (await session.scalars(select(Resident))).one()
    assert (resident.latitude, resident.longitude) == (pytest.approx(30.274085), pytest.approx(120.15507))
    assert resident.location_label == "浙江省杭州市上城区"
    sent = h.rasa.received[-1]
    assert sent["message"] == "/find_site"
    assert sent["metadata"]["location"]["label"] == "浙江省杭州市上城区"


async def test_follow_welcomes_with_privacy_notice_and_unfollow_stops_messages(h: Harness) -> None:
    answer = await h.reply_text(h.pusher.event(OPENID, "subscribe"))
    assert answer is not None and privacy_notice(h.app.state.settings) in answer and "回复数字选择" in answer
    assert h.rasa.received == []
    await h.reply_text(h.pusher.event(OPENID, "unsubscribe", create_time=int(time.time()) + 1))
    async with h.sessions() as session:
        resident = (await session.scalars(select(Resident))).one()
        conversation_id = await session.scalar(select(Conversation.id))
    assert resident.subscribed is False
    assert conversation_id is not None
    router: Router = h.app.state.router
    await router.send(conversation_id, [Reply("不应发出")], author="staff:1")
    await asyncio.sleep(0.4)
    assert h.api.sent_texts() == []


async def test_scan_remembers_the_site(h: Harness) -> None:
    await h.reply_text(h.pusher.event(OPENID, "subscribe", key="qrscene_330106001001"))
    async with h.sessions() as session:
        resident = (await session.scalars(select(Resident))).one()
    assert resident.site_code == "330106001001"


@pytest.mark.parametrize(
    ("key", "payload"),
    [("MEDIATION", "/start_mediation"), ("我的案件", "/my_case"), ("FIND_SITE", "/find_site"),
     ("LEGAL_EDUCATION", "/legal_education"), ("人工服务", "/request_human")],
)  # fmt: skip
async def test_menu_clicks_send_the_bots_own_payload(h: Harness, key: str, payload: str) -> None:
    await h.reply_text(h.pusher.event(OPENID, "CLICK", key=key))
    assert h.rasa.received[-1]["message"] == payload
    # The same words typed by a resident are never a command.
    await h.reply_text(h.pusher.text(OPENID, payload))
    assert h.rasa.received[-1]["message"] == "／" + payload[1:]


async def test_event_retries_are_deduplicated_on_sender_and_time(h: Harness) -> None:
    xml = h.pusher.event(OPENID, "CLICK", key="MEDIATION", create_time=1_700_000_000)
    await h.reply_text(xml)
    await h.reply_text(xml)
    assert len(h.rasa.received) == 1


async def test_rasa_outage_holds_passively_then_answers_through_the_outbox(h: Harness) -> None:
    from sharedcourt.messaging.router import HOLDING_REPLY

    h.rasa.up = False
    assert await h.reply_text(h.pusher.text(OPENID, "我要调解")) == HOLDING_REPLY
    assert await h.reply_text(h.pusher.event(OPENID, "CLICK", key="HUMAN")) == HOLDING_REPLY
    h.rasa.up = True
    assert await h.app.state.router.drain() == 2
    # The click waited as its menu name, never as resident-typed command text.
    assert [b["message"] for b in h.rasa.received] == ["我要调解", "人工服务"]
    await h.until(lambda: sent_at_least(h, 2))
    assert h.api.sent_texts(OPENID)[0].startswith("您好")


@pytest.mark.parametrize(
    ("event", "key"),
    [("subscribe", "qrscene_GX330802009201"), ("SCAN", "GX330802009201"), ("subscribe", "qrscene_330802009201")],
)
async def test_scanning_a_site_qr_chooses_that_site(h: Harness, event: str, key: str) -> None:
    # The scene value is the site's registry key (make site-qr-scenes); 回龙村 of 柯城区白云街道 is a seeded site.
    answer = await h.reply_text(h.pusher.event(OPENID, event, key=key))
    async with h.sessions() as session:
        resident = (await session.scalars(select(Resident))).one()
        site = await session.get(Site, "GX330802009201")
    assert site is not None
    assert resident.site_code == site.code
    assert resident.place_code == "330802009201"
    assert answer is not None and site.name in answer


async def test_a_location_sent_after_a_scan_asks_for_the_nearest_site_instead(h: Harness) -> None:
    await h.reply_text(h.pusher.event(OPENID, "SCAN", key="GX330802009201"))
    await h.reply_text(h.pusher.location(OPENID, 28.97, 118.87, "浙江省衢州市柯城区"))
    async with h.sessions() as session:
        resident = (await session.scalars(select(Resident))).one()
    assert resident.site_code is None and resident.latitude == pytest.approx(28.97)
    # WeChat's periodic location report (the "LOCATION" event) keeps the site the resident chose.
    await h.reply_text(h.pusher.event(OPENID, "SCAN", key="GX330802009201", create_time=int(time.time()) + 1))
    await h.reply_text(h.pusher.location_event(OPENID, 28.96, 118.86, create_time=int(time.time()) + 2))
    async with h.sessions() as session:
        resident = (await session.scalars(select(Resident))).one()
    assert resident.site_code == "GX330802009201" and resident.latitude == pytest.approx(28.96)
