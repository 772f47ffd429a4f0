"""Every template refusal WeChat returns ends in a clear outcome, against WeChat's stand-in: a fallback where one can
reach the resident, a retry where waiting helps, a recorded failure where nothing can."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_harness import APPID, SECRET
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.channels.wechat.notify import NoticeDelivery
from sharedcourt.channels.wechat.quota import grant_quota
from sharedcourt.channels.wechat.templates import Layout
from sharedcourt.clients.wechat import WeChatAPI
from sharedcourt.messaging.notices import notice_payload
from sharedcourt.messaging.outbox import Item

LAYOUT = Layout("reminder", "TPL", (("thing1", "title"), ("time2", "when")))
VALUES = {"title": "明天有调解，请按时到场", "when": "2026-12-02T00:30:00+00:00"}


def item(openid: str) -> Item:
    payload = notice_payload("reminder", VALUES, "温馨提醒：明天上午调解")
    return Item(1, "wechat", openid, payload, None, False, 1)


@pytest.fixture
def api() -> WeChatStandIn:
    with WeChatStandIn(appid=APPID, secret=SECRET) as stand_in:
        stand_in.add_template("TPL", ["thing1", "time2"])
        yield stand_in


def delivery(sessions: async_sessionmaker[AsyncSession], api: WeChatStandIn) -> NoticeDelivery:
    return NoticeDelivery(sessions, WeChatAPI(APPID, SECRET, api.base_url), {"reminder": LAYOUT}, "https://x.test")


@pytest.mark.parametrize(
    ("errcode", "status", "words"),
    [
        (43101, "failed", "refused"),
        (40037, "failed", "template id not on the account"),
        (47003, "failed", "template data refused"),
        (43004, "failed", "unfollowed"),
        (40003, "failed", "unknown openid"),
        (45009, "retry", "45009"),
        (-1, "retry", "-1"),
    ],
)
async def test_each_refusal_without_a_window(
    sessions: async_sessionmaker[AsyncSession], api: WeChatStandIn, caplog: pytest.LogCaptureFixture,
    errcode: int, status: str, words: str,
) -> None:  # fmt: skip
    api.fail_next("message/template/send", errcode, times=2)  # wechatpy may retry a busy answer once itself
    with caplog.at_level(logging.WARNING, logger="sharedcourt.channels.wechat.notify"):
        result = await delivery(sessions, api).send(item(f"o-none-{errcode}"))
    assert result.status == status and words in result.detail and str(errcode) in result.detail
    if status == "failed":
        assert "undelivered" in caplog.text or "unreachable" in caplog.text or str(errcode) in caplog.text
    assert api.sent_texts() == []


@pytest.mark.parametrize("errcode", [43101, 40037, 47003])
async def test_each_refusal_inside_the_window_goes_as_text(
    sessions: async_sessionmaker[AsyncSession], api: WeChatStandIn, errcode: int
) -> None:
    openid = f"o-wrote-{errcode}"
    await grant_quota(sessions, openid, "message")
    api.fail_next("message/template/send", errcode)
    result = await delivery(sessions, api).send(item(openid))
    assert result.status == "sent" and f"WeChat {errcode}" in result.detail
    assert api.sent_texts(openid) == ["温馨提醒：明天上午调解"]


async def test_an_accepted_template_carries_no_first_or_remark(
    sessions: async_sessionmaker[AsyncSession], api: WeChatStandIn
) -> None:
    result = await delivery(sessions, api).send(item("o-ok"))
    assert result.status == "sent"
    (body,) = api.sent_templates("o-ok")
    assert body["data"] == {"thing1": {"value": "明天有调解，请按时到场"}, "time2": {"value": "2026年12月2日 08:30"}}
    assert body["url"] == "https://x.test"
