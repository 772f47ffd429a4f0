"""The whole front door with every channel configured (stand-in secrets), for the security suite.

`secure_app(database_url)` runs the app's lifespan with a fake Rasa, DingTalk's and WeChat's API stand-ins, and
yields a `Stack`: an httpx client speaking ASGI to the app, pushers that sign like WeChat and WeCom, and helpers
that count stored rows. Every secret is a distinctive string listed in `SECRETS`, so a test can grep logs for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import xmltodict
from sqlalchemy import func, select
from starlette.applications import Starlette
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from sharedcourt.app import create_app
from sharedcourt.db.conversation import Message
from sharedcourt.settings import Settings
from stand_ins.dingtalk_server import DingTalkStandIn
from stand_ins.rosters import always_on_duty_file
from stand_ins.wechat_push import WeChatPusher
from stand_ins.wechat_server import WeChatStandIn

STAFF_TOKEN = "sec-staff-token-7f3a9c1e5b"
WECHAT_TOKEN = "sec-wechat-token-51d2"
WECHAT_APPID = "wx5ec0000000000001"
WECHAT_SECRET = "sec-wechat-appsecret-88e1"
WECHAT_AES_KEY = "SecWeChatAesKey0123456789abcdefghijklmnopqr"
WECOM_TOKEN = "sec-wecom-token-2b7"
WECOM_AES_KEY = "SecWeComAesKey0123456789abcdefghijklmnopqrs"
WECOM_CORP = "ww5ec0000000000002"
WECOM_SECRET = "sec-wecom-corpsecret-4c9d"
DINGTALK_SECRET = "sec-dingtalk-appsecret-6a0f"
DINGTALK_KEY = "ding-sec-key"
DINGTALK_ROBOT = "robot-sec"

# Every secret value the app holds: none of them may ever appear in a log line.
SECRETS: dict[str, str] = {
    "STAFF_TOKEN": STAFF_TOKEN,
    "RASA_TOKEN": "sec-rasa-token-93be61",
    "RASA_JWT_SECRET": "sec-rasa-jwt-secret-0d4471",
    "ACTION_SERVER_TOKEN": "sec-action-server-token-a8c2",
    "LINK_SECRET": "sec-link-secret-e19b07",
    "WECHAT_TOKEN": WECHAT_TOKEN,
    "WECHAT_SECRET": WECHAT_SECRET,
    "WECHAT_AES_KEY": WECHAT_AES_KEY,
    "WECOM_TOKEN": WECOM_TOKEN,
    "WECOM_SECRET": WECOM_SECRET,
    "WECOM_AES_KEY": WECOM_AES_KEY,
    "DINGTALK_APP_SECRET": DINGTALK_SECRET,
}


class FakeRasa:
    """Rasa's HTTP API: the REST channel records each turn and answers; tracker calls are accepted."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []  # the REST channel's turns: {"sender", "message", ...}
        self.requests: list[httpx.Request] = []  # every call, to check how the front door authenticates
        self.reply = "您好，请说说您遇到的问题。"
        self.delay = 0.0  # seconds before a turn is answered (a slow Rasa)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one call to Rasa."""
        self.requests.append(request)
        if request.url.path == "/webhooks/rest/webhook":
            body = json.loads(request.content)
            self.received.append(body)
            await asyncio.sleep(self.delay)
            return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": self.reply}])
        if request.url.path == "/":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        return httpx.Response(200, json={})


@dataclass
class Stack:
    """The running app and everything around it."""

    app: Starlette
    settings: Settings
    client: httpx.AsyncClient
    rasa: FakeRasa
    dingtalk: DingTalkStandIn | None
    wechat_api: WeChatStandIn | None
    wechat: WeChatPusher

    async def count(self, model: Any = Message, *where: Any) -> int:
        """Rows of `model` (messages by default) matching `where`."""
        async with self.app.state.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def staff(self) -> dict[str, str]:
        """The staff bearer header."""
        return {"Authorization": f"Bearer {STAFF_TOKEN}"}

    async def dingtalk_post(self, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        """POST a DingTalk robot callback as DingTalk sends it."""
        content = json.dumps(body, ensure_ascii=False).encode()
        return await self.client.post("/dingtalk/callback", content=content, headers=headers)


def wecom_push(xml: str, *, corp: str = WECOM_CORP, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
    """A WeCom callback push (query and encrypted body) as WeCom's servers build it."""
    ts, nonce = str(timestamp or int(time.time())), str(time.time_ns())[-9:]
    sealed = xmltodict.parse(WeComCrypto(WECOM_TOKEN, WECOM_AES_KEY, corp).encrypt_message(xml, nonce, ts))["xml"]
    body = f"<xml><ToUserName><![CDATA[{WECOM_CORP}]]></ToUserName><Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt>"
    body += "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    return {"msg_signature": sealed["MsgSignature"], "timestamp": ts, "nonce": nonce}, body.encode()


def wecom_text(user: str, content: str, msg_id: int) -> str:
    """The plaintext XML of a WeCom text message."""
    return (
        f"<xml><ToUserName><![CDATA[{WECOM_CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def secure_settings(database_url: str, dingtalk_base: str, wechat_base: str, **extra: str) -> Settings:
    """Settings with every channel configured and every secret set to a distinctive test value."""
    env = {
        "DATABASE_URL": database_url,
        "RASA_URL": "http://rasa.test",
        **SECRETS,
        "WECHAT_APPID": WECHAT_APPID,
        "WECHAT_API_BASE": wechat_base,
        "WECHAT_REPLY_BUDGET": "2",
        "WECOM_CORP_ID": WECOM_CORP,
        "WECOM_AGENT_ID": "1000002",
        "WECOM_API_BASE": wechat_base,
        "DINGTALK_APP_KEY": DINGTALK_KEY,
        "DINGTALK_ROBOT_CODE": DINGTALK_ROBOT,
        "DINGTALK_API_BASE": dingtalk_base,
        "RETRY_INTERVAL": "3600",
        "OUTBOX_INTERVAL": "3600",
        # Generous by default so the suite's many requests from one address are not throttled by accident.
        "WEBCHAT_PER_SENDER_PER_MINUTE": "1000",
        "WEBCHAT_PER_ADDRESS_PER_MINUTE": "1000",
        # Someone is on duty whatever the hour CI runs at (duty hours have their own tests with a fixed clock).
        "HANDOFF_ROSTER": always_on_duty_file(),
    }
    env.update(extra)
    return Settings.from_env(env)


# Where no stand-in listens: an app built without stand-ins fails fast if it ever calls out.
NOWHERE = "http://127.0.0.1:9"


@contextlib.asynccontextmanager
async def secure_app(
    database_url: str,
    *,
    dingtalk: DingTalkStandIn | None = None,
    wechat_api: WeChatStandIn | None = None,
    **extra: str,
) -> AsyncIterator[Stack]:
    """The running app with every channel and a client; the lifespan ends on exit.

    Pass running stand-ins (module fixtures: starting and stopping one costs half a second) when the test needs
    DingTalk or WeChat to answer; without them the app's outbound calls go nowhere.
    """
    dingtalk_base = dingtalk.base_url if dingtalk else NOWHERE
    settings = secure_settings(database_url, dingtalk_base, wechat_api.base_url if wechat_api else NOWHERE, **extra)
    rasa = FakeRasa()
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa.handler), background=False)
    async with app.router.lifespan_context(app):
        # A 500 comes back as a response (the suite asserts "never 5xx"); SECURITY_RAISE=1 raises it for a traceback.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=bool(os.environ.get("SECURITY_RAISE")))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            pusher = WeChatPusher(WECHAT_TOKEN, WECHAT_APPID, WECHAT_AES_KEY)
            yield Stack(app, settings, client, rasa, dingtalk, wechat_api, pusher)
            channel = getattr(app.state, "wechat", None)
            if channel is not None:
                await channel.idle()


@contextlib.contextmanager
def stand_ins() -> Iterator[tuple[DingTalkStandIn, WeChatStandIn]]:
    """DingTalk's and WeChat's API stand-ins with the suite's credentials."""
    with (
        DingTalkStandIn(DINGTALK_KEY, DINGTALK_SECRET, DINGTALK_ROBOT) as dingtalk,
        WeChatStandIn(appid=WECHAT_APPID, secret=WECHAT_SECRET) as wechat_api,
    ):
        yield dingtalk, wechat_api
