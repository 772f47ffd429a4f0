"""Purging conversations: old enquiries go, idle cases are anonymised, live or young ones stay, files go."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.retention_world import NOW, World, ago, load

from sharedcourt.db.booking import Booking, ReminderOptOut
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.ticket import Rating, Ticket
from sharedcourt.db.wechat import WeChatConsent
from sharedcourt.retention.purge import purge
from sharedcourt.settings import Settings

SETTINGS = Settings()  # the defaults: enquiries one year, cases and evidence three years


async def _messages(sessions: async_sessionmaker[AsyncSession], conversation_id: str) -> int:
    async with sessions() as session:
        count = await session.scalar(select(func.count(Message.id)).where(Message.conversation_id == conversation_id))
        return int(count or 0)


async def test_an_enquiry_past_its_year_is_deleted_and_its_resident_anonymised(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    old = await world.conversation(ago(400), messages=(400, 390))
    young = await world.conversation(ago(300), messages=(300,))
    counts = await purge(sessions, SETTINGS, NOW, dry_run=False)
    assert (counts["enquiries"], counts["enquiry_conversations"], counts["residents"]) == (2, 1, 1)
    assert await _messages(sessions, old.conversation_id) == 0
    resident = await load(sessions, Resident, old.resident_id)
    assert (resident.name, resident.phone, resident.latitude, resident.location_label) == (None, None, None, None)
    assert resident.channel_user_id == f"purged:{old.resident_id}"
    # What statistics count stays: the site, the county of the place, the channel and the dates.
    assert (resident.site_code, resident.place_code, resident.channel) == ("330106-S01", "330106", "wechat")
    assert resident.created_at == ago(400)
    conversation = await load(sessions, Conversation, old.conversation_id)
    assert conversation.purged_at == NOW and conversation.created_at == ago(400)
    assert await _messages(sessions, young.conversation_id) == 1
    assert (await load(sessions, Resident, young.resident_id)).name == "张三"


async def test_an_enquiry_still_in_use_loses_only_its_old_messages(sessions: async_sessionmaker[AsyncSession]) -> None:
    world = World(sessions)
    made = await world.conversation(ago(500), messages=(500, 10))
    counts = await purge(sessions, SETTINGS, NOW, dry_run=False)
    assert (counts["enquiries"], counts["enquiry_conversations"], counts["residents"]) == (1, 0, 0)
    async with sessions() as session:
        left = list(
            await session.scalars(select(Message.created_at).where(Message.conversation_id == made.conversation_id))
        )
    assert left == [ago(10)]
    assert (await load(sessions, Resident, made.resident_id)).phone == "13800001111"
    assert (await load(sessions, Conversation, made.conversation_id)).purged_at is None


async def test_a_case_idle_past_three_years_is_anonymised_and_its_statistics_survive(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    made = await world.case(await world.conversation(ago(1200), messages=(1200, 1150)), ago(1100))
    await world.booking(made, ago(1120), status="attended", changed=ago(1110))
    counts = await purge(sessions, SETTINGS, NOW, dry_run=False)
    assert (counts["cases"], counts["case_messages"], counts["residents"]) == (1, 2, 1)
    assert await _messages(sessions, made.conversation_id) == 0
    case = await load(sessions, Case, made.case_id)
    assert (case.facts, case.summary) == ({}, "")
    assert (case.dispute_code, case.site_code, case.status, case.updated_at) == (
        "neighbor",
        "330106-S01",
        "closed",
        ago(1100),
    )
    ticket = await load(sessions, Ticket, made.ticket_id)
    assert (ticket.summary, ticket.note, ticket.reason) == ("", "", "")
    assert (ticket.outcome, ticket.state, ticket.closed_at) == ("调解成功", "closed", ago(1100))
    async with sessions() as session:
        rating = await session.scalar(select(Rating).where(Rating.ticket_id == made.ticket_id))
    assert rating is not None and (rating.score, rating.comment) == (5, "")
    booking = await load(sessions, Booking, made.booking_id)
    assert (booking.reason, booking.status, booking.starts_at) == (None, "attended", ago(1120))
    assert (await load(sessions, Resident, made.resident_id)).name is None


async def test_a_case_younger_than_its_period_is_untouched(sessions: async_sessionmaker[AsyncSession]) -> None:
    world = World(sessions)
    made = await world.case(await world.conversation(ago(1200), messages=(1200,)), ago(700))
    counts = await purge(sessions, SETTINGS, NOW, dry_run=False)
    assert counts["cases"] == 0 and counts["enquiries"] == 0
    assert await _messages(sessions, made.conversation_id) == 1
    assert (await load(sessions, Case, made.case_id)).facts == {"party": "李四", "amount": 5000}


@pytest.mark.parametrize("live", ["open_ticket", "future_booking"])
async def test_a_case_with_an_open_ticket_or_a_future_booking_is_never_purged(
    sessions: async_sessionmaker[AsyncSession], live: str
) -> None:
    world = World(sessions)
    made = await world.conversation(ago(2000), messages=(2000,))
    made = await world.case(made, ago(1900), ticket_state="accepted" if live == "open_ticket" else "closed")
    if live == "future_booking":
        # Booked long ago for a date still to come: nothing of it changed within the period.
        await world.booking(made, NOW + dt.timedelta(days=3), status="confirmed", changed=ago(1900))
    counts = await purge(sessions, SETTINGS, NOW, dry_run=False)
    assert counts["cases"] == 0 and counts["residents"] == 0
    assert await _messages(sessions, made.conversation_id) == 1
    assert (await load(sessions, Case, made.case_id)).summary != ""
    assert (await load(sessions, Conversation, made.conversation_id)).purged_at is None


async def test_evidence_files_are_deleted_from_disk_and_a_missing_one_is_counted(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    world = World(sessions)
    own, shared, missing, young_file = (tmp_path / f"{n}.jpg" for n in ("own", "shared", "missing", "young"))
    for file in (own, shared, young_file):
        file.write_bytes(b"\xff\xd8 photo")
    old = await world.case(await world.conversation(ago(1200), messages=(1200,)), ago(1100))
    for path in (own, shared, missing, None):
        await world.evidence(old, path, on_case=True, days=1150)
    young = await world.case(await world.conversation(ago(100), messages=(100,)), ago(90))
    await world.evidence(young, shared, on_case=True, days=95)  # the same photo, content-addressed: one file
    await world.evidence(young, young_file, on_case=True, days=95)
    counts = await purge(sessions, SETTINGS, NOW, dry_run=False)
    assert (counts["evidence"], counts["evidence_files"], counts["evidence_files_missing"]) == (4, 1, 1)
    assert not own.exists()
    assert shared.exists() and young_file.exists()
    async with sessions() as session:
        left = list(await session.scalars(select(Evidence.path).order_by(Evidence.id)))
    assert left == [str(shared), str(young_file)]


async def test_an_enquirys_evidence_goes_with_its_messages(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    world = World(sessions)
    photo, recent = tmp_path / "a.jpg", tmp_path / "b.jpg"
    photo.write_bytes(b"photo")
    recent.write_bytes(b"photo 2")
    made = await world.conversation(ago(500), messages=(500,))
    await world.evidence(made, photo, on_case=False, days=480)
    await world.evidence(made, recent, on_case=False, days=20)
    counts = await purge(sessions, SETTINGS, NOW, dry_run=False)
    assert (counts["enquiries"], counts["evidence"], counts["evidence_files"]) == (2, 1, 1)
    assert not photo.exists() and recent.exists()


async def test_a_shorter_evidence_period_takes_files_and_keeps_the_case_text(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    world = World(sessions)
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"photo")
    made = await world.case(await world.conversation(ago(800), messages=(800,)), ago(700))
    await world.evidence(made, photo, on_case=True, days=750)
    counts = await purge(sessions, Settings(retention_evidence_days=365), NOW, dry_run=False)
    assert (counts["evidence"], counts["evidence_files"], counts["cases"]) == (1, 1, 0)
    assert not photo.exists()
    assert await _messages(sessions, made.conversation_id) == 2


async def test_an_anonymised_resident_loses_their_consents_and_opt_outs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    old = await world.conversation(ago(400), messages=(400,))
    young = await world.conversation(ago(300), messages=(300,))
    openids = {}
    async with sessions() as session, session.begin():
        for made in (old, young):
            resident = await session.get_one(Resident, made.resident_id)
            openids[made.resident_id] = resident.channel_user_id
            session.add(WeChatConsent(openid=resident.channel_user_id, template_id="tpl-reminder"))
            session.add(ReminderOptOut(resident_id=made.resident_id))
    await purge(sessions, SETTINGS, NOW, dry_run=False)
    async with sessions() as session:
        consents = set(await session.scalars(select(WeChatConsent.openid)))
        opted_out = set(await session.scalars(select(ReminderOptOut.resident_id)))
    assert consents == {openids[young.resident_id]}
    assert opted_out == {young.resident_id}
