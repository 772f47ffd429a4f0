"""Fixtures of the WeChat channel tests: WeChat's API stand-in and the running app (`h`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_harness import APPID, SECRET, Harness, harness
from stand_ins.wechat_server import WeChatStandIn


@pytest.fixture
def api() -> Iterator[WeChatStandIn]:
    with WeChatStandIn(appid=APPID, secret=SECRET) as stand_in:
        yield stand_in


@pytest.fixture
async def h(
    sessions: async_sessionmaker[AsyncSession], database_url: str, api: WeChatStandIn, tmp_path: Any
) -> AsyncIterator[Harness]:
    async with harness(sessions, database_url, api, tmp_path) as ready:
        yield ready
