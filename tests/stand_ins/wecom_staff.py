"""Staff on WeCom for tests: the app's WeCom settings against the API stand-in, console accounts carrying a WeCom
id (linked to the roster through their DingTalk id), and a member's message through the real callback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import update

from sharedcourt.db.staff import StaffAccount
from stand_ins.console_accounts import add_account
from stand_ins.wechat_server import WeChatStandIn
from stand_ins.wecom_push import WeComPusher
from stand_ins.workspace_world import WorkspaceWorld, workspace_world

TOKEN = "wecom-staff-token"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP = "ww0123456789abcdef"
SECRET = "wecom-app-secret"
AGENT = "1000002"


def wecom_env(api: WeChatStandIn, **extra: str) -> dict[str, str]:
    """WECOM_* settings: the callback's token, key and CorpId, and the app that sends through the stand-in."""
    return {
        "WECOM_TOKEN": TOKEN,
        "WECOM_AES_KEY": KEY,
        "WECOM_CORP_ID": CORP,
        "WECOM_SECRET": SECRET,
        "WECOM_AGENT_ID": AGENT,
        "WECOM_API_BASE": api.base_url,
        **extra,
    }


@contextlib.asynccontextmanager
async def wecom_world(database_url: str, **extra: str) -> AsyncIterator[tuple[WorkspaceWorld, WeChatStandIn]]:
    """The workspace world with WeCom as a staff channel, sending through the WeCom API stand-in."""
    with WeChatStandIn(appid=CORP, secret=SECRET) as api:
        async with workspace_world(database_url, **wecom_env(api, **extra)) as world:
            yield world, api


def pusher() -> WeComPusher:
    """WeCom pushing for the app the settings describe."""
    return WeComPusher(TOKEN, KEY, CORP, AGENT)


async def wecom_account(
    sessions: Any,
    username: str,
    *,
    wecom: str,
    dingtalk: str | None,
    role: str | None = "mediator",
    active: bool = True,
) -> int:
    """A console account with a WeCom id (and a DingTalk id that puts it on the sample roster)."""
    account_id = await add_account(sessions, username, role, "GX330802009", active=active)
    async with sessions() as session, session.begin():
        await session.execute(
            update(StaffAccount)
            .where(StaffAccount.id == account_id)
            .values(wecom_user_id=wecom, dingtalk_user_id=dingtalk)
        )
    return account_id


async def post(client: httpx.AsyncClient, wecom: WeComPusher, xml: str) -> httpx.Response:
    """One push through `/wecom/callback`."""
    push = wecom.push(xml)
    return await client.post("/wecom/callback", params=push.params, content=push.body)


async def say(client: httpx.AsyncClient, wecom: WeComPusher, user: str, text: str) -> str:
    """A member's text message; the decrypted passive reply's Content ('' for `success`)."""
    response = await post(client, wecom, wecom.text(user, text))
    assert response.status_code == 200, response.text
    reply = wecom.open_reply(response.content)
    return "" if reply is None else str(reply["Content"])
