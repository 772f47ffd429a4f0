"""A resident's journey over WeChat in safe mode against the real system (Rasa, action server, app).

A second app process is started next to the `system` fixture's, sharing its Rasa, action server and database,
with WECHAT_* settings and WECHAT_API_BASE pointing at the WeChat API stand-in running in this test process.
Pushes are built the way WeChat builds them (wechatpy's crypto in the sender role) and posted over HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from stand_ins.wechat_push import WeChatPusher
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.channels.wechat.texts import privacy_notice
from sharedcourt.cli.procs import Stack, free_port, start_app
from sharedcourt.db.case import Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import make_engine, make_sessionmaker
from sharedcourt.settings import Settings

from .conftest import System

pytestmark = pytest.mark.integration
CJK = re.compile(r"[\u4e00-\u9fff]")
TOKEN = "journey-token"
APPID = "wxjourney0000001"
SECRET = "journey-secret"
AES_KEY = "Zm9yLXRoZS1qb3VybmV5LXRlc3Qtb25seS0xMjM0NTY"  # 43 characters


@dataclass
class WeChatSystem:
    settings: Settings
    api: WeChatStandIn
    pusher: WeChatPusher
    evidence_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}/wechat/callback"

    def post(self, xml: str) -> tuple[httpx.Response, float]:
        push = self.pusher.push(xml)
        started = time.monotonic()
        response = httpx.post(self.url, params=push.params, content=push.body, timeout=30)
        return response, time.monotonic() - started

    def answer(self, xml: str, openid: str) -> tuple[str, str, float]:
        """(how it came: passive/customer-service, the text, seconds until the HTTP answer)."""
        before = len(self.api.sent_texts(openid))
        response, elapsed = self.post(xml)
        assert response.status_code == 200, response.text
        if response.text != "success":
            assert "<Encrypt>" in response.text  # safe mode: the passive reply is encrypted
            reply = self.pusher.open_reply(response.content)
            assert reply is not None and reply["ToUserName"] == openid
            return "passive", str(reply["Content"]), elapsed
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sent = self.api.sent_texts(openid)
            if len(sent) > before:
                return "customer-service", sent[-1], elapsed
            time.sleep(0.2)
        return "none", "", elapsed


@pytest.fixture(scope="module")
def wechat_system(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeChatSystem]:
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
        )
        settings = Settings.from_env(env)
        stack = Stack(settings, tmp_path_factory.mktemp("wechat-logs"))
        try:
            start_app(stack)
            stack.wait_healthy("app", f"http://127.0.0.1:{settings.port}/webchat/messages?after=0", 60)
            yield WeChatSystem(settings, api, WeChatPusher(TOKEN, APPID, AES_KEY), evidence_dir)
        finally:
            stack.stop()


def _load(database_url: str, openid: str) -> tuple[Resident, list[Message], list[Evidence]]:
    async def load() -> tuple[Resident, list[Message], list[Evidence]]:
        engine = make_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                resident = (
                    await session.scalars(
                        select(Resident).where(Resident.channel == "wechat", Resident.channel_user_id == openid)
                    )
                ).one()
                messages = list(
                    await session.scalars(
                        select(Message)
                        .join(Conversation, Conversation.id == Message.conversation_id)
                        .where(Conversation.resident_id == resident.id)
                        .order_by(Message.id)
                    )
                )
                evidence = list(
                    await session.scalars(select(Evidence).where(Evidence.message_id.in_([m.id for m in messages])))
                )
                return resident, messages, evidence
        finally:
            await engine.dispose()

    return asyncio.run(load())


def test_resident_journey_over_wechat_in_safe_mode(wechat_system: WeChatSystem, system: System) -> None:
    w = wechat_system
    openid = f"oJourney{uuid.uuid4().hex[:20]}"
    timings: list[tuple[str, str, float]] = []

    how, text, elapsed = w.answer(w.pusher.event(openid, "subscribe"), openid)
    timings.append(("follow", how, elapsed))
    assert how == "passive" and privacy_notice(w.settings) in text and "共享法庭" in text

    how, text, elapsed = w.answer(
        w.pusher.text(openid, "楼上邻居装修把我家天花板弄漏水了，找他好几次都不管，想调解"), openid
    )
    timings.append(("dispute by text", how, elapsed))
    assert how != "none" and CJK.search(text), text

    how, text, elapsed = w.answer(
        w.pusher.voice(openid, "VOICE_MEDIA_1", recognition="他说不是他家的问题，不肯赔钱"), openid
    )
    timings.append(("dispute by voice", how, elapsed))
    assert how != "none" and CJK.search(text), text

    photo = b"\xff\xd8\xff\xe0JFIF" + bytes(range(256)) * 40
    w.api.add_media("PHOTO_MEDIA_1", photo, "image/jpeg")
    how, text, elapsed = w.answer(w.pusher.image(openid, "PHOTO_MEDIA_1"), openid)
    timings.append(("photo", how, elapsed))
    assert how == "passive" and "证据" in text

    how, text, elapsed = w.answer(w.pusher.location(openid, 30.2741, 120.1551, "浙江省杭州市上城区湖滨街道"), openid)
    timings.append(("location", how, elapsed))
    assert how != "none" and CJK.search(text), text

    print("\n".join(f"{step}: {how} in {seconds * 1000:.0f} ms" for step, how, seconds in timings))
    assert all(seconds < 4.5 for _, _, seconds in timings)

    deadline = time.monotonic() + 15
    while True:
        resident, messages, evidence = _load(system.settings.database_url, openid)
        if (evidence and evidence[0].sha256) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    inbound = [m for m in messages if m.direction == "in"]
    assert [m.kind for m in inbound] == ["event", "text", "voice", "image", "location"]
    assert inbound[2].text == "他说不是他家的问题，不肯赔钱"
    assert all(m.status in ("processed", "relayed") for m in inbound), [(m.kind, m.status) for m in inbound]
    assert resident.subscribed and resident.location_label == "浙江省杭州市上城区湖滨街道"
    assert resident.latitude == pytest.approx(30.2741) and resident.longitude == pytest.approx(120.1551)
    assert len(evidence) == 1 and evidence[0].sha256 == hashlib.sha256(photo).hexdigest()
    assert evidence[0].path is not None and Path(evidence[0].path).read_bytes() == photo
    # WeChat never had to refuse a customer-service message (the quota was tracked, not discovered).
    answers = [c.body["_answer"]["errcode"] for c in w.api.calls("message/custom/send")]
    assert all(code == 0 for code in answers), answers
