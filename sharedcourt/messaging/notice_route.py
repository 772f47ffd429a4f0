"""Where a notice for a conversation goes: channels that send notices themselves (WeChat: subscription notice,
category template, customer-service text, else recorded undelivered) get it queued in the outbox as a
channel-neutral notice (sharedcourt.messaging.notices); every other channel (web chat first) gets its text as a
message of the conversation, delivered by the router as today."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.messaging.notices import notice_payload
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.messaging.router import Router


class NoticeQueue(Protocol):
    """The outbox, as far as notices need it."""

    async def add(self, channel: str, recipient: str, payload: dict[str, Any], **kwargs: Any) -> int:
        """Queue one item for the channel's sender."""


class NoticeRoute:
    """Sends one notice to the resident of a conversation through that conversation's channel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        router: Router,
        outbox: NoticeQueue | None = None,
        channels: Iterable[str] = (),
    ) -> None:
        self.sessions = sessions
        self.router = router
        self.outbox = outbox
        self.channels = frozenset(channels) if outbox is not None else frozenset()

    async def send(
        self, conversation_id: str, purpose: str, values: dict[str, str], text: str, buttons: Sequence[Button] = ()
    ) -> None:
        """Queue the notice for a notice channel; else store and deliver its text (with `buttons`)."""
        payload = notice_payload(purpose, values, text)  # ValueError for a wrong purpose, on every channel
        async with self.sessions() as session:
            conversation = await session.get_one(Conversation, conversation_id)
            resident = await session.get_one(Resident, conversation.resident_id)
            channel, recipient = conversation.channel, resident.channel_user_id
        if channel in self.channels and self.outbox is not None:
            await self.outbox.add(channel, recipient, payload, conversation_id=conversation_id)
            return
        await self.router.send(conversation_id, [Reply(text, tuple(buttons))], author="system")


def notice_channels(settings: Any) -> tuple[str, ...]:
    """The channels whose notices go through their own sender: WeChat when the account is configured."""
    wechat = bool(getattr(settings, "wechat_token", "")) and bool(getattr(settings, "wechat_appid", ""))
    return ("wechat",) if wechat else ()
