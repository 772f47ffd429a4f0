"""The security suite's stand-ins: DingTalk's and WeChat's APIs, started once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stand_ins.dingtalk_server import DingTalkStandIn
from stand_ins.secure_app import stand_ins
from stand_ins.wechat_server import WeChatStandIn


@pytest.fixture(scope="module")
def apis() -> Iterator[tuple[DingTalkStandIn, WeChatStandIn]]:
    with stand_ins() as both:
        yield both
