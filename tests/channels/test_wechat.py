"""WeChat Official Account channel, driven over HTTP with pushes built the way WeChat builds them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_push import WeChatPusher, next_msg_id
from stand_ins.wechat_server import WeChatStandIn
from starlette.applications import Starlette
from wechatpy.crypto import WeChatCrypto

from sharedcourt.app import create_app
from sharedcourt.channels.wechat import (
    PRIVACY_NOTICE,
    VOICE_UNRECOGNISED,
    chunks,
    guard_xml,
    merge,
)
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.errors import BadRequest
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.messaging.router import Router
from sharedcourt.settings import Settings

TOKEN = "sharedcourt-test-token"
APPID = "wx0123456789abcdef"
SECRET = "test-app-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oUser0000000000000000000001"


class FakeRasa:
    """Rasa's REST channel: records turns (text and metadata), answers after `delay` seconds."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = [
            {"text": "您好，请说说您遇到的问题。", "buttons": [{"title": "我要调解", "payload": "/start_mediation"}]}
        ]
        self.delay = 0.0
        self.up = True

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        body = json.loads(request.content)
        self.received.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        return httpx.Response(200, json=[{"recipient_id": body["sender"], **r} for r in self.replies])


@dataclass
class Harness:
    app: Starlette
    client: httpx.AsyncClient
    pusher: WeChatPusher
    api: WeChatStandIn
    rasa: FakeRasa
    sessions: async_sessionmaker[AsyncSession]

    async def post(self, xml: str, **kwargs: Any) -> httpx.Response:
        push = self.pusher.push(xml, **kwargs)
        return await self.client.post("/wechat/callback", params=push.params, content=push.body)

    async def reply_text(self, xml: str, **kwargs: Any) -> str | None:
        response = await self.post(xml, **kwargs)
        assert response.status_code == 200, response.text
        data = self.pusher.open_reply(response.content)
        return None if data is None else str(data["Content"])

    async def idle(self) -> None:
        await self.app.state.wechat.idle()

    async def count(self, model: Any, *where: Any) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    async def until(self, check: Any, timeout: float = 10.0) -> None:
        started = time.monotonic()
        while not await check():
            if time.monotonic() - started > timeout:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.05)


@pytest.fixture
def api() -> Iterator[WeChatStandIn]:
    with WeChatStandIn(appid=APPID, secret=SECRET) as stand_in:
        yield stand_in


def wechat_settings(database_url: str, api_base: str, **extra: str) -> Settings:
    env = {
        "DATABASE_URL": database_url,
        "RASA_URL": "http://rasa.test",
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_API_BASE": api_base,
        "WECHAT_REPLY_BUDGET": "2",
        "WECHAT_TEMPLATE_ID": "TEMPLATE-REMINDER",
        "OUTBOX_INTERVAL": "0.05",
        "RETRY_INTERVAL": "3600",
        "EVIDENCE_DIR": "",
    }
    env.update(extra)
    return Settings.from_env(env)


@contextlib.asynccontextmanager
async def harness(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    api: WeChatStandIn,
    tmp_path: Any,
    **extra: str,
) -> AsyncIterator[Harness]:
    extra.setdefault("EVIDENCE_DIR", str(tmp_path / "evidence"))
    settings = wechat_settings(database_url, api.base_url, **extra)
    rasa = FakeRasa()
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa.handler))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test", timeout=30) as client:
            pusher = WeChatPusher(TOKEN, APPID, settings.wechat_aes_key)
            yield Harness(app, client, pusher, api, rasa, sessions)
            await app.state.wechat.idle()


@pytest.fixture
async def h(
    sessions: async_sessionmaker[AsyncSession], database_url: str, api: WeChatStandIn, tmp_path: Any
) -> AsyncIterator[Harness]:
    async with harness(sessions, database_url, api, tmp_path) as ready:
        yield ready


# ---- published sample vectors -------------------------------------------------------------------------------


def test_official_account_sample_vector_decrypts_and_verifies() -> None:
    # WeChat Official Account message encryption sample (WXBizMsgCrypt Python sample, "Sample.py"/demo.py of the
    # 公众平台消息加解密 download, 2014): token spamtest, EncodingAESKey abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG,
    # AppId wx2c2769f8efd9abc2. This body is a compatible-mode push (plaintext fields and Encrypt together).
    body = (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
        "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
        "</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655Hu"
        "D0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZ"
        "kyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3y"
        "ZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSg"
        "M9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>"
    )
    from sharedcourt.channels.wechat import _envelope, parse_push, signature

    encrypt = _envelope(body)["Encrypt"]
    assert signature("spamtest", "1409735669", "1320562132", encrypt) == "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
    crypto = WeChatCrypto("spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2")
    plain = crypto.decrypt_message(body, "5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735669", "1320562132")
    message = parse_push(guard_xml(plain.encode()))
    assert (message.kind, message.text, message.openid) == ("text", "abcdteT", "oyORnuP8q7ou2gfYjqLzSIWZf0rs")
    assert message.external_id == "msg:6054768590064713728"
    from wechatpy.exceptions import InvalidAppIdException

    other = WeChatCrypto("spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx0000000000000000")
    with pytest.raises(InvalidAppIdException):
        other.decrypt_message(body, "5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735669", "1320562132")


def test_plaintext_signature_sample() -> None:
    # The URL check of the same sample: sha1 of the sorted token, timestamp and nonce
    # (16120ec1b8dbb870f510d87ce6bc2463eae6ca1a is the `signature` published with it).
    from sharedcourt.channels.wechat import check_query

    params = {"signature": "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a", "timestamp": "1409735669", "nonce": "1320562132"}
    assert check_query("spamtest", params, now=1409735669) == ("1409735669", "1320562132")


# ---- pure helpers ---------------------------------------------------------------------------------------------


def test_merge_numbers_the_last_messages_buttons() -> None:
    replies = [
        Reply("第一段"),
        Reply("请选择", buttons=(Button("我要调解", "/start_mediation"), Button("人工服务", "/request_human"))),
    ]
    assert merge(replies) == "第一段\n\n请选择\n回复数字选择：\n1. 我要调解\n2. 人工服务"


def test_chunks_fit_wechat_limit() -> None:
    text = "\n".join("调解" * 200 for _ in range(5))
    pieces = chunks(text)
    assert len(pieces) > 1
    assert all(len(p.encode()) <= 2000 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml>&lol2;</xml>',
        b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>',
        b"<!doctype xml><xml/>",
        "<xml><Content>调解</Content></xml>".encode("gbk"),
        b'<?xml version="1.0" encoding="GBK"?><xml/>',
        b"<xml>\x00</xml>",
        b"",
    ],
)
def test_guard_refuses_dtds_and_wrong_encodings(body: bytes) -> None:
    with pytest.raises(BadRequest):
        guard_xml(body)


# ---- the endpoint ---------------------------------------------------------------------------------------------


async def test_url_verification(h: Harness) -> None:
    good = h.pusher.url_check("hello123")
    response = await h.client.get("/wechat/callback", params=good)
    assert (response.status_code, response.text) == (200, "hello123")
    forged = {**good, "signature": "0" * 40}
    assert (await h.client.get("/wechat/callback", params=forged)).status_code == 403


async def test_text_in_safe_mode_gets_an_encrypted_passive_reply(h: Harness) -> None:
    started = time.monotonic()
    response = await h.post(h.pusher.text(OPENID, "邻居家漏水，物业不管"))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert b"<Encrypt>" in response.content and "漏水" not in response.text
    reply = h.pusher.open_reply(response.content)
    assert reply is not None
    assert reply["ToUserName"] == OPENID and reply["MsgType"] == "text"
    assert reply["Content"] == "您好，请说说您遇到的问题。\n回复数字选择：\n1. 我要调解"
    assert h.rasa.received[0]["message"] == "邻居家漏水，物业不管"
    assert elapsed < h.app.state.wechat.budget
    assert h.api.calls("message/custom/send") == []
    # The typed number maps to the offered button's payload (the router's choice mapping).
    await h.reply_text(h.pusher.text(OPENID, "1"))
    assert h.rasa.received[-1]["message"] == "/start_mediation"


async def test_compatible_mode_trusts_only_the_ciphertext(h: Harness) -> None:
    xml = h.pusher.text(OPENID, "真实内容")
    push = h.pusher.push(xml, compatible=True)
    forged_plain = push.body.replace("真实内容".encode(), "伪造内容".encode(), 1)
    assert forged_plain != push.body
    response = await h.client.post("/wechat/callback", params=push.params, content=forged_plain)
    assert response.status_code == 200
    assert h.rasa.received[0]["message"] == "真实内容"


async def test_safe_mode_refuses_plaintext_pushes(h: Harness) -> None:
    response = await h.post(h.pusher.text(OPENID, "明文"), encrypt=False)
    assert response.status_code == 403
    assert await h.count(Message) == 0


async def test_plaintext_mode(
    sessions: async_sessionmaker[AsyncSession], database_url: str, api: WeChatStandIn, tmp_path: Any
) -> None:
    async with harness(sessions, database_url, api, tmp_path, WECHAT_AES_KEY="") as plain:
        response = await plain.post(plain.pusher.text(OPENID, "你好"))
        assert response.status_code == 200
        assert "<Content><![CDATA[您好" in response.text
        assert (await plain.post(plain.pusher.text(OPENID, "x"), timestamp=int(time.time()) - 3600)).status_code == 403


@pytest.mark.parametrize("case", ["forged signature", "forged msg_signature", "stale timestamp", "wrong appid"])
async def test_unauthenticated_pushes_get_403_and_store_nothing(
    h: Harness, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    xml = h.pusher.text(OPENID, "秘密内容")
    if case == "wrong appid":
        h.pusher.crypto = WeChatCrypto(TOKEN, AES_KEY, "wx_someone_else0")
    push = h.pusher.push(xml, timestamp=int(time.time()) - 3600 if case == "stale timestamp" else None)
    if case == "forged signature":
        push.params["signature"] = "f" * 40
    if case == "forged msg_signature":
        push.params["msg_signature"] = "0" * 40
    response = await h.client.post("/wechat/callback", params=push.params, content=push.body)
    assert response.status_code == 403
    assert await h.count(Message) == 0
    assert h.rasa.received == []
    assert "秘密内容" not in caplog.text


async def test_oversized_body_gets_413(h: Harness) -> None:
    push = h.pusher.push(h.pusher.text(OPENID, "长" * 40_000))
    response = await h.client.post("/wechat/callback", params=push.params, content=push.body)
    assert response.status_code == 413
    assert await h.count(Message) == 0


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<xml><Encrypt>&b;</Encrypt></xml>",
        b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>',
        b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[abc",
        "<xml><Encrypt>调解</Encrypt></xml>".encode("utf-16"),
        b"<xml><Encrypt><a>1</a></Encrypt></xml>",
        b"not xml at all",
    ],
)
async def test_hostile_or_malformed_xml_is_refused(h: Harness, body: bytes) -> None:
    push = h.pusher.push(h.pusher.text(OPENID, "x"))
    response = await h.client.post("/wechat/callback", params=push.params, content=body)
    assert response.status_code in (400, 403)
    assert await h.count(Message) == 0


async def test_three_concurrent_retries_give_one_answer(h: Harness) -> None:
    h.rasa.delay = 0.5
    push = h.pusher.push(h.pusher.text(OPENID, "我要调解邻里纠纷"))
    started = time.monotonic()
    responses = await asyncio.gather(
        *(h.client.post("/wechat/callback", params=push.params, content=push.body) for _ in range(3))
    )
    elapsed = time.monotonic() - started
    assert [r.status_code for r in responses] == [200, 200, 200]
    answers = {json.dumps(h.pusher.open_reply(r.content), ensure_ascii=False, sort_keys=True) for r in responses}
    contents = [h.pusher.open_reply(r.content) for r in responses]
    assert all(c is not None and c["Content"].startswith("您好") for c in contents)
    assert len({c["Content"] for c in contents if c}) == 1, answers
    assert len(h.rasa.received) == 1
    assert await h.count(Message, Message.direction == "in") == 1
    assert await h.count(Message, Message.direction == "out") == 1
    await h.idle()
    await asyncio.sleep(0.2)
    assert h.api.calls("message/custom/send") == []
    assert elapsed < 2.0


async def test_slow_turn_answers_success_then_one_customer_service_message(h: Harness) -> None:
    h.app.state.wechat.budget = 0.5
    h.rasa.delay = 3.0
    started = time.monotonic()
    response = await h.post(h.pusher.text(OPENID, "欠款三万元不还怎么办"))
    elapsed = time.monotonic() - started
    assert (response.status_code, response.text) == (200, "success")
    # `success` came before the turn could have finished (slack for a loaded 2-core machine).
    assert elapsed < h.rasa.delay, elapsed
    await h.idle()
    await h.until(lambda: _sent(h, 1))
    await asyncio.sleep(0.3)
    await h.until(lambda: _status_sent(h))
    sent = h.api.sent_texts(OPENID)
    assert sent == ["您好，请说说您遇到的问题。\n回复数字选择：\n1. 我要调解"]
    async with h.sessions() as session:
        out = (await session.scalars(select(Message).where(Message.direction == "out"))).one()
        assert out.status == "sent"
        item = (await session.scalars(select(OutboxItem))).one()
        assert (item.status, item.message_ids) == ("sent", [out.id])


async def _status_sent(h: Harness) -> bool:
    return await h.count(OutboxItem, OutboxItem.status == "sent") == 1


async def _sent(h: Harness, n: int) -> bool:
    return len(h.api.sent_texts(OPENID)) >= n


async def test_retry_after_the_budget_does_not_answer_twice(h: Harness) -> None:
    h.app.state.wechat.budget = 0.3
    h.rasa.delay = 0.8
    push = h.pusher.push(h.pusher.text(OPENID, "第一次"))
    first = await h.client.post("/wechat/callback", params=push.params, content=push.body)
    second = await h.client.post("/wechat/callback", params=push.params, content=push.body)
    assert first.text == second.text == "success"
    await h.idle()
    await h.until(lambda: _sent(h, 1))
    await asyncio.sleep(0.5)
    third = await h.client.post("/wechat/callback", params=push.params, content=push.body)
    assert third.text == "success"
    await asyncio.sleep(0.3)
    assert len(h.api.sent_texts(OPENID)) == 1
    assert len(h.rasa.received) == 1


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
    await h.until(lambda: _sent(h, 6))
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


async def test_image_is_downloaded_hashed_and_attached_to_the_open_case(h: Harness, tmp_path: Any) -> None:
    import hashlib

    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 10
    h.api.add_media("MEDIA_PHOTO", photo, "image/jpeg")
    await h.reply_text(h.pusher.text(OPENID, "你好"))
    async with h.sessions() as session, session.begin():
        resident = (await session.scalars(select(Resident))).one()
        conversation = (await session.scalars(select(Conversation))).one()
        session.add(Case(resident_id=resident.id, conversation_id=conversation.id, number="ZJ-2026-0001"))
    answer = await h.reply_text(h.pusher.image(OPENID, "MEDIA_PHOTO"))
    assert answer is not None and "ZJ-2026-0001" in answer
    await h.idle()
    async with h.sessions() as session:
        evidence = (await session.scalars(select(Evidence))).one()
        case = (await session.scalars(select(Case))).one()
    assert evidence.case_id == case.id and evidence.kind == "image"
    assert evidence.sha256 == hashlib.sha256(photo).hexdigest()
    assert evidence.path is not None and Path(evidence.path).read_bytes() == photo  # noqa: ASYNC240
    assert h.api.calls("media/get")[0].query["media_id"] == "MEDIA_PHOTO"


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
    assert answer is not None and PRIVACY_NOTICE in answer and "回复数字选择" in answer
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


# ---- the fuzz: nothing a stranger sends may crash the worker, answer 5xx or be stored -------------------------


def _mutate(rng: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        if op < 0.3 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op < 0.5 and data:
            del data[rng.randrange(len(data)) :]
        elif op < 0.7:
            position = rng.randrange(len(data) + 1)
            data[position:position] = rng.choice(
                [b"<", b">", b"]]>", b"<![CDATA[", b"&amp;", b"<!DOCTYPE x>", b"\x00", b"\xff\xfe", b"</xml>", b"<xml>"]
            )
        elif data:
            start = rng.randrange(len(data))
            data[start : start + rng.randint(1, 32)] = b""
    return bytes(data)


async def test_ten_thousand_mutated_bodies(h: Harness) -> None:
    """7,500 bodies mutated on the wire (signatures kept) and 2,500 mutated plaintexts that are then encrypted
    and signed properly (only the parser stands in their way): no 5xx, no crash, and nothing stored from the
    wire mutations beyond the three genuine originals sent first."""
    import xmltodict

    rng = random.Random(20261129)
    fuzz_openid = "oFuzzPlaintext000000000000001"
    templates = [
        h.pusher.text(OPENID, "我要调解", msg_id=4711),
        h.pusher.event(OPENID, "CLICK", key="MEDIATION", create_time=1_700_000_000),
        h.pusher.location(OPENID, 30.27, 120.15, "杭州", msg_id=4712),
    ]
    inner_templates = [t.replace(OPENID, fuzz_openid) for t in templates]
    pushes = [h.pusher.push(x) for x in templates]
    for push in pushes:
        assert (await h.client.post("/wechat/callback", params=push.params, content=push.body)).status_code == 200
    await h.idle()
    crypto = h.pusher.crypto
    assert crypto is not None
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for n in range(10_000):
        push = pushes[n % len(pushes)]
        params = dict(push.params)
        if n % 4 == 3:
            inner = _mutate(rng, inner_templates[n % len(templates)].encode()).decode("utf-8", "replace")
            env = xmltodict.parse(crypto.encrypt_message(inner, params["nonce"], params["timestamp"]))["xml"]
            params["msg_signature"] = env["MsgSignature"]
            body = f"<xml><Encrypt><![CDATA[{env['Encrypt']}]]></Encrypt></xml>".encode()
        else:
            body = _mutate(rng, push.body)
            if n % 4 == 2:
                params["encrypt_type"] = rng.choice(["aes", "raw", "", "AES", "x" * 300])
        response = await h.client.post("/wechat/callback", params=params, content=body)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (n, body[:200])
    elapsed = time.monotonic() - started
    await h.idle()
    print(f"10,000 mutated bodies in {elapsed:.1f} s: {sorted(statuses.items())}")
    async with h.sessions() as session:
        mine = list(
            await session.scalars(
                select(Message.external_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Resident, Resident.id == Conversation.resident_id)
                .where(Message.direction == "in", Resident.channel_user_id == OPENID)
            )
        )
    assert sorted(mine) == sorted(["msg:4711", "msg:4712", f"evt:{OPENID}:1700000000"])
    assert elapsed < 60


# ---- the API client: tokens ---------------------------------------------------------------------------------


async def test_expired_token_is_refreshed_and_the_call_retried_once(api: WeChatStandIn) -> None:
    from sharedcourt.clients.wechat import WeChatAPI

    client = WeChatAPI(APPID, SECRET, api.base_url)
    await client.send_text(OPENID, "一")
    api.expire_tokens()
    await client.send_text(OPENID, "二")
    assert len(api.calls("token")) == 2
    answers = [c.body["_answer"]["errcode"] for c in api.calls("message/custom/send")]
    assert answers == [0, 42001, 0]
    assert api.sent_texts(OPENID) == ["一", "二"]


async def test_one_refresher_at_a_time_across_clients_sharing_a_store(api: WeChatStandIn) -> None:
    import threading

    from wechatpy.session.memorystorage import MemoryStorage

    from sharedcourt.clients.wechat import WeChatAPI

    api.delay["token"] = 0.2  # a slow token endpoint widens the race
    storage, lock = MemoryStorage(), threading.Lock()  # stand-ins for Redis storage and the Redis lock
    clients = [WeChatAPI(APPID, SECRET, api.base_url, storage=storage, lock=lock) for _ in range(3)]
    await asyncio.gather(*(c.send_text(OPENID, f"m{n}") for n, c in enumerate(clients * 3)))
    assert len(api.calls("token")) == 1
    api.expire_tokens()
    await asyncio.gather(*(c.send_text(OPENID, f"r{n}") for n, c in enumerate(clients * 2)))
    # Every caller saw 42001; only the first refresher fetched, the others used the token it stored.
    assert len(api.calls("token")) == 2
    assert len(api.sent_texts(OPENID)) == 15


async def test_menu_is_created_through_the_api(api: WeChatStandIn) -> None:
    from sharedcourt.channels.wechat import menu
    from sharedcourt.clients.wechat import WeChatAPI

    await WeChatAPI(APPID, SECRET, api.base_url).create_menu(menu("https://court.example"))
    assert api.menu is not None
    names = [b["name"] for b in api.menu["button"]]
    assert names == ["我要调解", "我的案件", "更多服务"]
    keys = {s.get("key") for b in api.menu["button"] for s in [b, *b.get("sub_button", [])]}
    assert {"MEDIATION", "MY_CASE", "FIND_SITE", "LEGAL_EDUCATION", "HUMAN"} <= keys


async def test_customer_service_failures_are_retried_not_repeated(h: Harness) -> None:
    h.app.state.outbox.base_delay = 0.05
    await h.reply_text(h.pusher.text(OPENID, "你好"))
    async with h.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    assert conversation_id is not None
    h.api.fail_next("message/custom/send", -1, times=2)  # "system busy": surely not delivered
    await h.app.state.router.send(conversation_id, [Reply("调解员回复")], author="staff:1")
    await h.until(lambda: _sent(h, 1))
    assert h.api.sent_texts(OPENID) == ["调解员回复"]
    assert [c.body["_answer"]["errcode"] for c in h.api.calls("message/custom/send")] == [-1, -1, 0]


def test_wechat_menu_command(
    api: WeChatStandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sharedcourt.cli import main as cli

    for key, value in {"WECHAT_APPID": APPID, "WECHAT_SECRET": SECRET, "WECHAT_API_BASE": api.base_url}.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["wechat-menu"]) == 0
    assert '"errcode": 0' in capsys.readouterr().out
    assert api.menu is not None and api.menu["button"][0]["key"] == "MEDIATION"
    api.fail_next("menu/create", 40016)
    assert cli.main(["wechat-menu"]) == 2
    assert "40016" in capsys.readouterr().err


async def test_rasa_outage_holds_passively_then_answers_through_the_outbox(h: Harness) -> None:
    from sharedcourt.messaging.router import HOLDING_REPLY

    h.rasa.up = False
    assert await h.reply_text(h.pusher.text(OPENID, "我要调解")) == HOLDING_REPLY
    assert await h.reply_text(h.pusher.event(OPENID, "CLICK", key="HUMAN")) == HOLDING_REPLY
    h.rasa.up = True
    assert await h.app.state.router.drain() == 2
    # The click waited as its menu name, never as resident-typed command text.
    assert [b["message"] for b in h.rasa.received] == ["我要调解", "人工服务"]
    await h.until(lambda: _sent(h, 2))
    assert h.api.sent_texts(OPENID)[0].startswith("您好")


async def test_passive_reply_latency(h: Harness) -> None:
    """End-to-end time of a safe-mode push whose answer is ready at once (decrypt, store, turn, encrypt)."""
    seconds = []
    for n in range(30):
        started = time.monotonic()
        assert await h.reply_text(h.pusher.text(OPENID, f"第{n}条")) is not None
        seconds.append(time.monotonic() - started)
    seconds.sort()
    p50, p95 = seconds[len(seconds) // 2], seconds[int(len(seconds) * 0.95)]
    print(f"passive reply: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    assert p95 < h.app.state.wechat.budget  # within the passive-reply budget even on a loaded machine


async def test_links_videos_and_files_are_acknowledged_and_kept(h: Harness) -> None:
    h.api.add_media("VIDEO_1", b"\x00\x00\x00\x18ftypmp42" + b"v" * 100, "video/mp4")
    link = h.pusher._xml(
        OPENID,
        "link",
        {"Title": "物业通知", "Description": "停水", "Url": "https://example.com/n", "MsgId": next_msg_id()},
    )
    video = h.pusher._xml(OPENID, "video", {"MediaId": "VIDEO_1", "ThumbMediaId": "T1", "MsgId": next_msg_id()})
    file = h.pusher._xml(OPENID, "file", {"Title": "合同.pdf", "FileKey": "k", "FileMd5": "m", "MsgId": next_msg_id()})
    for xml, noun in ((link, "链接"), (video, "视频"), (file, "文件")):
        answer = await h.reply_text(xml)
        assert answer is not None and noun in answer and "证据" in answer
    await h.idle()
    async with h.sessions() as session:
        rows = list(await session.scalars(select(Evidence).order_by(Evidence.id)))
    assert [e.kind for e in rows] == ["link", "video", "file"]
    assert rows[0].url == "https://example.com/n"
    assert rows[1].sha256 is not None and rows[1].path is not None and rows[1].path.endswith(".mp4")
    assert h.rasa.received == []


async def test_a_new_users_concurrent_messages_are_all_taken(h: Harness) -> None:
    openid = "oNewUserConcurrent0000000001"
    pushes = [h.pusher.push(h.pusher.text(openid, f"消息{n}")) for n in range(5)]
    responses = await asyncio.gather(
        *(h.client.post("/wechat/callback", params=p.params, content=p.body) for p in pushes)
    )
    assert [r.status_code for r in responses] == [200] * 5
    assert await h.count(Message, Message.direction == "in") == 5
    assert await h.count(Resident) == 1


def test_a_malformed_aes_key_is_a_config_error(api: WeChatStandIn) -> None:
    from sharedcourt.channels.wechat import WeChatChannel
    from sharedcourt.clients.wechat import WeChatAPI
    from sharedcourt.errors import ConfigError
    from sharedcourt.messaging.outbox import Outbox

    settings = wechat_settings("sqlite:///unused.db", api.base_url, WECHAT_AES_KEY="too-short")
    router = Router(None, None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="WECHAT_AES_KEY"):
        WeChatChannel(settings, router, Outbox(None), WeChatAPI(APPID, SECRET, api.base_url))  # type: ignore[arg-type]
