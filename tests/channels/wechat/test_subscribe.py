"""The subscription page (/wechat/subscribe): a good token gets WeChat's open tag with a wx.config signature that
WeChat's own algorithm reproduces; a forged, expired or missing token gets a 403 page in Chinese."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_harness import APPID, OPENID, SECRET, SUBSCRIBE_IDS, Harness, harness
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Resident
from sharedcourt.messaging import subscribe_link

LINK_SECRET = "test-link-secret-for-subscribe"
PUBLIC_URL = "https://court.example.cn"


@pytest.fixture
def api() -> Iterator[WeChatStandIn]:
    with WeChatStandIn(appid=APPID, secret=SECRET) as stand_in:
        yield stand_in


@pytest.fixture
async def h(
    sessions: async_sessionmaker[AsyncSession], database_url: str, api: WeChatStandIn, tmp_path: Any
) -> AsyncIterator[Harness]:
    async with harness(sessions, database_url, api, tmp_path, LINK_SECRET=LINK_SECRET, PUBLIC_URL=PUBLIC_URL) as ready:
        yield ready


async def resident_id(h: Harness) -> int:
    """The resident who wrote once through the callback."""
    assert await h.reply_text(h.pusher.text(OPENID, "你好")) is not None
    async with h.sessions() as session:
        found = await session.scalar(select(Resident.id).where(Resident.channel_user_id == OPENID))
    assert found is not None
    return found


def config_of(page: str) -> dict[str, str]:
    found = {k: re.search(rf'{k}: "?([^",]+)"?', page) for k in ("appId", "timestamp", "nonceStr", "signature")}
    assert all(found.values()), page
    return {k: m.group(1) for k, m in found.items() if m}


async def test_a_good_token_renders_the_open_tag_with_a_valid_signature(h: Harness) -> None:
    link = subscribe_link.url(PUBLIC_URL, LINK_SECRET, await resident_id(h), utcnow())
    assert OPENID not in link
    response = await h.client.get(link.removeprefix(PUBLIC_URL))
    assert response.status_code == 200, response.text
    page = response.text
    assert f'<wx-open-subscribe template="{SUBSCRIBE_IDS["reminder"]},{SUBSCRIBE_IDS["booking_changed"]}"' in page
    assert 'openTagList: ["wx-open-subscribe"]' in page and "请在微信中打开本页面" in page
    assert OPENID not in page
    config = config_of(page)
    assert config["appId"] == APPID
    # WeChat's algorithm: sha1 of the four fields sorted by name, joined as a query string (JS-SDK appendix 1).
    ticket, nonce, stamp = h.api.jsapi_ticket, config["nonceStr"], config["timestamp"]
    signed = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={stamp}&url={link}"
    assert config["signature"] == hashlib.sha1(signed.encode()).hexdigest()
    assert [c.query.get("type") for c in h.api.calls("ticket/getticket")] == ["jsapi"]


async def test_bad_or_expired_tokens_get_a_403_page_in_chinese(h: Harness) -> None:
    rid = await resident_id(h)
    good = subscribe_link.token(LINK_SECRET, rid, utcnow())
    expired = subscribe_link.token(LINK_SECRET, rid, utcnow() - dt.timedelta(hours=subscribe_link.HOURS + 1))
    other_secret = subscribe_link.token("another-secret", rid, utcnow())
    other_resident = good.replace(f"{rid}.", f"{rid + 1}.", 1)
    for token in (expired, other_secret, other_resident, good[:-1] + ("0" if good[-1] != "0" else "1"), "", "x.y.z"):
        response = await h.client.get(subscribe_link.PATH, params={"t": token})
        assert response.status_code == 403, token
        assert "链接无效或已过期" in response.text and "<html lang='zh-CN'>" in response.text
    assert h.api.calls("ticket/getticket") == [], "a refused token never reached WeChat"
