"""WeCom (企业微信) callback: published sample vectors, URL check, residents' messages, forged requests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import xmltodict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_push import sign
from wechatpy.enterprise.crypto import WeChatCrypto

from sharedcourt.app import create_app
from sharedcourt.db.conversation import Message, Resident
from sharedcourt.settings import Settings

# Sample from WeCom's developer documentation (加解密方案说明 / WXBizMsgCrypt samples for 企业微信):
# token QDG6eK, EncodingAESKey jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C, CorpID wx5823bf96d3bd56c7.
SAMPLE_TOKEN = "QDG6eK"
SAMPLE_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SAMPLE_CORP = "wx5823bf96d3bd56c7"
SAMPLE_ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvu"
    "JTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2"
    "hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4E"
    "hzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Y"
    "oyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

TOKEN = "wecom-test-token"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP = "ww0123456789abcdef"


def test_wecom_url_sample_vector() -> None:
    from sharedcourt.channels.wecom import check_params

    params = {
        "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
        "timestamp": "1409659589",
        "nonce": "263014780",
    }
    check_params(SAMPLE_TOKEN, params, SAMPLE_ECHO, now=1409659589)
    crypto = WeChatCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_CORP)
    assert (
        crypto.check_signature(params["msg_signature"], "1409659589", "263014780", SAMPLE_ECHO) == "1616140317555161061"
    )


def test_wecom_message_sample_vector() -> None:
    from sharedcourt.channels.wecom import check_params

    params = {
        "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
        "timestamp": "1409659813",
        "nonce": "1372623149",
    }
    check_params(SAMPLE_TOKEN, params, SAMPLE_ENCRYPT, now=1409659813)
    body = (
        f"<xml><ToUserName><![CDATA[{SAMPLE_CORP}]]></ToUserName><Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt>"
        "<AgentID><![CDATA[218]]></AgentID></xml>"
    )
    plain = WeChatCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_CORP).decrypt_message(
        body, params["msg_signature"], "1409659813", "1372623149"
    )
    data = xmltodict.parse(plain)["xml"]
    assert (data["FromUserName"], data["Content"], data["MsgId"]) == ("mycreate", "hello", "4561255354251345929")


class EchoRasa:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    delay = 0.0

    async def handler(self, request: httpx.Request) -> httpx.Response:
        import asyncio
        import json

        if request.url.path == "/":
            return httpx.Response(200, text="ok")
        body = json.loads(request.content)
        self.received.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": "收到"}])


@contextlib.asynccontextmanager
async def wecom_app(
    database_url: str, rasa: EchoRasa | None = None, **extra: str
) -> AsyncIterator[tuple[httpx.AsyncClient, EchoRasa]]:
    env = {
        "DATABASE_URL": database_url,
        "RASA_URL": "http://rasa.test",
        "WECOM_TOKEN": TOKEN,
        "WECOM_AES_KEY": KEY,
        "WECOM_CORP_ID": CORP,
        "RETRY_INTERVAL": "3600",
        "OUTBOX_INTERVAL": "0.05",
    }
    env.update(extra)
    settings = Settings.from_env(env)
    rasa = rasa or EchoRasa()
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa.handler))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wecom.test") as client:
            yield client, rasa


def _push(xml: str, *, corp: str = CORP, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
    ts, nonce = str(timestamp or int(time.time())), "5550123"
    sealed = xmltodict.parse(WeChatCrypto(TOKEN, KEY, corp).encrypt_message(xml, nonce, ts))["xml"]
    body = f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt>"
    body += "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    return {"msg_signature": sealed["MsgSignature"], "timestamp": ts, "nonce": nonce}, body.encode()


def _text(user: str, content: str, msg_id: int = 1234567) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


async def test_url_check_decrypts_echostr(sessions: async_sessionmaker[AsyncSession], database_url: str) -> None:
    async with wecom_app(database_url) as (client, _):
        ts, nonce = str(int(time.time())), "778899"
        encrypted = xmltodict.parse(WeChatCrypto(TOKEN, KEY, CORP).encrypt_message("echo-31415", nonce, ts))["xml"]
        params = {
            "msg_signature": sign(TOKEN, ts, nonce, encrypted["Encrypt"]),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": encrypted["Encrypt"],
        }
        response = await client.get("/wecom/callback", params=params)
        assert (response.status_code, response.text) == (200, "echo-31415")
        params["msg_signature"] = "0" * 40
        assert (await client.get("/wecom/callback", params=params)).status_code == 403


async def test_a_residents_message_goes_to_the_bot_and_is_answered_encrypted(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    async with wecom_app(database_url) as (client, rasa):
        params, body = _push(_text("zhangsan", "今天的调解安排"))
        response = await client.post("/wecom/callback", params=params, content=body)
        assert response.status_code == 200
        sealed = xmltodict.parse(response.text)["xml"]
        plain = WeChatCrypto(TOKEN, KEY, CORP).decrypt_message(
            sealed, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"]
        )
        assert xmltodict.parse(plain)["xml"]["Content"] == "收到"
        again = await client.post("/wecom/callback", params=params, content=body)
        assert again.text == "success"
    assert len(rasa.received) == 1
    async with sessions() as session:
        resident = (await session.scalars(select(Resident))).one()
        inbound = (await session.scalars(select(Message).where(Message.direction == "in"))).one()
    # Not mapped to a staff account: a resident, whom the bot serves (tests/channels/test_wecom_staff.py: staff).
    assert (resident.channel, resident.channel_user_id, resident.is_staff) == ("wecom", "zhangsan", False)
    assert inbound.author == "resident"


@pytest.mark.parametrize("case", ["wrong corp", "forged", "stale"])
async def test_forged_wecom_requests_get_403(
    sessions: async_sessionmaker[AsyncSession], database_url: str, case: str
) -> None:
    async with wecom_app(database_url) as (client, rasa):
        params, body = _push(
            _text("lisi", "x"),
            corp="ww_other_corp_000" if case == "wrong corp" else CORP,
            timestamp=int(time.time()) - 3600 if case == "stale" else None,
        )
        if case == "forged":
            params["msg_signature"] = "1" * 40
        response = await client.post("/wecom/callback", params=params, content=body)
        assert response.status_code == 403
    assert rasa.received == []
    async with sessions() as session:
        assert list(await session.scalars(select(Message))) == []


async def test_slow_staff_answer_goes_out_as_an_application_message(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    import asyncio

    from stand_ins.wechat_server import WeChatStandIn

    with WeChatStandIn(appid=CORP, secret="wecom-secret") as api:
        rasa = EchoRasa()
        rasa.delay = 0.6
        extra = {
            "WECOM_SECRET": "wecom-secret",
            "WECOM_AGENT_ID": "1000002",
            "WECOM_API_BASE": api.base_url,
            "WECHAT_REPLY_BUDGET": "0.2",
        }
        async with wecom_app(database_url, rasa, **extra) as (client, _):
            params, body = _push(_text("wangwu", "帮我查一下案件"))
            response = await client.post("/wecom/callback", params=params, content=body)
            assert response.text == "success"
            for _ in range(100):
                if api.calls("message/send"):
                    break
                await asyncio.sleep(0.05)
        sent = api.calls("message/send")
        assert len(sent) == 1
        assert (sent[0].body["touser"], sent[0].body["text"]["content"]) == ("wangwu", "收到")
