"""Booking over the real system (web chat -> app -> Rasa -> action server -> database), on SQLite and PostgreSQL.

A resident with a confirmed case (set up in the database as the intake stores it) opens the 找法庭 menu, is told
which site was chosen and why (with address and phone), says when they can come, picks a slot, gets the
confirmation (case number, site, time, address, what to bring, mediator), then lists, reschedules and cancels
the booking from the chat. A staff move through the HTTP API reaches the resident's web chat as a notice sent by
the background reminder loop.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sharedcourt.db.booking import Booking, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work

from .conftest import System, new_sender

# The intake's questions for a wage complaint, answered by a word of the question (as the intake journey does).
from .test_intake_journey import ANSWERS as INTAKE_ANSWERS

pytestmark = pytest.mark.integration
VILLAGE = "330802005001"  # 柯城区新新街道金桂社区


def _db(database_url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = make_engine(database_url)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def confirmed_case(database_url: str, sender: str) -> str:
    """The case the intake stores once the resident confirmed the summary; returns its number."""
    number = f"GX2026{uuid.uuid4().hex[:6].upper()}"

    async def work(sessions: Any) -> None:
        async with unit_of_work(sessions) as session:
            resident = await session.scalar(select(Resident).where(Resident.channel_user_id == sender))
            conversation = await session.scalar(select(Conversation).where(Conversation.resident_id == resident.id))
            session.add(
                Case(
                    number=number,
                    resident_id=resident.id,
                    conversation_id=conversation.id,
                    dispute_code="debt",
                    status="confirmed",
                    facts={"place_code": VILLAGE, "amount_yuan": 23000, "phone": "13812345678"},
                    summary="邻居借了两万三不还",
                )
            )

    _db(database_url, work)
    return number


def texts(reply: dict[str, Any]) -> str:
    return "\n".join(r["text"] for r in reply["replies"])


def buttons(reply: dict[str, Any]) -> list[dict[str, str]]:
    return [b for r in reply["replies"] for b in r.get("buttons") or []]


def number_of(reply: dict[str, Any], startswith: str) -> str:
    titles = [b["title"] for b in buttons(reply)]
    return str(next(i for i, t in enumerate(titles, 1) if t.startswith(startswith)))


def test_book_reschedule_cancel_from_web_chat(system: System) -> None:
    sender = new_sender()
    greeting = system.say(sender, "你好")
    number = confirmed_case(system.settings.database_url, sender)

    # The 找法庭 menu: the site, why, address and phone, then the next free slots as numbered buttons.
    offer = system.say(sender, number_of(greeting, "找最近的共享法庭"))
    text = texts(offer)
    assert "金桂社区共享法庭" in text and "地址" in text and "电话" in text, text
    assert "近期可以预约的时间" in text
    assert [b["title"] for b in buttons(offer)][-2:] == ["这些时间都不合适", "换一个共享法庭"]

    # "周三下午": only Wednesday-afternoon slots are offered.
    wednesday = system.say(sender, "周三下午")
    slot_titles = [b["title"] for b in buttons(wednesday) if "choose_slot" in b["payload"]]
    assert slot_titles and all("（周三）1" in t for t in slot_titles), texts(wednesday)

    confirmed = system.say(sender, "1")
    text = texts(confirmed)
    for part in ("预约成功", number, "金桂社区共享法庭", slot_titles[0], "身份证", "借条", "调解员"):
        assert part in text, (part, text)

    mine = system.say(sender, "我的预约")
    assert slot_titles[0] in texts(mine), texts(mine)

    moved = system.say(sender, number_of(mine, "改时间"))
    assert "近期可以预约的时间" in texts(moved), texts(moved)
    new_title = next(b["title"] for b in buttons(moved) if "choose_slot" in b["payload"])
    rebooked = system.say(sender, "1")
    assert "改约成功" in texts(rebooked) and new_title in texts(rebooked), texts(rebooked)

    asked = system.say(sender, "取消预约")
    assert "确定要取消" in texts(asked), texts(asked)
    cancelled = system.say(sender, number_of(asked, "确定取消"))
    assert "已取消" in texts(cancelled), texts(cancelled)

    async def statuses(sessions: Any) -> list[str]:
        async with sessions() as session:
            rows = await session.scalars(
                select(Booking.status).join(Case, Case.id == Booking.case_id).where(Case.number == number)
            )
            return sorted(rows)

    assert _db(system.settings.database_url, statuses) == ["cancelled", "rescheduled"]


def test_staff_move_reaches_the_resident_as_a_notice(system: System) -> None:
    sender = new_sender()
    greeting = system.say(sender, "你好")
    confirmed_case(system.settings.database_url, sender)
    offer = system.say(sender, number_of(greeting, "找最近的共享法庭"))
    booked = system.say(sender, "1")
    assert "预约成功" in texts(booked), texts(offer) + texts(booked)

    async def ids(sessions: Any) -> tuple[int, int]:
        async with sessions() as session:
            booking = await session.scalar(
                select(Booking)
                .join(Conversation, Conversation.id == Booking.conversation_id)
                .join(Resident, Resident.id == Conversation.resident_id)
                .where(Resident.channel_user_id == sender, Booking.status == "confirmed")
            )
            other = await session.scalar(
                select(Slot.id)
                .where(Slot.site_code == booking.site_code, Slot.starts_at > booking.starts_at, Slot.booked == 0)
                .order_by(Slot.starts_at)
                .limit(1)
            )
            return booking.id, other

    booking_id, slot_id = _db(system.settings.database_url, ids)
    response = httpx.post(
        f"{system.url}/staff/bookings/{booking_id}/move",
        json={"slot_id": slot_id, "reason": "调解员临时外出", "staff": "张主任"},
        headers={"Authorization": f"Bearer {system.settings.staff_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert httpx.post(f"{system.url}/staff/bookings/{booking_id}/move", json={}, timeout=10).status_code == 403
    deadline = time.monotonic() + 60
    notices: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not notices:
        notices = [m for m in system.poll(sender, booked["cursor"])["messages"] if m["kind"] == "notice"]
        time.sleep(0.5)
    assert notices and "调解员临时外出" in notices[0]["text"], notices


def test_from_a_described_dispute_to_a_confirmed_booking(system: System) -> None:
    sender = new_sender()
    reply = system.say(sender, "老板拖欠我三个月工资两万三一直不给 我在柯城区白云街道上班")
    if "对吗" not in texts(reply):
        reply = system.say(sender, number_of(reply, "劳动争议"))
    else:
        reply = system.say(sender, "对")
    for _ in range(15):
        if "以上信息对吗" in texts(reply):
            break
        answer = next((a for word, a in INTAKE_ANSWERS if word in texts(reply)), None)
        assert answer is not None, texts(reply)
        reply = system.say(sender, answer)
    confirm = next(str(i) for i, b in enumerate(buttons(reply), 1) if b["payload"] == "/affirm")
    stored = system.say(sender, confirm)
    assert "案件编号" in texts(stored), texts(stored)

    # "预约调解": the town's site (the resident gave 柯城区白云街道), why, address and phone, then slots.
    offer = system.say(sender, number_of(stored, "预约调解"))
    text = texts(offer)
    assert "白云街道" in text and "共享法庭" in text and "地址" in text and "近期可以预约的时间" in text, text
    booked = system.say(sender, "1")
    text = texts(booked)
    for part in ("预约成功", "案件编号", "白云街道", "身份证", "劳动合同", "调解员"):
        assert part in text, (part, text)
