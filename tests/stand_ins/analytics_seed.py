"""A week of handoffs and bookings with hand-computed figures, for the analytics tests.

Window 2026-12-01..07, county 330802 (柯城区): tickets T1-T5 count; T6 is in 衢江区 (330803), T7 before the week.
Acceptance seconds in 330802: 30, 90, 150 -> p50 90, p90 150 (nearest rank). Requests 5, escalated 2 (T2, T4),
expired 1 (T4: 有呼无应), callbacks 1 (T5). Ratings 5, 3, 4 -> average 4.0. Bookings: 白云 2 confirmed (a
cancelled one not counted), 衢江 1. Outcomes: 邻里纠纷 调解成功 1, 调解不成 1; 借贷纠纷-type 转立案 1.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.booking import Booking, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.ticket import Rating, Ticket
from sharedcourt.domain.clock import TZ

BAIYUN = "GX330802009"
QUJIANG = "GX330803001"
FROM, TO = dt.date(2026, 12, 1), dt.date(2026, 12, 7)


def at(day: int, hour: int = 10, month: int = 12) -> dt.datetime:
    """A local time in 2026, as UTC."""
    return dt.datetime(2026, month, day, hour, 0, tzinfo=TZ).astimezone(dt.timezone.utc)


def _ticket(n: int, site: str, requested: dt.datetime, **values: object) -> Ticket:
    return Ticket(
        number=f"T9{n:04d}", state=values.pop("state", "closed"), rule="default", site_code=site,
        site_name="白云" if site == BAIYUN else "衢江", requested_at=requested, **values,
    )  # fmt: skip


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The week's rows."""
    async with sessions() as session, session.begin():
        resident = Resident(channel="webchat", channel_user_id="analytics-resident")
        session.add(resident)
        await session.flush()
        conversation = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conversation)
        await session.flush()
        start = at(1)
        sec = dt.timedelta(seconds=1)
        common = {"conversation_id": conversation.id, "resident_id": resident.id}
        tickets = [
            _ticket(1, BAIYUN, start, accepted_at=start + 30 * sec, outcome="调解成功", dispute_code="neighbor",
                    **common),
            _ticket(2, BAIYUN, at(2), accepted_at=at(2) + 90 * sec, escalated_at=at(2) + 60 * sec,
                    outcome="调解不成", dispute_code="neighbor", **common),
            _ticket(3, BAIYUN, at(3), accepted_at=at(3) + 150 * sec, outcome="转立案", dispute_code="debt", **common),
            _ticket(4, BAIYUN, at(4), state="expired", escalated_at=at(4) + 180 * sec, expired_at=at(4) + 360 * sec,
                    **common),
            _ticket(5, BAIYUN, at(5, 22), state="callback", callback_after=at(6, 8), **common),
            _ticket(6, QUJIANG, at(2), accepted_at=at(2) + 10 * sec, outcome="已解答", **common),
            _ticket(7, BAIYUN, at(20, month=11), accepted_at=at(20, month=11) + 1000 * sec, **common),
        ]  # fmt: skip
        session.add_all(tickets)
        await session.flush()
        for ticket, score, day in ((tickets[0], 5, 1), (tickets[1], 3, 2), (tickets[2], 4, 3), (tickets[5], 1, 2)):
            session.add(Rating(ticket_id=ticket.id, score=score, created_at=at(day, 12)))
        for i, (site, day, status) in enumerate(
            [(BAIYUN, 2, "confirmed"), (BAIYUN, 3, "confirmed"), (BAIYUN, 4, "cancelled"), (QUJIANG, 5, "confirmed")]
        ):
            slot = Slot(site_code=site, seat_key=f"s{i}", starts_at=at(day, 9), ends_at=at(day, 10), capacity=2)
            case = Case(resident_id=resident.id, conversation_id=conversation.id)  # one booking per case
            session.add_all([slot, case])
            await session.flush()
            session.add(
                Booking(
                    slot_id=slot.id, case_id=case.id, resident_id=resident.id, conversation_id=conversation.id,
                    site_code=site, starts_at=at(day, 9), ends_at=at(day, 10), status=status,
                )
            )  # fmt: skip
