"""WeChat's customer-service quota, counted in `wechat_quota`: what a resident's push opens, what a send uses.

A message from the resident opens 5 messages for 48 hours; a click, follow or scan opens 3 for a minute.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import utcnow
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.wechat import WeChatQuota

MESSAGE_WINDOW = dt.timedelta(hours=48)
MESSAGE_QUOTA = 5
EVENT_WINDOW = dt.timedelta(minutes=1)
EVENT_QUOTA = 3


async def grant_quota(sessions: async_sessionmaker[AsyncSession], openid: str, kind: str) -> None:
    """A user message opens 5 messages for 48 h; a click/follow/scan opens 3 for a minute (unless a message
    window with room is open)."""
    try:
        await _grant_quota(sessions, openid, kind)
    except IntegrityError:  # a concurrent first grant for this user inserted the row: update it instead
        await _grant_quota(sessions, openid, kind)


async def _grant_quota(sessions: async_sessionmaker[AsyncSession], openid: str, kind: str) -> None:
    now = utcnow()
    async with unit_of_work(sessions) as session:
        row = await session.get(WeChatQuota, openid, with_for_update=True)
        if kind == "event" and row is not None and row.window_end > now and row.used < row.quota:
            return
        length, quota = (MESSAGE_WINDOW, MESSAGE_QUOTA) if kind == "message" else (EVENT_WINDOW, EVENT_QUOTA)
        if row is None:
            session.add(
                WeChatQuota(
                    openid=openid, window_kind=kind, window_start=now, window_end=now + length, quota=quota, used=0
                )
            )
        else:
            row.window_kind, row.window_start, row.window_end, row.quota, row.used = kind, now, now + length, quota, 0


async def take_quota(sessions: async_sessionmaker[AsyncSession], openid: str) -> bool:
    """Reserve one customer-service message for this user; False when none is left."""
    async with unit_of_work(sessions) as session:
        result = await session.execute(
            update(WeChatQuota)
            .where(
                WeChatQuota.openid == openid, WeChatQuota.used < WeChatQuota.quota, WeChatQuota.window_end > utcnow()
            )
            .values(used=WeChatQuota.used + 1)
            .returning(WeChatQuota.openid)
        )
        # The row RETURNING gives back is the reservation; SQLite's count of matched rows was seen to lie.
        return result.scalar_one_or_none() is not None


async def give_back_quota(sessions: async_sessionmaker[AsyncSession], openid: str) -> None:
    """A reserved message that surely did not reach WeChat returns to the quota."""
    async with unit_of_work(sessions) as session:
        await session.execute(
            update(WeChatQuota)
            .where(WeChatQuota.openid == openid, WeChatQuota.used > 0)
            .values(used=WeChatQuota.used - 1)
        )


async def exhaust_quota(sessions: async_sessionmaker[AsyncSession], openid: str) -> None:
    """WeChat said the window is closed or full: believe it over our count."""
    async with unit_of_work(sessions) as session:
        await session.execute(update(WeChatQuota).where(WeChatQuota.openid == openid).values(used=WeChatQuota.quota))
