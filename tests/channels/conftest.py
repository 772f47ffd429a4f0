"""The DingTalk API stand-in the channel tests send to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stand_ins.dingtalk_server import DingTalkStandIn


@pytest.fixture
def standin() -> Iterator[DingTalkStandIn]:
    """DingTalk's API (token, robot, cards) on a local port for one test."""
    with DingTalkStandIn() as server:
        yield server
