"""Who works on an inbound message: a claim with a lease, read back with RETURNING, settled only by its holder.

A worker claims a message (received/pending -> processing) and records when (`claimed_at`, the lease). Only
the holder of that lease may settle the message (processed, pending, relayed): a worker whose lease was taken
over by `recover` can no longer overwrite the new holder's state. `recover` takes back messages a crash left
half-way by their lease, never by their age alone (a message kept through a long outage is old but may be in a
live worker's hands).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Insert,
    Integer,
    String,
    Update,
    and_,
    bindparam,
    case,
    insert,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from sharedcourt.db.base import UTCDateTime, table_of
from sharedcourt.db.conversation import Message


@dataclass(frozen=True)
class Lease:
    """One worker's claim on one inbound message."""

    message_id: int
    claimed_at: dt.datetime
    # An earlier turn for this message reached Rasa unanswered: the tracker decides before any replay.
    turn_unsure: bool


async def claim(session: AsyncSession, message_id: int, from_status: str, now: dt.datetime) -> Lease | None:
    """Take the message if it is still `from_status`; None when another worker has it or it is done."""
    row = (
        await session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == from_status)
            .values(status="processing", claimed_at=now)
            .returning(Message.claimed_at, Message.turn_unsure)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if row is None or row.claimed_at is None:
        return None
    return Lease(message_id, row.claimed_at, bool(row.turn_unsure))


@functools.cache
def _insert(claimed: bool) -> Insert:
    messages = table_of(Message)
    returning = (messages.c.id, messages.c.claimed_at, messages.c.turn_unsure)
    if not claimed:
        return insert(messages).values(status="received").returning(*returning)
    # Every kept message visible to this statement is older than the row it inserts (its id comes later).
    kept = (
        select(messages.c.id)
        .where(
            messages.c.conversation_id == bindparam("p_conversation"),
            messages.c.direction == "in",
            messages.c.status == "pending",
        )
        .exists()
    )
    claimed_at = case((~kept, bindparam("p_now", type_=UTCDateTime())), else_=null())
    status = case((~kept, "processing"), else_="received")
    return insert(messages).values(status=status, claimed_at=claimed_at).returning(*returning)


async def insert_claimed(
    session: AsyncSession, values: dict[str, Any], now: dt.datetime | None
) -> tuple[int, Lease | None]:
    """Insert a new inbound message; with `now`, claimed in the same INSERT (received -> processing, read back
    with RETURNING) unless an older message of its conversation is kept (it stays `received`: kept ones go first).

    No one sees the row before the commit, so this is the claim `claim` would take right after the insert.
    """
    connection = await session.connection()
    params = values if now is None else {**values, "p_conversation": values["conversation_id"], "p_now": now}
    row = (await connection.execute(_insert(now is not None), params)).one()
    lease = None if row.claimed_at is None else Lease(row.id, row.claimed_at, bool(row.turn_unsure))
    return row.id, lease


@functools.cache
def _settle(with_unsure: bool) -> Update:
    messages = table_of(Message)
    values: dict[str, Any] = {"status": bindparam("p_status", type_=String()), "claimed_at": null()}
    if with_unsure:
        values["turn_unsure"] = bindparam("p_unsure", type_=Boolean())
    return (
        update(messages)
        .where(
            messages.c.id == bindparam("p_id", type_=Integer()),
            messages.c.status == "processing",
            messages.c.claimed_at == bindparam("p_claimed_at", type_=UTCDateTime()),
        )
        .values(**values)
        .returning(messages.c.id)
    )


async def settle(session: AsyncSession, lease: Lease, status: str, *, unsure: bool | None = None) -> bool:
    """End the lease with `status` (and `turn_unsure` when given); False when the lease was taken over."""
    params: dict[str, Any] = {"p_id": lease.message_id, "p_claimed_at": lease.claimed_at, "p_status": status}
    if unsure is not None:
        params["p_unsure"] = unsure
    connection = await session.connection()
    settled = (await connection.execute(_settle(unsure is not None), params)).scalar()
    return settled is not None


async def mark_relayed(session: AsyncSession, message_id: int) -> bool:
    """A just-stored message goes to the person holding the conversation; False if someone else took it."""
    relayed = await session.scalar(
        update(Message)
        .where(Message.id == message_id, Message.status == "received")
        .values(status="relayed")
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    return relayed is not None


async def recover(session: AsyncSession, cutoff: dt.datetime) -> list[int]:
    """Keep (pending) what a crash left: `received` since before `cutoff`, or `processing` on a lease that old.

    A message taken back from `processing` may have reached Rasa, so its next turn reads the tracker first.
    """
    lease_start = case((Message.claimed_at.is_(None), Message.created_at), else_=Message.claimed_at)
    kept = await session.scalars(
        update(Message)
        .where(
            Message.direction == "in",
            or_(
                and_(Message.status == "received", Message.created_at < cutoff),
                and_(Message.status == "processing", lease_start < cutoff),
            ),
        )
        .values(
            status="pending",
            claimed_at=None,
            turn_unsure=case((Message.status == "processing", true()), else_=Message.turn_unsure),
        )
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    return list(kept)


async def oldest_kept(session: AsyncSession, conversation_id: str | None) -> Message | None:
    """The oldest kept (pending) message, of one conversation or any, whose conversation has no older one in flight.

    An older message of the conversation in another front door's hands goes first: this one waits for it.
    """
    in_flight = aliased(Message)
    busy = (
        select(in_flight.id)
        .where(
            in_flight.conversation_id == Message.conversation_id,
            in_flight.direction == "in",
            in_flight.status == "processing",
            in_flight.id < Message.id,
        )
        .exists()
    )
    query = select(Message).where(Message.direction == "in", Message.status == "pending", ~busy)
    if conversation_id is not None:
        query = query.where(Message.conversation_id == conversation_id)
    found: Message | None = await session.scalar(query.order_by(Message.id).limit(1))
    return found


async def older_unfinished(sessions: async_sessionmaker[AsyncSession], message_id: int, conversation_id: str) -> bool:
    """Whether an older inbound message of the conversation is still kept or in a worker's hands."""
    async with sessions() as session:
        older = await session.scalar(
            select(Message.id)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "in",
                Message.status.in_(("pending", "processing")),
                Message.id < message_id,
            )
            .limit(1)
        )
    return older is not None
