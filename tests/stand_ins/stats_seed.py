"""Four days of every kind of row the analytics page counts, with figures computed by hand (tests/review and
tests/web test_analytics_*). Window 2026-11-29..12-02; 白云 (GX330802009) is in 柯城区 330802, 衢江 (GX330803001)
in 衢江区 330803. Rows just outside the window (T6, K6, S5, C6, a rating) must never count.

Tickets (requested 10:00 local; accepted after s seconds; acceptance window 180 s):
  T1 11-29 白云 general   20 s  调解成功 neighbor     T2 11-30 白云 complex 200 s 调解不成 neighbor (escalated 11-30)
  T3 12-01 白云 litigation 45 s 转立案 debt           T4 12-01 衢江 complex 700 s 调解成功 family
  T5 12-02 白云 general   escalated then expired 12-02 (有呼无应)     T7 12-01 衢江 general 100 s 已解答 other_legal
  T6 11-28 23:00 白云: before the window, but its escalation event falls on 11-29 00:02 (counted by event day).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.booking import Booking, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.ticket import Rating, Ticket, TicketEvent
from sharedcourt.domain.clock import TZ

BAIYUN, QUJIANG = "GX330802009", "GX330803001"
FROM, TO = dt.date(2026, 11, 29), dt.date(2026, 12, 2)
PHONE = "13812345678"


def at(month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0) -> dt.datetime:
    """A local time in 2026, as UTC."""
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=TZ).astimezone(dt.timezone.utc)


async def _people(session: AsyncSession) -> dict[str, Any]:
    r1 = Resident(channel="webchat", channel_user_id="stats-r1", name="李四", site_code=BAIYUN)
    r2 = Resident(channel="wechat", channel_user_id="stats-r2", place_code="330803001001")
    r3 = Resident(channel="wecom", channel_user_id="stats-r3")
    staff = Resident(channel="webchat", channel_user_id="stats-staff", is_staff=True)
    session.add_all([r1, r2, r3, staff])
    await session.flush()
    convs = [
        Conversation(resident_id=r.id, channel=r.channel, created_at=when)
        for r, when in ((r1, at(11, 29)), (r2, at(11, 30)), (r3, at(12, 1)), (r1, at(12, 2)), (staff, at(12, 1)),
                        (r2, at(11, 20)))
    ]  # fmt: skip
    session.add_all(convs)
    await session.flush()
    return {"r1": r1, "conv": convs[0]}


def _cases(resident: int, conversation: str) -> list[Case]:
    rows = [(11, 29, BAIYUN, "neighbor"), (11, 30, BAIYUN, "neighbor"), (12, 1, BAIYUN, "debt"),
            (12, 1, QUJIANG, "family"), (12, 2, None, "labor"), (11, 10, BAIYUN, "neighbor")]  # fmt: skip
    return [
        Case(resident_id=resident, conversation_id=conversation, dispute_code=code, site_code=site, created_at=at(m, d))
        for m, d, site, code in rows
    ]


def _tickets(common: dict[str, Any]) -> list[Ticket]:
    sec = dt.timedelta(seconds=1)
    rows: list[tuple[int, dt.datetime, str, str, int | None, str | None, str]] = [
        (1, at(11, 29), BAIYUN, "general", 20, "调解成功", "neighbor"),
        (2, at(11, 30), BAIYUN, "complex", 200, "调解不成", "neighbor"),
        (3, at(12, 1), BAIYUN, "litigation", 45, "转立案", "debt"),
        (4, at(12, 1), QUJIANG, "complex", 700, "调解成功", "family"),
        (5, at(12, 2), BAIYUN, "general", None, None, "neighbor"),
        (6, at(11, 28, 23), BAIYUN, "general", 300, "调解成功", "neighbor"),
        (7, at(12, 1), QUJIANG, "general", 100, "已解答", "other_legal"),
    ]
    tickets = []
    for n, asked, site, rule, took, outcome, code in rows:
        tickets.append(
            Ticket(
                number=f"T8{n:04d}", state="closed" if took else "expired", rule=rule, site_code=site,
                site_name="白云" if site == BAIYUN else "衢江", dispute_code=code, requested_at=asked,
                accepted_at=asked + took * sec if took else None, outcome=outcome, **common,
            )
        )  # fmt: skip
    tickets[1].escalated_at = at(11, 30) + 180 * sec
    tickets[4].escalated_at, tickets[4].expired_at = at(12, 2) + 180 * sec, at(12, 2) + 360 * sec
    return tickets


def _events(t: list[Ticket]) -> list[TicketEvent]:
    sec = dt.timedelta(seconds=1)
    rows = [(t[1], "escalated", at(11, 30) + 180 * sec), (t[4], "escalated", at(12, 2) + 180 * sec),
            (t[4], "expired", at(12, 2) + 360 * sec), (t[5], "escalated", at(11, 29, 0, 2)),
            (t[0], "accepted", at(11, 29) + 20 * sec)]  # fmt: skip
    return [TicketEvent(ticket_id=ticket.id, kind=kind, at=when) for ticket, kind, when in rows]


def _ratings(t: list[Ticket]) -> list[Rating]:
    rows = [(t[0], 5, f"李四很满意，调解员回电{PHONE}", at(11, 29, 12)), (t[1], 2, "", at(11, 30, 12)),
            (t[3], 4, "很好", at(12, 1, 12)), (t[5], 3, "旧的", at(11, 28, 23, 30))]  # fmt: skip
    return [Rating(ticket_id=ticket.id, score=s, comment=c, created_at=when) for ticket, s, c, when in rows]


async def _bookings(session: AsyncSession, common: dict[str, Any], case: int) -> None:
    slots = [Slot(site_code=site, seat_key=f"stats{i}", starts_at=at(m, d, 9), ends_at=at(m, d, 10), capacity=cap,
                  status=status)
             for i, (site, m, d, cap, status) in enumerate([(BAIYUN, 11, 30, 2, "open"), (BAIYUN, 12, 1, 1, "open"),
                 (BAIYUN, 12, 2, 3, "closed"), (QUJIANG, 12, 1, 2, "open"), (BAIYUN, 11, 20, 5, "open")])]  # fmt: skip
    session.add_all(slots)
    await session.flush()
    taken = [(0, "confirmed"), (0, "attended"), (1, "cancelled"), (1, "no_show"), (3, "rescheduled"),
             (2, "cancelled"), (4, "attended")]  # fmt: skip
    for index, status in taken:
        slot = slots[index]
        session.add(
            Booking(slot_id=slot.id, case_id=case, site_code=slot.site_code, starts_at=slot.starts_at,
                    ends_at=slot.ends_at, status=status, **common)
        )  # fmt: skip


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The four days' rows."""
    async with sessions() as session, session.begin():
        people = await _people(session)
        common = {"resident_id": people["r1"].id, "conversation_id": people["conv"].id}
        cases = _cases(people["r1"].id, people["conv"].id)
        session.add_all(cases)
        tickets = _tickets(common)
        session.add_all(tickets)
        await session.flush()
        session.add_all(_events(tickets) + _ratings(tickets))
        await _bookings(session, common, cases[0].id)
