"""Every WeChat notice leads back to the conversation: the template's `url` (a subscription notice's `page`) is
WECHAT_NOTICE_URL, else web chat under PUBLIC_URL; WeChat's stand-in refuses a notice without one, and plain http
when PUBLIC_URL is https."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_harness import APPID, OPENID, SECRET, SUBSCRIBE_IDS, TEMPLATE_IDS, Harness, harness
from stand_ins.wechat_server import WeChatStandIn
from stand_ins.wechat_templates import link_problem, template_problem

from sharedcourt.db.outbox import OutboxItem
from sharedcourt.domain.clock import TZ
from sharedcourt.errors import ConfigError
from sharedcourt.messaging.notices import iso, notice_payload
from sharedcourt.settings import Settings

WHEN = dt.datetime(2026, 12, 2, 8, 30, tzinfo=TZ)
BODY = {"touser": "o", "template_id": "T", "data": {"thing1": {"value": "调解预约成功"}}}


@pytest.fixture
def api() -> Iterator[WeChatStandIn]:
    with WeChatStandIn(appid=APPID, secret=SECRET) as stand_in:
        yield stand_in


def test_the_stand_in_refuses_a_notice_without_a_good_link() -> None:
    templates = {"T": ["thing1"]}
    assert template_problem({**BODY, "url": "https://court.example.cn/"}, templates, https_only=True) is None
    assert template_problem(BODY, templates) == (47001, "data format error hint: url no link back to the conversation")
    for bad in ("court.example.cn/", "javascript:alert(1)", "https:///x", "https://a b.cn/"):
        assert link_problem(bad, https_only=False), bad
    refused = template_problem({**BODY, "url": "http://court.example.cn/"}, templates, https_only=True)
    assert refused is not None and "not https" in refused[1]


def test_the_setting_is_checked_as_a_url() -> None:
    assert Settings.from_env({"WECHAT_NOTICE_URL": "https://mp.weixin.qq.com/s/abc"}).wechat_notice_url
    with pytest.raises(ConfigError, match="WECHAT_NOTICE_URL"):
        Settings.from_env({"WECHAT_NOTICE_URL": "mp.weixin.qq.com/s/abc"})


async def notice(h: Harness, purpose: str = "booking_confirmed") -> None:
    """A notice queued for the resident who wrote once, then sent by the app's outbox loop."""
    assert await h.reply_text(h.pusher.text(OPENID, "你好")) is not None
    values = {"title": "调解预约成功", "when": iso(WHEN), "site_name": "测试村共享法庭", "address": "村委二楼",
              "case_number": "XH2026-0001", "status": "待出席", "reason": "调解预约成功"}  # fmt: skip
    await h.app.state.outbox.add("wechat", OPENID, notice_payload(purpose, values, "您的调解预约成功。"))

    async def done() -> bool:
        return await h.count(OutboxItem, OutboxItem.status.in_(("queued", "sending"))) == 0

    await h.until(done)


@pytest.mark.parametrize(
    ("extra", "link"),
    [
        ({"PUBLIC_URL": "https://court.example.cn/fd"}, "https://court.example.cn/fd/"),
        ({"PUBLIC_URL": "https://court.example.cn", "WECHAT_NOTICE_URL": "https://mp.weixin.qq.com/s/abc"},
         "https://mp.weixin.qq.com/s/abc"),
    ],
)  # fmt: skip
async def test_a_template_notice_links_back(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    api: WeChatStandIn,
    tmp_path: Any,
    extra: dict[str, str],
    link: str,
) -> None:
    async with harness(sessions, database_url, api, tmp_path, **extra) as h:
        assert h.api.https_only
        await notice(h)
        (sent,) = h.api.sent_templates(OPENID)
        assert sent["template_id"] == TEMPLATE_IDS["booking_confirmed"] and sent["url"] == link


async def test_a_subscription_notice_links_back(
    sessions: async_sessionmaker[AsyncSession], database_url: str, api: WeChatStandIn, tmp_path: Any
) -> None:
    async with harness(sessions, database_url, api, tmp_path, PUBLIC_URL="https://court.example.cn") as h:
        await h.accept_subscription(OPENID, SUBSCRIBE_IDS["reminder"])
        await notice(h, "reminder")
        (sent,) = h.api.sent_subscriptions(OPENID)
        assert sent["page"] == "https://court.example.cn/"
