"""After a booking is confirmed on WeChat: offer reminders by subscription notice (订阅通知), with a link to the
page where WeChat's pop-up asks the resident (sharedcourt.channels.wechat.subscribe); WeChat then pushes the choice
and the channel records it as consent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.booking import Booking
from sharedcourt.db.conversation import Conversation
from sharedcourt.messaging import subscribe_link
from sharedcourt.messaging.notices import PURPOSES
from sharedcourt.messaging.replies import Reply

OFFER = "想在微信里收到开庭提醒吗？请在微信中打开下面的链接，点“订阅提醒”即可（每次同意可收到一条提醒）：\n{url}"


def template_ids(settings: Any) -> list[str]:
    """The configured subscription notice template ids, in purpose order, without repeats."""
    ids = [str(getattr(settings, f"wechat_subscribe_{p}", "") or "").strip() for p in PURPOSES]
    return list(dict.fromkeys(i for i in ids if i))


async def offer(
    sessions: async_sessionmaker[AsyncSession], settings: Any, booking_id: int, now: dt.datetime
) -> Reply | None:
    """The offer for a WeChat resident's confirmed booking; None on other channels or with no template."""
    if not template_ids(settings) or not settings.link_secret:
        return None
    async with sessions() as session:
        booking = await session.get(Booking, booking_id)
        conversation = await session.get(Conversation, booking.conversation_id) if booking is not None else None
    if conversation is None or conversation.channel != "wechat":
        return None
    link = subscribe_link.url(settings.public_url, settings.link_secret, conversation.resident_id, now)
    return Reply(OFFER.format(url=link))
