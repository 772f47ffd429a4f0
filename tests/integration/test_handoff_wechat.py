"""The handoff journey from WeChat: a resident in safe mode, a mediator in DingTalk (both stand-ins).

The `system` fixture's app is restarted with WECHAT_* and DINGTALK_* pointing at the stand-ins (and a roster
on duty round the clock), then restored, so one app serves both sides as in production.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stand_ins.dingtalk_server import DingTalkStandIn
from stand_ins.rosters import always_on_duty
from stand_ins.wechat_push import WeChatPusher
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.settings import Settings

from .conftest import System
from .test_handoff_journey import _restart_app
from .test_wechat_journey import AES_KEY, APPID, SECRET, TOKEN, WeChatSystem

pytestmark = pytest.mark.integration


@dataclasses.dataclass
class Both:
    wechat: WeChatSystem
    dingtalk: DingTalkStandIn
    app_url: str

    def resident_sees(self, openid: str, contains: str, before: int, timeout: float = 20) -> str:
        """A customer-service message (or passive reply) holding `contains`, sent after `before` messages."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in self.wechat.api.sent_texts(openid)[before:]:
                if contains in text:
                    return text
            time.sleep(0.1)
        raise AssertionError(f"{openid} never got {contains!r}: {self.wechat.api.sent_texts(openid)[before:]}")

    def staff(self, staff_id: str, text: str) -> None:
        response = self.dingtalk.say(self.app_url, staff_id, text)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def both(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    original = system.stack.settings
    roster = always_on_duty(tmp_path_factory.mktemp("roster"))
    with WeChatStandIn(appid=APPID, secret=SECRET) as api, DingTalkStandIn() as dingtalk:
        env: dict[str, Any] = {
            **original.extra,
            **dingtalk.settings(),
            "DATABASE_URL": original.database_url,
            "PORT": str(original.port),
            "RASA_URL": original.rasa_url,
            "RASA_TOKEN": original.rasa_token,
            "ACTION_SERVER_URL": original.action_server_url,
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APPID": APPID,
            "WECHAT_SECRET": SECRET,
            "WECHAT_AES_KEY": AES_KEY,
            "WECHAT_API_BASE": api.base_url,
            "EVIDENCE_DIR": str(tmp_path_factory.mktemp("evidence")),
            "OUTBOX_INTERVAL": "0.2",
            "HANDOFF_TICK_SECONDS": "1",
            "HANDOFF_ROSTER": str(roster),
        }
        settings = Settings.from_env(env)
        _restart_app(system, settings)
        try:
            wechat = WeChatSystem(settings, api, WeChatPusher(TOKEN, APPID, AES_KEY), Path(env["EVIDENCE_DIR"]))
            yield Both(wechat, dingtalk, f"http://127.0.0.1:{settings.port}")
        finally:
            _restart_app(system, original)


def _say(both: Both, openid: str, text: str) -> str:
    """Post a text as WeChat does; return the passive reply's text, or '' when answered by `success`."""
    response, _ = both.wechat.post(both.wechat.pusher.text(openid, text))
    assert response.status_code == 200, response.text
    if response.text == "success" or not response.text:
        return ""
    reply = both.wechat.pusher.open_reply(response.content)
    assert reply is not None
    return str(reply["Content"])


def test_wechat_resident_to_dingtalk_mediator_and_back(both: Both) -> None:
    openid = f"oHandoff{uuid.uuid4().hex[:20]}"
    both.wechat.post(both.wechat.pusher.event(openid, "subscribe"))
    _say(both, openid, "邻居家装修把我家的墙震裂了，找他们赔偿一直不理")
    sent_before = len(both.wechat.api.sent_texts(openid))
    asked = _say(both, openid, "我要找调解员")
    if "已为您联系" not in asked:  # past the reply budget it comes as a customer-service message
        both.resident_sees(openid, "已为您联系", sent_before)

    # The mediator on duty gets the card in DingTalk and accepts; the resident is told over WeChat.
    card = both.dingtalk.wait_for(None, "居民请求人工服务", timeout=20)
    person = card.users[0]
    assert "墙震裂" in card.text
    sent_before = len(both.wechat.api.sent_texts(openid))
    both.staff(person, card.buttons()["接单"])
    both.resident_sees(openid, "已接单", sent_before)

    # The mediator's reply reaches the resident through the customer-service API.
    both.staff(person, "您好，我是调解员，请问墙上的裂缝有多长？")
    assert "裂缝有多长" in both.resident_sees(openid, "裂缝有多长", sent_before)

    # The resident's next message goes to the mediator, not the bot (no passive answer from Rasa).
    assert _say(both, openid, "裂缝大概一米长，有照片") == ""
    assert "一米长" in both.dingtalk.wait_for(person, "一米长", timeout=20).text

    # Hand-back: the resident is asked for a rating over WeChat.
    sent_before = len(both.wechat.api.sent_texts(openid))
    both.staff(person, "交还")
    both.resident_sees(openid, "打分", sent_before)
