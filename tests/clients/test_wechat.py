"""The WeChat API client against a real Redis: one token refresher across processes' clients."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.clients.wechat import WeChatAPI

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET = "test-app-secret"
OPENID = "oUser0000000000000000000001"


@pytest.fixture
def redis_url() -> Iterator[str]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    yield REDIS_URL


async def test_clients_sharing_redis_fetch_one_token_and_refresh_once(redis_url: str) -> None:
    appid = f"wx{uuid.uuid4().hex[:16]}"  # a fresh key space: nothing from earlier runs is reused
    with WeChatStandIn(appid=appid, secret=SECRET) as api:
        api.delay["token"] = 0.2  # a slow token endpoint widens the race
        # Separate clients, as in separate processes: they share only Redis (store and lock).
        clients = [WeChatAPI(appid, SECRET, api.base_url, redis_url=redis_url) for _ in range(3)]
        await asyncio.gather(*(c.send_text(OPENID, f"m{n}") for n, c in enumerate(clients * 3)))
        assert len(api.calls("token")) == 1
        stored = redis.Redis.from_url(redis_url).get(f"wechatpy:{appid}_access_token")
        assert stored is not None
        api.expire_tokens()
        await asyncio.gather(*(c.send_text(OPENID, f"r{n}") for n, c in enumerate(clients * 2)))
        assert len(api.calls("token")) == 2
        assert len(api.sent_texts(OPENID)) == 15
