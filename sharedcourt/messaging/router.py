"""The router: every inbound message is stored first, then goes to the bot or to a person.

Order of work for one inbound message:
1. store it (a channel's re-delivery raises DuplicateMessage, nothing else happens);
2. if a person holds the conversation, hand it to the relay and stop;
3. otherwise turn it into safe text for Rasa (button numbers become the bot's own payloads,
   a typed leading "/" never reaches Rasa as a command), run the turn, store every reply.
If Rasa is down the message stays `pending` and the resident gets a holding reply; the
retry loop processes pending messages in order once Rasa answers again.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients.rasa import RasaClient
from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.errors import DuplicateMessage, RasaUnavailable
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.messaging.transcript import store_replies

log = logging.getLogger(__name__)

HOLDING_REPLY = "系统正在维护，您的消息已收到并保存，恢复后会第一时间回复您。紧急情况请拨打110或120。"
FULLWIDTH_SLASH = "／"
_CHOICE = re.compile(r"^\s*(?:第)?([0-9０-９一二三四五六七八九十]{1,2})(?:个|项|号)?[.。、\s]*$")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


@dataclass
class Inbound:
    """A message as a channel received it, before anything is decided."""

    channel: str
    user_id: str
    text: str
    kind: str = "text"
    external_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    is_staff: bool = False


@dataclass(frozen=True)
class Stored:
    """Where an inbound message was stored, and who held its conversation at that moment."""

    message_id: int
    conversation_id: str
    resident_id: int
    mode: str


class Deliverer(Protocol):
    """Sends replies that were not returned in the request that caused them."""

    async def deliver(self, conversation_id: str, replies: Sequence[Reply]) -> None:
        """Send `replies` to the resident of `conversation_id` through the channel."""


Relay = Callable[[int], Awaitable[None]]


def choice_number(text: str) -> int | None:
    """'2', '２', '第二个' -> 2; anything else -> None."""
    match = _CHOICE.match(text)
    if not match:
        return None
    raw = match.group(1).translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if raw.isdigit():
        return int(raw)
    if raw in _CN_DIGITS:
        return _CN_DIGITS[raw]
    return None


def escape_command(text: str) -> str:
    """Rasa reads a leading '/' as an injected intent; residents must not be able to do that."""
    stripped = text.lstrip()
    if stripped.startswith("/"):
        return FULLWIDTH_SLASH + stripped[1:]
    return text


def rasa_text(text: str, offered: Sequence[Button]) -> str:
    """The text sent to Rasa: a chosen button's payload (ours), else the escaped text."""
    number = choice_number(text)
    if number is not None and 1 <= number <= len(offered):
        return offered[number - 1].payload
    for button in offered:
        if text.strip() == button.title.strip():
            return button.payload
    return escape_command(text)


class Router:
    """Stores every inbound message, then answers it through Rasa or hands it to the person holding it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        deliverers: dict[str, Deliverer] | None = None,
    ) -> None:
        self.sessions = sessions
        self.rasa = rasa
        self.deliverers: dict[str, Deliverer] = dict(deliverers or {})
        self.relay: Relay | None = None

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Store, then process; returns the replies for this message."""
        stored = await self.store(inbound)
        return await self.process(stored.message_id)

    async def store(self, inbound: Inbound) -> Stored:
        """Persist the inbound message in its own transaction before anything else."""
        try:
            async with unit_of_work(self.sessions) as session:
                resident = await self._resident(session, inbound)
                conversation = await self._conversation(session, resident)
                message = Message(
                    conversation_id=conversation.id,
                    direction="in",
                    channel=inbound.channel,
                    kind=inbound.kind,
                    author="staff" if inbound.is_staff else "resident",
                    text=inbound.text,
                    payload=inbound.payload,
                    external_id=inbound.external_id,
                    status="received",
                )
                session.add(message)
                await session.flush()
                return Stored(message.id, conversation.id, resident.id, conversation.mode)
        except IntegrityError:
            existing = await self._find_external(inbound.channel, inbound.external_id)
            if existing is None:
                raise
            raise DuplicateMessage(existing) from None

    async def _find_external(self, channel: str, external_id: str | None) -> int | None:
        if external_id is None:
            return None
        async with self.sessions() as session:
            found: int | None = await session.scalar(
                select(Message.id).where(Message.channel == channel, Message.external_id == external_id)
            )
            return found

    async def _resident(self, session: AsyncSession, inbound: Inbound) -> Resident:
        resident = await session.scalar(
            select(Resident).where(Resident.channel == inbound.channel, Resident.channel_user_id == inbound.user_id)
        )
        if resident is None:
            # A first contact: insert in a savepoint so a concurrent first contact can win cleanly.
            try:
                async with session.begin_nested():
                    resident = Resident(
                        channel=inbound.channel, channel_user_id=inbound.user_id, is_staff=inbound.is_staff
                    )
                    session.add(resident)
            except IntegrityError:
                resident = (
                    await session.scalars(
                        select(Resident).where(
                            Resident.channel == inbound.channel, Resident.channel_user_id == inbound.user_id
                        )
                    )
                ).one()
        resident.last_seen_at = utcnow()
        return resident

    async def _conversation(self, session: AsyncSession, resident: Resident) -> Conversation:
        conversation = await session.scalar(
            select(Conversation)
            .where(Conversation.resident_id == resident.id)
            .order_by(Conversation.created_at.desc(), Conversation.id)
            .limit(1)
        )
        if conversation is None:
            conversation = Conversation(resident_id=resident.id, channel=resident.channel)
            session.add(conversation)
            await session.flush()
        return conversation

    async def process(self, message_id: int) -> list[Reply]:
        """Decide bot or human for a stored message and carry it out."""
        async with unit_of_work(self.sessions) as session:
            message = await session.get_one(Message, message_id)
            conversation = await session.get_one(Conversation, message.conversation_id)
            if conversation.mode == "human":
                message.status = "relayed"
                relay = True
            else:
                relay = False
                earlier = await session.scalar(
                    select(Message.id)
                    .where(
                        Message.conversation_id == conversation.id,
                        Message.direction == "in",
                        Message.status == "pending",
                        Message.id < message.id,
                    )
                    .limit(1)
                )
                text, metadata = await self._turn_input(session, message)
        if relay:
            if self.relay is not None:
                await self.relay(message_id)
            return []
        if earlier is not None:
            # Keep order: older kept messages go first, their answers by the channel's delivery route.
            await self.drain(conversation.id)
        return await self.run_turn(message_id, conversation.id, text, metadata, hold=True) or []

    async def _turn_input(self, session: AsyncSession, message: Message) -> tuple[str, dict[str, Any]]:
        """The text Rasa gets for a stored message (a chosen button is its payload) and the turn's metadata."""
        offered = await self._offered_buttons(session, message.conversation_id, message.id)
        metadata = {"channel": message.channel, "message_id": message.id, "kind": message.kind}
        return rasa_text(message.text, offered), metadata

    async def _offered_buttons(self, session: AsyncSession, conversation_id: str, before_id: int) -> tuple[Button, ...]:
        last_out = await session.scalar(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.direction == "out", Message.id < before_id)
            .order_by(Message.id.desc())
            .limit(1)
        )
        if last_out is None:
            return ()
        return Reply.from_payload(last_out.text, last_out.payload).buttons

    async def run_turn(
        self, message_id: int, conversation_id: str, text: str, metadata: dict[str, Any], *, hold: bool
    ) -> list[Reply] | None:
        """One Rasa turn; on an outage keep the message (and, if `hold`, answer with the holding reply)."""
        try:
            raw = await self.rasa.send(conversation_id, text, metadata)
        except RasaUnavailable as exc:
            log.warning("rasa unavailable, message %s kept: %s", message_id, exc)
            holding = Reply(HOLDING_REPLY)
            async with unit_of_work(self.sessions) as session:
                await session.execute(
                    update(Message)
                    .where(Message.id == message_id, Message.status.in_(("received", "processing")))
                    .values(status="pending")
                )
                if hold:
                    store_replies(session, conversation_id, (holding,), author="system", channel=metadata["channel"])
            return [holding] if hold else None
        replies = [
            Reply.from_rasa(m) for m in raw if m.get("text") or m.get("image") or m.get("buttons") or m.get("custom")
        ]
        async with unit_of_work(self.sessions) as session:
            await session.execute(update(Message).where(Message.id == message_id).values(status="processed"))
            store_replies(session, conversation_id, replies, author="bot", channel=metadata["channel"])
        return replies

    async def send(self, conversation_id: str, replies: Sequence[Reply], *, author: str, kind: str = "text") -> None:
        """Send messages that no inbound request is waiting for (a person's reply, a reminder)."""
        async with unit_of_work(self.sessions) as session:
            conversation = await session.get_one(Conversation, conversation_id)
            channel = conversation.channel
            store_replies(session, conversation_id, replies, author=author, channel=channel, kind=kind)
        await self._deliver(channel, conversation_id, replies)

    async def _deliver(self, channel: str, conversation_id: str, replies: Sequence[Reply]) -> None:
        deliverer = self.deliverers.get(channel)
        if deliverer is not None and replies:
            await deliverer.deliver(conversation_id, replies)

    async def recover(self, stale_after: dt.timedelta) -> int:
        """Keep messages a crashed process left half-way (`received`/`processing`), so `drain` answers them.

        Only messages older than `stale_after` are touched: a younger one may be in another replica's hands.
        """
        async with unit_of_work(self.sessions) as session:
            kept = await session.scalars(
                update(Message)
                .where(
                    Message.direction == "in",
                    Message.status.in_(("received", "processing")),
                    Message.created_at < utcnow() - stale_after,
                )
                .values(status="pending")
                .returning(Message.id)
                .execution_options(synchronize_session=False)
            )
            ids = list(kept)
        if ids:
            log.warning("messages %s were left half-way; kept for another turn", ids)
        return len(ids)

    async def drain(self, conversation_id: str | None = None) -> int:
        """Process kept (pending) messages in order; returns how many were answered."""
        done = 0
        while True:
            async with unit_of_work(self.sessions) as session:
                query = (
                    select(Message)
                    .where(Message.direction == "in", Message.status == "pending")
                    .order_by(Message.id)
                    .limit(1)
                )
                if conversation_id is not None:
                    query = query.where(Message.conversation_id == conversation_id)
                message = await session.scalar(query)
                if message is None:
                    return done
                # Claim it atomically so two workers never answer the same kept message.
                # RETURNING says which row this statement changed; SQLite's rowcount was seen to misreport
                # here under load, leaving a claimed message `processing` and never answered.
                claimed = await session.scalar(
                    update(Message)
                    .where(Message.id == message.id, Message.status == "pending")
                    .values(status="processing")
                    .returning(Message.id)
                    .execution_options(synchronize_session=False)
                )
                if claimed is None:
                    continue
                text, metadata = await self._turn_input(session, message)
                conv_id, channel, message_id = message.conversation_id, message.channel, message.id
            replies = await self.run_turn(message_id, conv_id, text, metadata, hold=False)
            if replies is None:
                return done
            await self._deliver(channel, conv_id, replies)
            done += 1

    async def messages_after(self, channel: str, user_id: str, after: int, limit: int = 50) -> list[Message]:
        """Outbound messages for a channel user after a cursor (web chat polling)."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Resident, Resident.id == Conversation.resident_id)
                .where(
                    Resident.channel == channel,
                    Resident.channel_user_id == user_id,
                    Message.direction == "out",
                    Message.id > after,
                )
                .order_by(Message.id)
                .limit(limit)
            )
            return list(rows)
