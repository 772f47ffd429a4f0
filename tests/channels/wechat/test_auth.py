"""Who may push: sample vectors, signatures, safe mode, size limits and hostile XML."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_harness import AES_KEY, OPENID, TOKEN, Harness, harness
from stand_ins.wechat_server import WeChatStandIn
from wechatpy.crypto import WeChatCrypto

from sharedcourt.channels.wechat.auth import guard_xml
from sharedcourt.db.conversation import Message
from sharedcourt.errors import BadRequest


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
    from sharedcourt.channels.wechat.auth import envelope, signature
    from sharedcourt.channels.wechat.parse import parse_push

    encrypt = envelope(body)["Encrypt"]
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
    from sharedcourt.channels.wechat.auth import check_query

    params = {"signature": "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a", "timestamp": "1409735669", "nonce": "1320562132"}
    assert check_query("spamtest", params, now=1409735669) == ("1409735669", "1320562132")


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


async def test_url_verification(h: Harness) -> None:
    good = h.pusher.url_check("hello123")
    response = await h.client.get("/wechat/callback", params=good)
    assert (response.status_code, response.text) == (200, "hello123")
    forged = {**good, "signature": "0" * 40}
    assert (await h.client.get("/wechat/callback", params=forged)).status_code == 403


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
