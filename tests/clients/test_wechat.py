"""The WeChat API client: token refresh and retry, one refresher at a time (in-process and across Redis)."""

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
APPID = "wx0123456789abcdef"
SECRET = "test-app-secret"
OPENID = "oUser0000000000000000000001"


@pytest.fixture
def api() -> Iterator[WeChatStandIn]:
    with WeChatStandIn(appid=APPID, secret=SECRET) as stand_in:
        yield stand_in


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
        api.customer_quota = None  # 15 texts to one user: token sharing is under test, not the per-user limit
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


async def test_expired_token_is_refreshed_and_the_call_retried_once(api: WeChatStandIn) -> None:
    from sharedcourt.clients.wechat import WeChatAPI

    client = WeChatAPI(APPID, SECRET, api.base_url)
    await client.send_text(OPENID, "一")
    api.expire_tokens()
    await client.send_text(OPENID, "二")
    assert len(api.calls("token")) == 2
    answers = [c.body["_answer"]["errcode"] for c in api.calls("message/custom/send")]
    assert answers == [0, 42001, 0]
    assert api.sent_texts(OPENID) == ["一", "二"]


async def test_one_refresher_at_a_time_across_clients_sharing_a_store(api: WeChatStandIn) -> None:
    import threading

    from wechatpy.session.memorystorage import MemoryStorage

    from sharedcourt.clients.wechat import WeChatAPI

    api.delay["token"] = 0.2  # a slow token endpoint widens the race
    api.customer_quota = None  # 15 texts to one user: token sharing is under test, not the per-user limit
    storage, lock = MemoryStorage(), threading.Lock()  # stand-ins for Redis storage and the Redis lock
    clients = [WeChatAPI(APPID, SECRET, api.base_url, storage=storage, lock=lock) for _ in range(3)]
    await asyncio.gather(*(c.send_text(OPENID, f"m{n}") for n, c in enumerate(clients * 3)))
    assert len(api.calls("token")) == 1
    api.expire_tokens()
    await asyncio.gather(*(c.send_text(OPENID, f"r{n}") for n, c in enumerate(clients * 2)))
    # Every caller saw 42001; only the first refresher fetched, the others used the token it stored.
    assert len(api.calls("token")) == 2
    assert len(api.sent_texts(OPENID)) == 15
