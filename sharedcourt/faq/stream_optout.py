"""'不用提醒了' for 普法 live streams: a resident cancels the stream reminders they subscribed to.

Two paths, neither reads the resident's words in Python. The button "不用提醒了" on the subscription's confirmation
carries `/stop_pufa_reminders{"stream":"<key>"}` (typing its title or number right after chooses it, as for every
offered button) and is answered before Rasa by a router shortcut (`Unsubscribe`), like the subscription button.
Other wordings ("直播不用提醒我了") are the Rasa intent `stop_pufa_reminders`, whose action calls
`stop_for_conversation`, which cancels every pending stream reminder of the resident. A cancelled row stays (status
`cancelled`, the reason in `last_error`); subscribing to the same stream again turns it back on.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.conversation import Conversation
from sharedcourt.db.faq import PufaStreamReminder
from sharedcourt.db.session import unit_of_work
from sharedcourt.messaging.replies import Button, Reply

PAYLOAD = "/stop_pufa_reminders"
BUTTON_TITLE = "不用提醒了"
CANCELLED_BY_RESIDENT = "resident cancelled the stream reminder"
CANCELLED_ONE = "好的，《{title}》的开播提醒已取消。想再订阅，可以问我“最近有什么普法直播”。"
CANCELLED_MANY = "好的，已取消这些普法直播的开播提醒：{titles}。想再订阅，可以问我“最近有什么普法直播”。"
NONE_PENDING = "您现在没有待发送的普法直播提醒。想看直播安排，可以问我“最近有什么普法直播”。"
NOT_PENDING_ONE = "这场直播的提醒已经取消或者已经发出了。"
_PAYLOAD = re.compile(r"^/stop_pufa_reminders(\{.*\})?$")


def cancel_button(key: str) -> Button:
    """The button on a subscription's confirmation that cancels that stream's reminder."""
    return Button(BUTTON_TITLE, f'{PAYLOAD}{{"stream":"{key}"}}')


def stop_request(text: str) -> tuple[bool, str | None]:
    """(True, key) for the cancel button of one stream, (True, None) for the bare payload (every stream),
    (False, None) for anything else, a malformed payload included."""
    match = _PAYLOAD.match(text.strip())
    if match is None:
        return False, None
    if match.group(1) is None:
        return True, None
    try:
        value = json.loads(match.group(1)).get("stream")
    except (json.JSONDecodeError, AttributeError):
        return False, None
    if not isinstance(value, str) or not value.isalnum():
        return False, None
    return True, value


async def cancel(session: AsyncSession, resident_id: int, key: str | None = None) -> list[str]:
    """Cancel the resident's pending stream reminders (one stream's when `key` is given); the titles cancelled."""
    query = select(PufaStreamReminder).where(
        PufaStreamReminder.resident_id == resident_id, PufaStreamReminder.status == "pending"
    )
    if key is not None:
        query = query.where(PufaStreamReminder.stream_key == key)
    rows = list(await session.scalars(query.order_by(PufaStreamReminder.starts_at, PufaStreamReminder.id)))
    for row in rows:
        row.status, row.last_error = "cancelled", CANCELLED_BY_RESIDENT
    await session.flush()
    return [row.title for row in rows]


def said(titles: list[str], one_stream: bool = False) -> str:
    """The confirmation for the titles cancelled (or that there was nothing to cancel)."""
    if not titles:
        return NOT_PENDING_ONE if one_stream else NONE_PENDING
    if len(titles) == 1:
        return CANCELLED_ONE.format(title=titles[0])
    return CANCELLED_MANY.format(titles="、".join(f"《{t}》" for t in titles))


async def stop_with_booking_words(session: AsyncSession, resident_id: int) -> str | None:
    """The booking opt-out's typed words ("不用提醒了") cancel stream reminders too: the sentence to add, if any."""
    titles = await cancel(session, resident_id)
    return said(titles) if titles else None


async def stop_for_conversation(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str, key: str | None = None
) -> Reply:
    """Cancel the pending stream reminders of the conversation's resident and say so (the action's call)."""
    async with unit_of_work(sessions) as session:
        conversation = await session.get(Conversation, conversation_id)
        titles = await cancel(session, conversation.resident_id, key) if conversation is not None else []
    return Reply(said(titles, one_stream=key is not None))


class Unsubscribe:
    """Router shortcut: the cancel button cancels that stream's reminder for the resident of the conversation."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def __call__(self, conversation_id: str, text: str) -> list[Reply] | None:
        """The confirmation for the cancel button; None for any other text."""
        wanted, key = stop_request(text)
        if not wanted:
            return None
        return [await stop_for_conversation(self.sessions, conversation_id, key)]
