"""Storing one inbound message in three statements: the resident, its conversation, the message itself.

The hot path of every resident's message (sharedcourt.messaging.router): the resident is touched and identified
by one UPDATE ... RETURNING, its latest conversation is read together with the buttons last offered in it, and
the message is inserted (claimed for a bot turn in the same INSERT when it may go first, see
`claims.insert_claimed`). A first contact adds the resident and the conversation.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Update, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.base import UTCDateTime, table_of, utcnow
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


@functools.cache
def _touch() -> Update:
    residents = table_of(Resident).c
    return (
        update(table_of(Resident))
        .where(residents.channel == bindparam("p_channel"), residents.channel_user_id == bindparam("p_user"))
        .values(last_seen_at=bindparam("p_now", type_=UTCDateTime()))
        .returning(residents.id)
    )


@functools.cache
def _latest() -> Select[tuple[str, str, str | None, dict[str, Any] | None]]:
    conversations, messages = table_of(Conversation), table_of(Message)
    last_out = messages.alias("last_out")
    newest_out = (
        select(func.max(messages.c.id))
        .where(messages.c.conversation_id == conversations.c.id, messages.c.direction == "out")
        .correlate(conversations)
        .scalar_subquery()
    )
    return (
        select(conversations.c.id, conversations.c.mode, last_out.c.text, last_out.c.payload)
        .select_from(conversations.outerjoin(last_out, last_out.c.id == newest_out))
        .where(conversations.c.resident_id == bindparam("p_resident"))
        .order_by(conversations.c.created_at.desc(), conversations.c.id)
        .limit(1)
    )


async def resident_id(session: AsyncSession, channel: str, user_id: str, *, is_staff: bool) -> int:
    """The resident's id, its `last_seen_at` set to now; a first contact inserts it."""
    connection = await session.connection()
    touch = {"p_channel": channel, "p_user": user_id, "p_now": utcnow()}
    found: int | None = (await connection.execute(_touch(), touch)).scalar()
    if found is not None:
        return found
    # A first contact: insert in a savepoint so a concurrent first contact can win cleanly.
    try:
        async with connection.begin_nested():
            created = await connection.execute(
                insert(table_of(Resident))
                .values(channel=channel, channel_user_id=user_id, is_staff=is_staff, last_seen_at=utcnow())
                .returning(table_of(Resident).c.id)
            )
            new_id: int = created.scalar_one()
        return new_id
    except IntegrityError:
        won: int = (await connection.execute(_touch(), touch)).scalar_one()
        return won


async def conversation_of(session: AsyncSession, resident: int, channel: str) -> tuple[str, str, tuple[Button, ...]]:
    """The resident's latest conversation (a new one if none): its id, mode and the buttons its last reply offered.

    The last reply is read before the inbound message is inserted: every reply visible then is older than it.
    """
    connection = await session.connection()
    row = (await connection.execute(_latest(), {"p_resident": resident})).one_or_none()
    if row is None:
        conversation_id = new_conversation_id()
        await connection.execute(
            insert(table_of(Conversation)).values(id=conversation_id, resident_id=resident, channel=channel)
        )
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
