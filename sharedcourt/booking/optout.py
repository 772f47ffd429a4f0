"""'不用提醒了': a resident stops booking reminders, for one booking (the button on a reminder) or for good.

Answered before Rasa (a router shortcut, `OptOut`), in every channel: the typed words stop every reminder of the
resident and record a `ReminderOptOut` (the reminder loop checks it again before each send); the button on a
reminder stops that booking's only; '恢复提醒' turns them back on. Staff changes to a booking are still told.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking.views import view_of
from sharedcourt.db.base import utcnow
from sharedcourt.db.booking import Booking, Reminder, ReminderOptOut
from sharedcourt.db.conversation import Conversation
from sharedcourt.db.session import unit_of_work
from sharedcourt.messaging.replies import Button, Reply

REMINDER_KINDS = ("day_before", "two_hours")
OPTED_OUT = "resident asked for no reminders"
STOP_WORDS = ("不用提醒了", "不用提醒", "不要提醒了", "不要提醒", "别提醒了", "别再提醒了", "不需要提醒了",
              "不需要提醒", "取消提醒", "不用再提醒了", "关闭提醒")  # fmt: skip
RESUME_WORDS = ("恢复提醒", "继续提醒", "打开提醒", "需要提醒")
PAYLOAD = "/stop_reminders"
BUTTON_TITLE = "这次调解不用提醒了"
HINT = "如不需要提醒，请回复“不用提醒了”。"
STOPPED_ALL = (
    "好的，以后不再给您发送调解提醒，您的预约仍然有效；工作人员改期或取消预约时仍会通知您。"
    "如需恢复提醒，请回复“恢复提醒”。"
)
STOPPED_ONE = "好的，{when}在{site}的调解不再提醒您，预约仍然有效。以后的预约也不需要提醒，请回复“不用提醒了”。"
RESUMED = "好的，已恢复调解提醒，调解前一天和开始前两小时会提醒您。"
NOT_YOURS = "没有找到这个预约的提醒。可以回复“我的预约”查看。"
_PAYLOAD = re.compile(r"^/stop_reminders(\{.*\})$")


def _words(text: str) -> str:
    return text.strip().rstrip("。！!~～").strip()


def stop_button(booking_id: int) -> Button:
    """The button on a reminder that stops that booking's reminders."""
    return Button(BUTTON_TITLE, f'{PAYLOAD}{{"booking_id":"{booking_id}"}}')


def booking_of(payload: str) -> int | None:
    """The booking id a stop button carries; None when the text is not that button."""
    match = _PAYLOAD.match(payload.strip())
    if match is None:
        return None
    try:
        value = json.loads(match.group(1)).get("booking_id")
        return int(value)
    except (ValueError, TypeError, AttributeError):
        return None


async def _cancel_pending(session: AsyncSession, booking_ids: list[int]) -> None:
    await session.execute(
        update(Reminder)
        .where(Reminder.booking_id.in_(booking_ids), Reminder.kind.in_(REMINDER_KINDS), Reminder.status == "pending")
        .values(status="cancelled", last_error=OPTED_OUT)
        .execution_options(synchronize_session=False)
    )


async def stop_all(session: AsyncSession, resident_id: int) -> str:
    """No more reminders for the resident: recorded, and every pending one cancelled."""
    if await session.get(ReminderOptOut, resident_id) is None:
        session.add(ReminderOptOut(resident_id=resident_id))
    await _cancel_pending(
        session, list(await session.scalars(select(Booking.id).where(Booking.resident_id == resident_id)))
    )
    await session.flush()
    return STOPPED_ALL


async def stop_one(session: AsyncSession, resident_id: int, booking_id: int) -> str:
    """No more reminders for one of the resident's bookings (another resident's booking is not found)."""
    booking = await session.get(Booking, booking_id)
    if booking is None or booking.resident_id != resident_id:
        return NOT_YOURS
    await _cancel_pending(session, [booking.id])
    info = await view_of(session, booking)
    return STOPPED_ONE.format(when=info.when_zh, site=info.site_name)


async def resume(session: AsyncSession, resident_id: int, now: dt.datetime) -> str:
    """Reminders again: the opt-out removed, reminders it cancelled that are still ahead pending again."""
    await session.execute(delete(ReminderOptOut).where(ReminderOptOut.resident_id == resident_id))
    mine = select(Booking.id).where(Booking.resident_id == resident_id, Booking.status == "confirmed")
    await session.execute(
        update(Reminder)
        .where(
            Reminder.booking_id.in_(mine.scalar_subquery()),
            Reminder.status == "cancelled",
            Reminder.last_error == OPTED_OUT,
            Reminder.due_at > now,
        )
        .values(status="pending", last_error=None)
        .execution_options(synchronize_session=False)
    )
    return RESUMED


# Another feature's reminders stopped by the same typed words, in the same unit of work: the sentence to add or None.
AlsoStop = Callable[[AsyncSession, int], Awaitable[str | None]]


class OptOut:
    """The router shortcut: answers the stop and resume words and the stop button, before Rasa."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], dt.datetime] = utcnow,
        also_stop: Sequence[AlsoStop] = (),
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.also_stop = list(also_stop)

    async def __call__(self, conversation_id: str, text: str) -> list[Reply] | None:
        """The confirmation to say, or None when the text is something else."""
        words, booking_id = _words(text), booking_of(text)
        if booking_id is None and words not in STOP_WORDS and words not in RESUME_WORDS:
            return None
        async with unit_of_work(self.sessions) as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                return None
            resident_id = conversation.resident_id
            if booking_id is not None:
                said = await stop_one(session, resident_id, booking_id)
            elif words in STOP_WORDS:
                said = await stop_all(session, resident_id)
                for stop in self.also_stop:
                    said += await stop(session, resident_id) or ""
            else:
                said = await resume(session, resident_id, self.clock())
        return [Reply(said)]
