"""Residents, conversations, cases and their records at chosen ages, for the retention tests."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.booking import Booking, Slot
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.models import Base
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.ticket import Rating, Ticket

# Noon on China's clock, after the default purge hour.
NOW = dt.datetime(2031, 6, 1, 4, 0, tzinfo=dt.timezone.utc)


def ago(days: float) -> dt.datetime:
    """`days` before NOW."""
    return NOW - dt.timedelta(days=days)


@dataclass
class Made:
    """Ids of what one `World.conversation` call made."""

    resident_id: int
    conversation_id: str
    case_id: int | None = None
    ticket_id: int | None = None
    booking_id: int | None = None


class World:
    """Writes records with explicit timestamps (their ages are what the purge reads)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], now: dt.datetime = NOW) -> None:
        self.sessions = sessions
        self.now = now

    def ago(self, days: float) -> dt.datetime:
        """`days` before this world's now."""
        return self.now - dt.timedelta(days=days)

    async def conversation(self, at: dt.datetime, *, messages: tuple[float, ...] = ()) -> Made:
        """A resident with name, phone and place, and a conversation begun at `at` with messages `days` old."""
        async with unit_of_work(self.sessions) as session:
            resident = Resident(
                channel="wechat",
                channel_user_id=f"o{uuid.uuid4().hex}",
                name="张三",
                phone="13800001111",
                place_code="330106001001",
                site_code="330106-S01",
                latitude=30.27,
                longitude=120.15,
                location_label="杭州市西湖区文三路1号",
                created_at=at,
                last_seen_at=at,
            )
            session.add(resident)
            await session.flush()
            conversation = Conversation(resident_id=resident.id, channel="wechat", created_at=at, updated_at=at)
            session.add(conversation)
            await session.flush()
            for days in messages:
                session.add(self._message(conversation.id, self.ago(days)))
            return Made(resident.id, conversation.id)

    @staticmethod
    def _message(conversation_id: str, at: dt.datetime) -> Message:
        return Message(
            conversation_id=conversation_id,
            direction="in",
            channel="wechat",
            author="resident",
            text="邻居把我家墙弄裂了，我叫张三，电话13800001111",
            status="processed",
            created_at=at,
        )

    async def message(self, conversation_id: str, days: float) -> int:
        """One more message, `days` old."""
        async with unit_of_work(self.sessions) as session:
            message = self._message(conversation_id, self.ago(days))
            session.add(message)
            await session.flush()
            return message.id

    async def case(self, made: Made, at: dt.datetime, *, ticket_state: str = "closed") -> Made:
        """A closed case with facts and a ticket (in `ticket_state`) with a rating, last changed at `at`."""
        async with unit_of_work(self.sessions) as session:
            case = Case(
                number=f"C{uuid.uuid4().hex[:10]}",
                resident_id=made.resident_id,
                conversation_id=made.conversation_id,
                dispute_code="neighbor",
                status="closed",
                facts={"party": "李四", "amount": 5000},
                site_code="330106-S01",
                summary="张三与李四相邻关系纠纷",
                created_at=at,
                updated_at=at,
            )
            session.add(case)
            await session.flush()
            ticket = Ticket(
                conversation_id=made.conversation_id,
                resident_id=made.resident_id,
                case_id=case.id,
                state=ticket_state,
                rule="site",
                reason="您所在村的共享法庭",
                site_code="330106-S01",
                dispute_code="neighbor",
                summary="张三，电话13800001111",
                note="已调解",
                outcome="调解成功" if ticket_state == "closed" else None,
                requested_at=at,
                closed_at=at if ticket_state == "closed" else None,
                updated_at=at,
            )
            session.add(ticket)
            await session.flush()
            session.add(Rating(ticket_id=ticket.id, score=5, comment="谢谢王调解员", created_at=at))
            made.case_id, made.ticket_id = case.id, ticket.id
            return made

    async def booking(self, made: Made, starts: dt.datetime, *, status: str, changed: dt.datetime) -> Made:
        """A booking of the case starting at `starts`, last changed at `changed`."""
        async with unit_of_work(self.sessions) as session:
            slot = Slot(
                site_code="330106-S01",
                seat_key=f"s{uuid.uuid4().hex[:8]}",
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=1),
                created_at=changed,
            )
            session.add(slot)
            await session.flush()
            booking = Booking(
                slot_id=slot.id,
                case_id=made.case_id,
                resident_id=made.resident_id,
                conversation_id=made.conversation_id,
                site_code="330106-S01",
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                status=status,
                reason="张三说周三不方便",
                created_at=changed,
                updated_at=changed,
            )
            session.add(booking)
            await session.flush()
            made.booking_id = booking.id
            return made

    async def evidence(self, made: Made, path: Path | None, *, on_case: bool, days: float) -> int:
        """An evidence row for the conversation (on its case, or on a message `days` old) with a file path."""
        message_id = await self.message(made.conversation_id, days)
        async with unit_of_work(self.sessions) as session:
            row = Evidence(
                case_id=made.case_id if on_case else None,
                message_id=message_id,
                kind="image",
                path=str(path) if path else None,
                created_at=self.ago(days),
            )
            session.add(row)
            await session.flush()
            return row.id


async def dump(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    """Every row of every table of our schema, as text (equal dumps: nothing changed)."""
    async with sessions() as session:
        return {
            t.name: sorted(repr(tuple(row)) for row in await session.execute(select(*t.columns)))
            for t in Base.metadata.sorted_tables
        }


async def load(sessions: async_sessionmaker[AsyncSession], model: Any, key: Any) -> Any:
    """A fresh copy of one row."""
    async with sessions() as session:
        return await session.get(model, key)
