"""Storing one inbound message in three statements: the resident, its conversation, the message itself.

The hot path of every resident's message (sharedcourt.messaging.router): the resident is touched and identified
by one UPDATE ... RETURNING, its latest conversation is read together with the buttons last offered in it, and
the message is inserted (claimed for a bot turn in the same INSERT when it may go first, see
`claims.insert_claimed`). A first contact adds the resident and the conversation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Conversation, Message, Resident, new_conversation_id
from sharedcourt.messaging import claims
from sharedcourt.messaging.claims import Lease
from sharedcourt.messaging.replies import Button, Reply


@dataclass(frozen=True)
class Saved:
    """A just-inserted inbound message: where it went, its claim (if taken) and the buttons offered before it."""

    message_id: int
    conversation_id: str
    resident_id: int
    mode: str
    lease: Lease | None
    offered: tuple[Button, ...]


async def resident_id(session: AsyncSession, channel: str, user_id: str, *, is_staff: bool) -> int:
    """The resident's id, its `last_seen_at` set to now; a first contact inserts it."""
    touch = (
        update(Resident)
        .where(Resident.channel == channel, Resident.channel_user_id == user_id)
        .values(last_seen_at=utcnow())
        .returning(Resident.id)
        .execution_options(synchronize_session=False)
    )
    found: int | None = await session.scalar(touch)
    if found is not None:
        return found
    # A first contact: insert in a savepoint so a concurrent first contact can win cleanly.
    try:
        async with session.begin_nested():
            created: int = await session.scalar(  # type: ignore[assignment]  # RETURNING of an INSERT: one row
                insert(Resident)
                .values(channel=channel, channel_user_id=user_id, is_staff=is_staff, last_seen_at=utcnow())
                .returning(Resident.id)
            )
        return created
    except IntegrityError:
        won: int = (await session.scalars(touch)).one()
        return won


async def conversation_of(session: AsyncSession, resident: int, channel: str) -> tuple[str, str, tuple[Button, ...]]:
    """The resident's latest conversation (a new one if none): its id, mode and the buttons its last reply offered.

    The last reply is read before the inbound message is inserted: every reply visible then is older than it.
    """
    last_out = aliased(Message)
    newest_out = (
        select(func.max(Message.id))
        .where(Message.conversation_id == Conversation.id, Message.direction == "out")
        .correlate(Conversation)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(Conversation.id, Conversation.mode, last_out.text, last_out.payload)
            .outerjoin(last_out, last_out.id == newest_out)
            .where(Conversation.resident_id == resident)
            .order_by(Conversation.created_at.desc(), Conversation.id)
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        conversation_id = new_conversation_id()
        await session.execute(insert(Conversation).values(id=conversation_id, resident_id=resident, channel=channel))
        return conversation_id, "bot", ()
    offered = () if row.text is None else Reply.from_payload(row.text, row.payload or {}).buttons
    return row.id, row.mode, offered


async def save(
    session: AsyncSession,
    *,
    channel: str,
    user_id: str,
    is_staff: bool,
    message: dict[str, Any],
    claim_at: dt.datetime | None,
) -> Saved:
    """Store an inbound message (`message`: its column values); with `claim_at`, claim it for a bot turn in the
    same INSERT unless a person holds the conversation or an older message of it is kept."""
    resident = await resident_id(session, channel, user_id, is_staff=is_staff)
    conversation_id, mode, offered = await conversation_of(session, resident, channel)
    values = {**message, "conversation_id": conversation_id, "direction": "in", "channel": channel}
    message_id, lease = await claims.insert_claimed(session, values, claim_at if mode != "human" else None)
    return Saved(message_id, conversation_id, resident, mode, lease, offered)
