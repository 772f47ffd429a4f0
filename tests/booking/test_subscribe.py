"""The offer after a booking is confirmed: on WeChat, a link to the subscription page for that resident (never the
openid); on web chat, or with no subscription template or no LINK_SECRET, nothing."""

from __future__ import annotations

from booking.test_reminders import booked
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking import subscribe
from sharedcourt.db.base import utcnow
from sharedcourt.db.booking import Booking
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.messaging import subscribe_link
from sharedcourt.settings import Settings

SETTINGS = Settings(
    link_secret="offer-secret", public_url="https://court.example.cn", wechat_subscribe_reminder="SUB-R"
)


async def test_a_wechat_booking_gets_a_link_bound_to_its_resident(sessions: async_sessionmaker[AsyncSession]) -> None:
    booking_id, _case = await booked(sessions, "wechat")
    now = utcnow()
    reply = await subscribe.offer(sessions, SETTINGS, booking_id, now)
    assert reply is not None and "订阅提醒" in reply.text
    link = reply.text.split("\n")[-1]
    assert link.startswith("https://court.example.cn/wechat/subscribe?t=")
    async with sessions() as session:
        booking = await session.get_one(Booking, booking_id)
        conversation = await session.get_one(Conversation, booking.conversation_id)
        resident = await session.get_one(Resident, conversation.resident_id)
    assert resident.channel_user_id not in link
    token = link.partition("?t=")[2]
    assert subscribe_link.verify("offer-secret", token, now) == resident.id


async def test_no_offer_off_wechat_or_unconfigured(sessions: async_sessionmaker[AsyncSession]) -> None:
    web_booking, _ = await booked(sessions, "webchat")
    assert await subscribe.offer(sessions, SETTINGS, web_booking, utcnow()) is None
    wechat_booking, _ = await booked(sessions, "wechat")
    unconfigured = Settings(link_secret="offer-secret")
    assert await subscribe.offer(sessions, unconfigured, wechat_booking, utcnow()) is None
    same = Settings(wechat_subscribe_reminder="A", wechat_subscribe_booking_changed="A")
    assert subscribe.template_ids(same) == ["A"]
