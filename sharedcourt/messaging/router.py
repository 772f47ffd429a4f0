"""The router: every inbound message is stored first, then goes to the bot or to a person.

Order of work for one inbound message:
1. store it (a channel's re-delivery raises DuplicateMessage, nothing else happens); a caller waiting for the
   answer (`receive`) claims it for the bot in the same transaction, one transaction fewer per message;
2. if a person holds the conversation, hand it to the relay and stop;
3. otherwise turn it into safe text for Rasa (button numbers become the bot's own payloads,
   a typed leading "/" never reaches Rasa as a command), run the turn, store every reply.
If Rasa is down the message is kept (`pending`) and the resident gets a holding reply; the retry loop
processes kept messages in order once Rasa answers again, each by the conversation's mode at that moment (a
person who took the conversation meanwhile gets them). A turn that reached Rasa unanswered (a timeout) is never
replayed blindly: Rasa's tracker says whether it ran, and if it did its answer is stored instead.
Every turn works under a claim (sharedcourt.messaging.claims), and replies for a channel's later delivery are
queued in the transaction that stores them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients.rasa import RasaClient
from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.db.session import unit_of_work
from sharedcourt.errors import DuplicateMessage, RasaTimeout, RasaUnavailable
from sharedcourt.messaging import claims, inbox
from sharedcourt.messaging.claims import Lease
from sharedcourt.messaging.delivery import AfterCommit, Queuer, store_for_delivery
from sharedcourt.messaging.delivery import Deliverer as Deliverer
from sharedcourt.messaging.rasa_text import rasa_text
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.messaging.tracker import answer_of, find_turn, said_or_sorry
from sharedcourt.messaging.transcript import store_replies
from sharedcourt.telemetry.logs import bind_conversation
from sharedcourt.telemetry.metrics import Metrics

log = logging.getLogger(__name__)

Shortcut = Callable[[str, str], Awaitable[list[Reply] | None]]
HOLDING_REPLY = "系统正在维护，您的消息已收到并保存，恢复后会第一时间回复您。紧急情况请拨打110或120。"


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


Relay = Callable[[int], Awaitable[None]]
# What one step of `drain` did: nothing left, stopped (Rasa down), answered, relayed, or lost a race.
Step = Literal["empty", "stop", "answered", "relayed", "skipped"]


def turn_input(
    text: str, offered: tuple[Button, ...], channel: str, message_id: int, kind: str
) -> tuple[str, dict[str, Any]]:
    """The text Rasa gets for a message (a chosen button is its payload) and the turn's metadata."""
    return rasa_text(text, offered), {"channel": channel, "message_id": message_id, "kind": kind}


class Router:
    """Stores every inbound message, then answers it through Rasa or hands it to the person holding it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        deliverers: dict[str, Deliverer | Queuer] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics if metrics is not None else Metrics()
        self.rasa = rasa
        self.deliverers: dict[str, Deliverer | Queuer] = dict(deliverers or {})
        self.clock = clock
        self.relay: Relay | None = None
        # Words a feature answers itself before Rasa (e.g. "不用提醒了"): (conversation id, text) -> replies|None.
        self.shortcuts: list[Shortcut] = []

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Store, then process; returns the replies for this message."""
        return (await self.receive(inbound))[1]

    async def receive(self, inbound: Inbound) -> tuple[Stored, list[Reply]]:
        """Store and process, claiming the message in the storing transaction (else `process`'s way: a person…)."""
        stored, turn = await self._save(inbound, claim=True)
        if turn is None:
            return stored, await self.process(stored.message_id)
        lease, text, metadata = turn
        return stored, await self._turn(lease, stored.conversation_id, text, metadata, hold=True) or []

    async def store(self, inbound: Inbound) -> Stored:
        """Persist the inbound message in its own transaction before anything else."""
        return (await self._save(inbound, claim=False))[0]

    async def _save(self, inbound: Inbound, *, claim: bool) -> tuple[Stored, tuple[Lease, str, dict[str, Any]] | None]:
        """Store the message; with `claim`, also claim it for a bot turn right away when nothing comes first."""
        message = {
            "kind": inbound.kind,
            "author": "staff" if inbound.is_staff else "resident",
            "text": inbound.text,
            "payload": inbound.payload,
            "external_id": inbound.external_id,
        }
        try:
            async with unit_of_work(self.sessions) as session:
                saved = await inbox.save(
                    session,
                    channel=inbound.channel,
                    user_id=inbound.user_id,
                    is_staff=inbound.is_staff,
                    message=message,
                    claim_at=self.clock() if claim else None,
                )
        except IntegrityError:
            existing = await self._find_external(inbound.channel, inbound.external_id)
            if existing is None:
                raise
            raise DuplicateMessage(existing) from None
        bind_conversation(saved.conversation_id)
        self.metrics.message_in(inbound.channel)
        stored = Stored(saved.message_id, saved.conversation_id, saved.resident_id, saved.mode)
        if saved.lease is None:
            return stored, None
        text, metadata = turn_input(inbound.text, saved.offered, inbound.channel, saved.message_id, inbound.kind)
        return stored, (saved.lease, text, metadata)

    async def _find_external(self, channel: str, external_id: str | None) -> int | None:
        if external_id is None:
            return None
        async with self.sessions() as session:
            query = select(Message.id).where(Message.channel == channel, Message.external_id == external_id)
            found: int | None = await session.scalar(query)
            return found

    async def process(self, message_id: int) -> list[Reply]:
        """Decide bot or human for a stored message and carry it out (older kept messages of it go first)."""
        lease: Lease | None = None
        async with unit_of_work(self.sessions) as session:
            message = await session.get_one(Message, message_id)
            conversation = await session.get_one(Conversation, message.conversation_id)
            earlier = await self._earlier_kept(session, message)
            human = conversation.mode == "human"
            if human:
                relayed = await claims.mark_relayed(session, message_id)
            else:
                lease = await claims.claim(session, message_id, "received", self.clock())
                text, metadata = await self._turn_input(session, message)
        if earlier:
            # Keep order: older kept messages go first, their answers by the channel's delivery route.
            await self.drain(conversation.id)
            if lease is not None and await claims.older_unfinished(self.sessions, message_id, conversation.id):
                # Another front door still works on an older one: this message is kept and follows it.
                return await self._keep(lease, conversation.id, message.channel, hold=True, unsure=False) or []
        if human:
            if relayed and self.relay is not None:
                await self.relay(message_id)
            return []
        if lease is None:
            return []  # another worker has it, or it was answered already
        return await self._turn(lease, conversation.id, text, metadata, hold=True) or []

    async def _earlier_kept(self, session: AsyncSession, message: Message) -> bool:
        earlier = await session.scalar(
            select(Message.id)
            .where(
                Message.conversation_id == message.conversation_id,
                Message.direction == "in",
                Message.status == "pending",
                Message.id < message.id,
            )
            .limit(1)
        )
        return earlier is not None

    async def _turn_input(self, session: AsyncSession, message: Message) -> tuple[str, dict[str, Any]]:
        """The text Rasa gets for a stored message (a chosen button is its payload) and the turn's metadata."""
        offered = await self._offered_buttons(session, message.conversation_id, message.id)
        return turn_input(message.text, offered, message.channel, message.id, message.kind)

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
        """One Rasa turn for a just-stored message with a text of our choosing (a menu key), under a claim.

        On an outage the message is kept (and, if `hold`, answered with the holding reply); None when it was
        kept without one, or another worker has the message.
        """
        async with unit_of_work(self.sessions) as session:
            lease = await claims.claim(session, message_id, "received", self.clock())
        if lease is None:
            return None
        return await self._turn(lease, conversation_id, text, metadata, hold=hold)

    async def _turn(
        self, lease: Lease, conversation_id: str, text: str, metadata: dict[str, Any], *, hold: bool
    ) -> list[Reply] | None:
        """Send the claimed message to Rasa; store (and, unless `hold`, deliver) the answer, or keep it."""
        channel = str(metadata["channel"])
        bind_conversation(conversation_id)
        for shortcut in self.shortcuts:
            answer = await shortcut(conversation_id, text)
            if answer is not None:
                return await self._answered(lease, conversation_id, channel, answer, deliver=not hold)
        started = time.perf_counter()
        try:
            raw = await self.rasa.send(conversation_id, text, metadata)
        except RasaUnavailable as exc:
            self.metrics.rasa_failure(exc)
            log.warning("rasa unavailable, message %s kept: %s", lease.message_id, exc)
            return await self._keep(lease, conversation_id, channel, hold=hold, unsure=isinstance(exc, RasaTimeout))
        self.metrics.turn(time.perf_counter() - started)
        replies = answer_of(raw)
        return await self._answered(lease, conversation_id, channel, replies, deliver=not hold)

    async def _keep(
        self, lease: Lease, conversation_id: str, channel: str, *, hold: bool, unsure: bool
    ) -> list[Reply] | None:
        """Back to `pending` for the retry loop; a timeout marks the turn unsure (an earlier mark stays)."""
        holding = Reply(HOLDING_REPLY)
        async with unit_of_work(self.sessions) as session:
            kept = await claims.settle(session, lease, "pending", unsure=True if unsure else None)
            if kept and hold:
                store_replies(session, conversation_id, (holding,), author="system", channel=channel)
                self.metrics.message_out(channel)
        if not hold:
            return None
        return [holding] if kept else []

    async def _answered(
        self, lease: Lease, conversation_id: str, channel: str, replies: list[Reply], *, deliver: bool
    ) -> list[Reply]:
        """Settle the claim as processed and store the bot's replies in one transaction."""
        after: AfterCommit | None = None
        async with unit_of_work(self.sessions) as session:
            if not await claims.settle(session, lease, "processed", unsure=False):
                log.warning("message %s was taken over by another worker; its answer is theirs", lease.message_id)
                return []
            after = await self._store(session, conversation_id, channel, replies, author="bot", deliver=deliver)
        if after is not None:
            await after()
        return replies

    async def _store(
        self,
        session: AsyncSession,
        conversation_id: str,
        channel: str,
        replies: Sequence[Reply],
        *,
        author: str,
        kind: str = "text",
        deliver: bool = True,
    ) -> AfterCommit | None:
        """Store replies, queued with them for the channel's later delivery unless `deliver` is False."""
        target = self.deliverers.get(channel) if deliver else None
        self.metrics.message_out(channel, len(replies))
        return await store_for_delivery(session, target, conversation_id, channel, replies, author=author, kind=kind)

    async def send(self, conversation_id: str, replies: Sequence[Reply], *, author: str, kind: str = "text") -> None:
        """Send messages that no inbound request is waiting for (a person's reply, a reminder)."""
        async with unit_of_work(self.sessions) as session:
            conversation = await session.get_one(Conversation, conversation_id)
            after = await self._store(session, conversation_id, conversation.channel, replies, author=author, kind=kind)
        if after is not None:
            await after()

    async def recover(self, stale_after: dt.timedelta) -> int:
        """Keep messages a crashed process left half-way, so `drain` answers them.

        Only a `received` message older than `stale_after`, or one `processing` on a lease that old, is taken
        back: a younger one may be in another replica's hands (a turn's Rasa call times out much sooner).
        """
        async with unit_of_work(self.sessions) as session:
            ids = await claims.recover(session, self.clock() - stale_after)
        if ids:
            log.warning("messages %s were left half-way; kept for another turn", ids)
        return len(ids)

    async def drain(self, conversation_id: str | None = None) -> int:
        """Process kept (pending) messages in order; returns how many were answered or relayed."""
        done = 0
        while True:
            step = await self._drain_one(conversation_id)
            if step in ("empty", "stop"):
                return done
            if step in ("answered", "relayed"):
                done += 1

    async def _drain_one(self, conversation_id: str | None) -> Step:
        """Claim the oldest kept message of a conversation with no turn in flight; answer it as its mode says now."""
        async with unit_of_work(self.sessions) as session:
            message = await claims.oldest_kept(session, conversation_id)
            if message is None:
                return "empty"
            lease = await claims.claim(session, message.id, "pending", self.clock())
            if lease is None:
                return "skipped"
            conversation = await session.get_one(Conversation, message.conversation_id)
            human = conversation.mode == "human"
            if human:
                # A person took the conversation while the message was kept: it is theirs now.
                await claims.settle(session, lease, "relayed")
            else:
                text, metadata = await self._turn_input(session, message)
        if human:
            if self.relay is not None:
                await self.relay(message.id)
            return "relayed"
        if lease.turn_unsure:
            checked = await self._from_tracker(lease, message.conversation_id, message.channel)
            if checked is not None:
                return checked
        replies = await self._turn(lease, message.conversation_id, text, metadata, hold=False)
        return "stop" if replies is None else "answered"

    async def _from_tracker(self, lease: Lease, conversation_id: str, channel: str) -> Step | None:
        """An unsure turn: store what Rasa answered if it ran; None when it never ran (replay it)."""
        try:
            tracker = await self.rasa.tracker(conversation_id)
        except RasaUnavailable as exc:
            log.warning("rasa tracker unavailable, message %s kept: %s", lease.message_id, exc)
            await self._keep(lease, conversation_id, channel, hold=False, unsure=True)
            return "stop"
        turn = find_turn(tracker.get("events") or [], lease.message_id)
        if not turn.ran:
            return None
        log.info(
            "message %s: Rasa had run its turn before the timeout; its answer stored, not replayed", lease.message_id
        )
        await self._answered(lease, conversation_id, channel, said_or_sorry(list(turn.replies)), deliver=True)
        return "answered"
