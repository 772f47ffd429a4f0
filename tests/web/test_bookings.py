"""The staff booking JSON API: list, move, close days, cancel, with the staff token."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking import service as bk
from sharedcourt.booking.calendar import Window, ensure_slots, free_slots
from sharedcourt.db.booking import Reminder
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.domain.clock import TZ

HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)  # a Sunday afternoon


async def setup(sessions: async_sessionmaker[AsyncSession], cases: int) -> tuple[Site, list[Case]]:
    """A site with one mediator and its slots, and `cases` confirmed cases of their own residents."""
    tag = uuid.uuid4().hex[:8]
    async with unit_of_work(sessions) as session:
        site = Site(
            code=f"T{tag}", name="测试村共享法庭", level="village", address="测试村文化礼堂", opening_hours=HOURS
        )
        session.add(site)
        session.add(SiteStaff(site_code=site.code, name="调解员1", role="mediator", capacity=1))
        made = []
        for i in range(cases):
            resident = Resident(channel="webchat", channel_user_id=f"r-{tag}-{i}")
            session.add(resident)
            await session.flush()
            conversation = Conversation(resident_id=resident.id, channel="webchat")
            session.add(conversation)
            await session.flush()
            case = Case(
                number=f"GX{tag}{i:04d}", resident_id=resident.id, conversation_id=conversation.id,
                dispute_code="debt", status="confirmed",
            )  # fmt: skip
            session.add(case)
            made.append(case)
        await session.flush()
        await ensure_slots(session, site, NOW, weeks=2)
    return site, made


async def test_staff_http_api(sessions: async_sessionmaker[AsyncSession], database_url: str) -> None:
    from starlette.testclient import TestClient

    from sharedcourt.app import create_app
    from sharedcourt.settings import Settings

    site, (a, b) = await setup(sessions, cases=2)
    async with unit_of_work(sessions) as session:
        first, second, third = await free_slots(session, site.code, NOW, limit=3, window=Window(dt.date(2026, 12, 7)))
        booking = await bk.book(session, case_id=a.id, slot_id=first.id, now=NOW)
        other = await bk.book(session, case_id=b.id, slot_id=third.id, now=NOW)
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": "s3cret"})
    auth = {"Authorization": "Bearer s3cret"}

    def calls() -> None:
        with TestClient(create_app(settings, background=False)) as client:
            assert client.get(f"/staff/bookings?site={site.code}").status_code == 403
            listed = client.get(f"/staff/bookings?site={site.code}", headers=auth).json()
            assert [x["id"] for x in listed["bookings"]] == [booking.id, other.id]
            moved = client.post(
                f"/staff/bookings/{booking.id}/move", json={"slot_id": second.id, "reason": "调解员出差"}, headers=auth
            )
            assert moved.status_code == 200 and moved.json()["when"].startswith("12月7日（周一）09:30")
            again = client.post(
                f"/staff/bookings/{booking.id}/move", json={"slot_id": second.id, "reason": "x"}, headers=auth
            )
            assert again.status_code == 409
            closed = client.post(
                "/staff/closures",
                json={"site_code": site.code, "starts_on": "2026-12-07", "reason": "停电"},
                headers=auth,
            ).json()
            assert closed["closed_slots_with_bookings"] == 2 and len(closed["bookings"]) == 2
            cancelled = client.post(f"/staff/bookings/{other.id}/cancel", json={"reason": "停电"}, headers=auth)
            assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    await asyncio.to_thread(calls)
    async with sessions() as session:
        free = await free_slots(
            session, site.code, NOW, limit=1, window=Window(dt.date(2026, 12, 7), dt.date(2026, 12, 7))
        )
        assert free == []  # the closed day offers nothing, even the seat the cancellation gave back
        kinds = set(await session.scalars(select(Reminder.kind).where(Reminder.kind.in_(["moved", "cancelled"]))))
        assert kinds == {"moved", "cancelled"}
