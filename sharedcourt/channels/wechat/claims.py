"""Who answers a push, claimed once in `wechat_turns`: the passive reply, or the outbox after the budget.

A retry (in any process) of a push whose first copy is still running waits for that result instead of
processing again.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.channels.wechat.delivery import enqueue_replies, last_out
from sharedcourt.channels.wechat.render import fits_one_message, merge
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.wechat import WeChatTurn
from sharedcourt.messaging.outbox import Outbox
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Stored

POLL_INTERVAL = 0.05


async def _reply_rows(session: AsyncSession, turn: WeChatTurn) -> list[Message]:
    return list(await session.scalars(select(Message).where(Message.id.in_(list(turn.reply_ids))).order_by(Message.id)))


class Claims:
    """The `wechat_turns` bookkeeping of one channel."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], outbox: Outbox) -> None:
        self.sessions = sessions
        self.outbox = outbox

    async def open(self, message_id: int) -> None:
        """A stored push's turn starts unclaimed and unfinished."""
        async with unit_of_work(self.sessions) as session:
            session.add(WeChatTurn(message_id=message_id))

    async def finish(self, stored: Stored, reply_count: int) -> None:
        """The turn is done and its replies stored; if the outbox already claimed it, queue them now."""
        async with unit_of_work(self.sessions) as session:
            rows = (
                await last_out(session, stored.conversation_id, stored.message_id, reply_count) if reply_count else []
            )
            result = await session.execute(
                update(WeChatTurn)
                .where(WeChatTurn.message_id == stored.message_id)
                .values(finished=True, reply_ids=[m.id for m in rows])
                .returning(WeChatTurn.reply_mode)
            )
            mode = result.scalar_one_or_none()
        if mode == "outbox":
            await self.enqueue_turn(stored.message_id)

    async def claim_outbox(self, message_id: int) -> None:
        """The budget ran out: the answer goes through the outbox (at once if the turn already finished)."""
        async with unit_of_work(self.sessions) as session:
            result = await session.execute(
                update(WeChatTurn)
                .where(WeChatTurn.message_id == message_id, WeChatTurn.reply_mode.is_(None))
                .values(reply_mode="outbox")
                .returning(WeChatTurn.finished)
            )
            finished = result.scalar_one_or_none()
        if finished:
            await self.enqueue_turn(message_id)

    async def claim_passive(self, message_id: int) -> list[Reply] | None:
        """The replies to return in this response, if the passive reply is (or already was) the way."""
        async with unit_of_work(self.sessions) as session:
            await session.execute(
                update(WeChatTurn)
                .where(WeChatTurn.message_id == message_id, WeChatTurn.reply_mode.is_(None), WeChatTurn.finished)
                .values(reply_mode="passive")
            )
            turn = await session.get(WeChatTurn, message_id)
            if turn is None or turn.reply_mode != "passive":
                return None
            rows = await _reply_rows(session, turn)
            replies = [Reply.from_payload(m.text, m.payload) for m in rows]
            enqueue_needed = not fits_one_message(replies)
            if enqueue_needed:
                # Too long for one passive reply: the outbox sends it in pieces.
                turn.reply_mode = "outbox"
            else:
                for m in rows:
                    m.status = "sent"
        if enqueue_needed:
            await self.enqueue_turn(message_id)
            return None
        return replies

    async def wait_for_original(self, message_id: int, deadline: float) -> list[Reply] | None:
        """A re-delivery: wait (up to the budget) for the first copy's result instead of processing again."""
        while True:
            async with self.sessions() as session:
                turn = await session.get(WeChatTurn, message_id)
                mode, finished = (turn.reply_mode, turn.finished) if turn is not None else (None, False)
            if mode == "outbox":
                return None
            if finished or mode == "passive":
                return await self.claim_passive(message_id)
            if time.monotonic() >= deadline:
                if turn is not None:
                    await self.claim_outbox(message_id)
                return None
            await asyncio.sleep(POLL_INTERVAL)

    async def enqueue_turn(self, message_id: int) -> None:
        """Queue a finished turn's replies in the outbox."""
        async with unit_of_work(self.sessions) as session:
            turn = await session.get_one(WeChatTurn, message_id)
            inbound = await session.get_one(Message, message_id)
            conversation = await session.get_one(Conversation, inbound.conversation_id)
            resident = await session.get_one(Resident, conversation.resident_id)
            rows = await _reply_rows(session, turn)
            if not rows:
                return
            text = merge([Reply.from_payload(m.text, m.payload) for m in rows])
            queued = await enqueue_replies(session, resident, conversation.id, rows, text)
        if queued:
            self.outbox.kick()
