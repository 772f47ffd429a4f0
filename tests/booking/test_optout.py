"""'不用提醒了': the words stop every reminder of the resident (and '恢复提醒' brings back those still ahead), the
button on a reminder stops that booking's only, another resident's booking is never touched."""

from __future__ import annotations

import datetime as dt

from booking.test_reminders import NOW, Recorder, booked
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking.optout import (
    NOT_YOURS,
    OPTED_OUT,
    RESUMED,
    STOPPED_ALL,
    OptOut,
    booking_of,
    stop_button,
)
from sharedcourt.booking.reminders import Reminders, RouterNoticeSender
from sharedcourt.db.booking import Booking, Reminder, ReminderOptOut
from sharedcourt.db.conversation import Message
from sharedcourt.db.session import unit_of_work
from sharedcourt.domain.clock import TZ
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Router

DAY_BEFORE = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
TWO_HOURS = dt.datetime(2026, 12, 2, 6, 30, tzinfo=TZ)


async def statuses(sessions: async_sessionmaker[AsyncSession], booking_id: int) -> dict[str, tuple[str, str | None]]:
    async with sessions() as session:
        rows = await session.scalars(select(Reminder).where(Reminder.booking_id == booking_id))
        return {r.kind: (r.status, r.last_error) for r in rows}


async def conversation_of(sessions: async_sessionmaker[AsyncSession], booking_id: int) -> str:
    async with sessions() as session:
        return (await session.get_one(Booking, booking_id)).conversation_id


async def test_the_words_stop_every_reminder_and_resume_brings_them_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    booking_id, _ = await booked(sessions)
    conversation_id = await conversation_of(sessions, booking_id)
    shortcut = OptOut(sessions, clock=lambda: NOW)
    assert await shortcut(conversation_id, "我要预约") is None
    (reply,) = await shortcut(conversation_id, " 不用提醒了！") or []
    assert reply.text == STOPPED_ALL
    assert await statuses(sessions, booking_id) == {k: ("cancelled", OPTED_OUT) for k in ("day_before", "two_hours")}
    web = Recorder()
    assert await Reminders(sessions, {"webchat": web}).run_due(TWO_HOURS) == 0 and web.sent == []
    (again,) = await shortcut(conversation_id, "恢复提醒") or []
    assert again.text == RESUMED
    assert await Reminders(sessions, {"webchat": web}).run_due(TWO_HOURS) == 2
    async with sessions() as session:
        assert await session.scalar(select(ReminderOptOut)) is None


async def test_the_loop_checks_the_opt_out_before_each_send(sessions: async_sessionmaker[AsyncSession]) -> None:
    booking_id, case = await booked(sessions)
    async with unit_of_work(sessions) as session:
        session.add(ReminderOptOut(resident_id=case.resident_id))  # said while the reminder was being claimed
    web = Recorder()
    assert await Reminders(sessions, {"webchat": web}).run_due(DAY_BEFORE) == 0
    assert web.sent == []
    assert (await statuses(sessions, booking_id))["day_before"] == ("cancelled", OPTED_OUT)


async def test_the_button_stops_one_booking_and_only_the_residents_own(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    mine, _ = await booked(sessions)
    other, _ = await booked(sessions)
    conversation_id = await conversation_of(sessions, mine)
    shortcut = OptOut(sessions)
    button = stop_button(mine)
    assert booking_of(button.payload) == mine and booking_of("/stop_reminders{bad}") is None
    (reply,) = await shortcut(conversation_id, button.payload) or []
    assert "12月2日" in reply.text and "测试村共享法庭" in reply.text and "不再提醒" in reply.text
    assert {s for s, _ in (await statuses(sessions, mine)).values()} == {"cancelled"}
    (refused,) = await shortcut(conversation_id, stop_button(other).payload) or []
    assert refused.text == NOT_YOURS
    assert {s for s, _ in (await statuses(sessions, other)).values()} == {"pending"}
    async with sessions() as session:
        assert await session.scalar(select(ReminderOptOut)) is None, "one booking's button is not a global opt-out"


async def test_a_web_chat_reminder_carries_the_stop_button(sessions: async_sessionmaker[AsyncSession]) -> None:
    booking_id, _ = await booked(sessions)
    router = Router(sessions, rasa=None)  # type: ignore[arg-type]
    assert await Reminders(sessions, {"webchat": RouterNoticeSender(router)}).run_due(DAY_BEFORE) == 1
    async with sessions() as session:
        message = (await session.scalars(select(Message).where(Message.kind == "notice"))).one()
    reply = Reply.from_payload(message.text, message.payload)
    assert "不用提醒了" in reply.text
    assert [booking_of(b.payload) for b in reply.buttons] == [booking_id]
