"""Sites, residents' cases and bookings for the calendar, case page and board tests (beside workspace_world).

A site made here has weekday hours 08:30-12:00 and 14:00-17:30, two mediators (capacity 2 and 1, so a window
holds three cases), a unique code and a place code in the county asked for.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select

from sharedcourt.booking import service as bk
from sharedcourt.booking.calendar import ensure_slots
from sharedcourt.db.booking import Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.domain.clock import TZ

HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}


async def make_site(sessions: Any, county: str = "330802", name: str = "测试村共享法庭") -> str:
    """A site in `county` with two mediators (capacities 2 and 1); returns its code."""
    code = f"T{uuid.uuid4().hex[:10]}"
    async with sessions() as session, session.begin():
        session.add(Site(code=code, name=name, level="village", place_code=f"{county}001001", opening_hours=HOURS))
        session.add(SiteStaff(site_code=code, name="调解员甲", role="mediator", capacity=2))
        session.add(SiteStaff(site_code=code, name="调解员乙", role="mediator", capacity=1))
    return code


async def make_case(sessions: Any, site_code: str | None, channel: str = "webchat", **facts: str) -> int:
    """A confirmed case of a new resident (with its own conversation); returns the case id."""
    tag = uuid.uuid4().hex[:8]
    async with sessions() as session, session.begin():
        resident = Resident(channel=channel, channel_user_id=f"cal-{tag}")
        session.add(resident)
        await session.flush()
        conversation = Conversation(resident_id=resident.id, channel=channel)
        session.add(conversation)
        await session.flush()
        case = Case(
            number=f"AJ{tag}",
            resident_id=resident.id,
            conversation_id=conversation.id,
            dispute_code="debt",
            status="confirmed",
            site_code=site_code,
            facts=dict(facts),
        )
        session.add(case)
        await session.flush()
        return case.id


def local_at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    """That local time as UTC, as slots store it."""
    return dt.datetime.combine(day, dt.time(hour, minute), TZ).astimezone(dt.timezone.utc)


async def slots_at(sessions: Any, site_code: str, starts_at: dt.datetime, now: dt.datetime) -> list[int]:
    """The site's slot ids starting then (its slots made first, from `now`)."""
    async with sessions() as session, session.begin():
        site = await session.get_one(Site, site_code)
        await ensure_slots(session, site, now)
        ids = await session.scalars(
            select(Slot.id).where(Slot.site_code == site_code, Slot.starts_at == starts_at).order_by(Slot.id)
        )
        return list(ids)


async def book(sessions: Any, case_id: int, slot_id: int, now: dt.datetime) -> int:
    """Book the case into the slot as the resident would; returns the booking id."""
    async with sessions() as session, session.begin():
        booking = await bk.book(session, case_id=case_id, slot_id=slot_id, now=now)
        return booking.id
