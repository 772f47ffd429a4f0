"""The shared replay memory: a key is refused the second time, unless it carries the same body digest (a retry)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.channels import replay
from sharedcourt.db.audit import SeenSignature
from sharedcourt.errors import AuthError

NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.timezone.utc)
KEEP = dt.timedelta(minutes=10)


async def test_a_key_without_digest_is_refused_the_second_time(sessions: async_sessionmaker[AsyncSession]) -> None:
    await replay.remember(sessions, "dingtalk", "1700000000000:sig-a", NOW, KEEP)
    with pytest.raises(AuthError):
        await replay.remember(sessions, "dingtalk", "1700000000000:sig-a", NOW, KEEP)


async def test_the_same_body_again_is_a_retry_another_body_a_replay(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, other = replay.digest(b"<xml>1</xml>"), replay.digest(b"<xml>2</xml>")
    await replay.remember(sessions, "wechat", "1700000000:nonce-b", NOW, KEEP, first)
    await replay.remember(sessions, "wechat", "1700000000:nonce-b", NOW, KEEP, first)
    with pytest.raises(AuthError):
        await replay.remember(sessions, "wechat", "1700000000:nonce-b", NOW, KEEP, other)


async def test_channels_do_not_share_keys_and_old_keys_are_forgotten(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await replay.remember(sessions, "wechat", "k-c", NOW, KEEP)
    await replay.remember(sessions, "wecom", "k-c", NOW, KEEP)
    later = NOW + KEEP + dt.timedelta(seconds=1)
    await replay.remember(sessions, "wechat", "k-d", later, KEEP)  # sweeps the channel's expired keys
    async with sessions() as session:
        kept = await session.scalars(select(SeenSignature.signature).where(SeenSignature.channel == "wechat"))
        assert sorted(kept) == ["k-d"]
        assert await session.scalar(select(func.count()).where(SeenSignature.channel == "wecom")) == 1
    await replay.remember(sessions, "wechat", "k-c", later, KEEP)  # forgotten, so accepted again
