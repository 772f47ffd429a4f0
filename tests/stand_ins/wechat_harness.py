"""The WeChat channel under test: the app with a fake Rasa and WeChat's API stand-in, pushes sent over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from sharedcourt.app import create_app
from sharedcourt.channels.wechat.templates import layouts, subscription_layouts
from sharedcourt.messaging.notices import PURPOSES
from sharedcourt.settings import Settings
from stand_ins.wechat_push import WeChatPusher
from stand_ins.wechat_server import WeChatStandIn

TOKEN = "sharedcourt-test-token"
APPID = "wx0123456789abcdef"
SECRET = "test-app-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oUser0000000000000000000001"
TEMPLATE_IDS = {purpose: f"TPL-{purpose.upper()}" for purpose in PURPOSES}
SUBSCRIBE_IDS = {"reminder": "SUB-REMINDER", "booking_changed": "SUB-BOOKING-CHANGED"}


def add_templates(api: WeChatStandIn, settings: Settings) -> None:
    """The account's category templates, with the keywords the settings map (as chosen in the WeChat console)."""
    for layout in layouts(settings).values():
        api.add_template(layout.template_id, [keyword for keyword, _ in layout.fields])
    for layout in subscription_layouts(settings).values():
        api.add_subscription_template(layout.template_id, [keyword for keyword, _ in layout.fields])


class FakeRasa:
    """Rasa's REST channel: records turns (text and metadata), answers after `delay` seconds."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
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
        if request.url.path.endswith("/tracker/events"):  # the handoff pauses and resumes the bot
            self.events.extend(json.loads(request.content))
            return httpx.Response(200, json={})
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
        sender = re.search(r"<FromUserName><!\[CDATA\[(.*?)\]\]>", xml)
        if sender and "<MsgType><![CDATA[event]]>" not in xml:
            self.api.reset_quota(sender.group(1))  # a user message opens WeChat's 5 customer-service messages
        push = self.pusher.push(xml, **kwargs)
        return await self.client.post("/wechat/callback", params=push.params, content=push.body)

    async def reply_text(self, xml: str, **kwargs: Any) -> str | None:
        response = await self.post(xml, **kwargs)
        assert response.status_code == 200, response.text
        data = self.pusher.open_reply(response.content)
        return None if data is None else str(data["Content"])

    async def accept_subscription(self, openid: str, *template_ids: str, reject: tuple[str, ...] = ()) -> str | None:
        """The resident taps the pop-up (in an article, scene 2): WeChat records it and pushes the choices."""
        for template_id in template_ids:
            self.api.grant_subscription(openid, template_id)
        items = [(t, "accept") for t in template_ids] + [(t, "reject") for t in reject]
        return await self.reply_text(self.pusher.subscription_event(openid, "subscribe_msg_popup_event", items))

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
        **{f"WECHAT_TEMPLATE_{purpose.upper()}": template_id for purpose, template_id in TEMPLATE_IDS.items()},
        **{f"WECHAT_SUBSCRIBE_{purpose.upper()}": template_id for purpose, template_id in SUBSCRIBE_IDS.items()},
        "REMINDER_INTERVAL": "3600",
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
    add_templates(api, settings)
    api.https_only = settings.public_url.startswith("https://")
    rasa = FakeRasa()
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa.handler))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test", timeout=30) as client:
            pusher = WeChatPusher(TOKEN, APPID, settings.wechat_aes_key)
            yield Harness(app, client, pusher, api, rasa, sessions)
            await app.state.wechat.idle()


async def sent_at_least(h: Harness, n: int) -> bool:
    return len(h.api.sent_texts(OPENID)) >= n
