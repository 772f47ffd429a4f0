"""Reminders: stored, claimed once, sent through the channel's route, retried, surviving restarts."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking import service as bk
from sharedcourt.booking import staff as booking_staff
from sharedcourt.booking.calendar import Window, ensure_slots, free_slots
from sharedcourt.booking.reminders import Notice, Reminders, RouterNoticeSender, reminder_text
from sharedcourt.booking.views import BookingView
from sharedcourt.db.booking import Reminder
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.domain.clock import TZ

HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)


class Recorder:
    def __init__(self, fail: int = 0) -> None:
        self.sent: list[Notice] = []
        self.fail = fail

    async def send(self, notice: Notice) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("channel down")
        self.sent.append(notice)


async def booked(
    sessions: async_sessionmaker[AsyncSession],
    channel: str = "webchat",
    *,
    conversation_id: str | None = None,
    site_name: str = "测试村共享法庭",
) -> tuple[int, Case]:
    """A case booked on Wednesday 2 Dec 08:30 (made on Sunday 29 Nov), in a new or the given conversation."""
    code = f"T{uuid.uuid4().hex[:10]}"
    async with unit_of_work(sessions) as session:
        site = Site(code=code, name=site_name, level="village", address="测试村文化礼堂", opening_hours=HOURS)
        session.add(site)
        session.add(SiteStaff(site_code=code, name="王调解", role="mediator", capacity=1))
        if conversation_id is None:
            resident = Resident(channel=channel, channel_user_id=f"u-{uuid.uuid4().hex[:8]}")
            session.add(resident)
            await session.flush()
            conversation = Conversation(resident_id=resident.id, channel=channel)
            session.add(conversation)
            await session.flush()
        else:
            conversation = await session.get_one(Conversation, conversation_id)
            resident = await session.get_one(Resident, conversation.resident_id)
        case = Case(
            number=f"N{uuid.uuid4().hex[:8]}",
            resident_id=resident.id,
            conversation_id=conversation.id,
            dispute_code="labor",
            status="confirmed",
        )
        session.add(case)
        await session.flush()
        await ensure_slots(session, site, NOW, weeks=1)
        (slot,) = await free_slots(session, code, NOW, limit=1, window=Window(dt.date(2026, 12, 2)))
        slot_id = slot.id
        b = await bk.book(session, case_id=case.id, slot_id=slot_id, now=NOW)
        return b.id, case


async def test_reminders_due_times_and_sending(sessions: async_sessionmaker[AsyncSession]) -> None:
    booking_id, _case = await booked(sessions)
    async with sessions() as session:
        rows = {r.kind: r for r in await session.scalars(select(Reminder).where(Reminder.booking_id == booking_id))}
    assert rows["day_before"].due_at.astimezone(TZ) == dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
    assert rows["two_hours"].due_at.astimezone(TZ) == dt.datetime(2026, 12, 2, 6, 30, tzinfo=TZ)
    web = Recorder()
    service = Reminders(sessions, {"webchat": web})
    assert await service.run_due(dt.datetime(2026, 12, 1, 9, 59, tzinfo=TZ)) == 0
    # A new process (a restart) finds the same rows: nothing is kept in memory.
    service = Reminders(sessions, {"webchat": web})
    assert await service.run_due(dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)) == 1
    assert await service.run_due(dt.datetime(2026, 12, 1, 10, 5, tzinfo=TZ)) == 0
    assert await service.run_due(dt.datetime(2026, 12, 2, 6, 31, tzinfo=TZ)) == 1
    assert [n.kind for n in web.sent] == ["day_before", "two_hours"]
    assert "明天" in web.sent[0].text and "身份证" in web.sent[0].text and "劳动合同" in web.sent[0].text
    assert "08:30" in web.sent[1].text and "测试村共享法庭" in web.sent[1].text
    async with sessions() as session:
        statuses = set(await session.scalars(select(Reminder.status).where(Reminder.booking_id == booking_id)))
    assert statuses == {"sent"}


async def test_concurrent_workers_send_each_reminder_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    for _ in range(5):
        await booked(sessions)
    web = Recorder()
    workers = [Reminders(sessions, {"webchat": web}) for _ in range(4)]
    at = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
    counts = await asyncio.gather(*(w.run_due(at) for w in workers))
    assert sum(counts) >= 5
    ids = [n.reminder_id for n in web.sent]
    assert len(ids) == len(set(ids))


async def test_failure_is_retried_then_sent(sessions: async_sessionmaker[AsyncSession]) -> None:
    booking_id, _ = await booked(sessions)
    web = Recorder(fail=1)
    service = Reminders(sessions, {"webchat": web})
    at = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
    assert await service.run_due(at) == 0
    async with sessions() as session:
        r = await session.scalar(
            select(Reminder).where(Reminder.booking_id == booking_id, Reminder.kind == "day_before")
        )
        assert r is not None and r.status == "pending" and r.attempts == 1 and "channel down" in (r.last_error or "")
    assert await service.run_due(at + dt.timedelta(minutes=2)) == 1


async def test_crashed_claim_is_taken_over_after_the_lease(sessions: async_sessionmaker[AsyncSession]) -> None:
    await booked(sessions)
    at = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
    crashed = Reminders(sessions, {})
    assert len(await crashed.claim(at)) >= 1  # claimed, then the process died before sending
    web = Recorder()
    service = Reminders(sessions, {"webchat": web})
    assert await service.run_due(at + dt.timedelta(minutes=1)) == 0
    assert await service.run_due(at + dt.timedelta(minutes=6)) >= 1


async def test_cancelled_booking_sends_no_reminder_but_the_staff_notice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    booking_id, _ = await booked(sessions)
    async with unit_of_work(sessions) as session:
        await booking_staff.staff_cancel(session, booking_id, staff="张主任", reason="调解室维修", now=NOW)
    web = Recorder()
    service = Reminders(sessions, {"webchat": web})
    assert await service.run_due(NOW + dt.timedelta(seconds=1)) == 1
    assert await service.run_due(dt.datetime(2026, 12, 2, 7, 0, tzinfo=TZ)) == 0
    assert [n.kind for n in web.sent] == ["cancelled"]
    assert "调解室维修" in web.sent[0].text


async def test_router_notice_is_stored_for_web_chat_polling(sessions: async_sessionmaker[AsyncSession]) -> None:
    from sharedcourt.messaging.router import Router

    booking_id, case = await booked(sessions)
    router = Router(sessions, rasa=None)  # type: ignore[arg-type]
    service = Reminders(sessions, {"webchat": RouterNoticeSender(router)})
    assert await service.run_due(dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)) == 1
    async with sessions() as session:
        stored = await session.scalar(
            select(Message).where(Message.conversation_id == case.conversation_id, Message.kind == "notice")
        )
    assert stored is not None and stored.direction == "out" and "温馨提醒" in stored.text
    assert stored.payload["custom"]["booking_id"] == booking_id


def test_reminder_text_two_hours() -> None:
    view = BookingView(
        1, "confirmed", 1, "GX1", "debt", "S", "某村共享法庭", "某村礼堂", "", dt.datetime(2026, 12, 2, 1, 30,
        tzinfo=dt.timezone.utc), dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.timezone.utc), "王调解", "c", "webchat",
    )  # fmt: skip
    assert "09:30" in reminder_text("two_hours", view)
