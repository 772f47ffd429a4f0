"""Booking notices end to end through WeChat (the app, its outbox and WeChat sender, WeChat's stand-in):
staff booking, moving and cancelling through the staff API reach the resident as the purpose's template, and a
reminder the outbox gives up on ends `failed` with the reason, listed for staff by the staff API."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from booking.test_reminders import HOURS
from booking.test_reminders_wechat import reminder_rows, service, settled, wrote_and_booked
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.wechat_harness import APPID, OPENID, SECRET, SUBSCRIBE_IDS, TEMPLATE_IDS, Harness, harness
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.booking.calendar import ensure_slots, free_slots
from sharedcourt.db.base import utcnow
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.db.wechat import WeChatConsent
from sharedcourt.domain.clock import TZ

STAFF_TOKEN = "staff-token-for-the-notice-tests-0123456789"
BEARER = {"Authorization": f"Bearer {STAFF_TOKEN}"}
DAY_BEFORE = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
TWO_HOURS = dt.datetime(2026, 12, 2, 7, 0, tzinfo=TZ)


@pytest.fixture
def api() -> Iterator[WeChatStandIn]:
    with WeChatStandIn(appid=APPID, secret=SECRET) as stand_in:
        yield stand_in


@pytest.fixture
async def h(
    sessions: async_sessionmaker[AsyncSession], database_url: str, api: WeChatStandIn, tmp_path: Any
) -> AsyncIterator[Harness]:
    async with harness(sessions, database_url, api, tmp_path, STAFF_TOKEN=STAFF_TOKEN) as ready:
        yield ready


async def case_with_free_slots(h: Harness) -> tuple[int, list[int], str]:
    """The WeChat resident wrote; their confirmed case awaits a booking at a site with slots from today on."""
    assert await h.reply_text(h.pusher.text(OPENID, "我要预约调解")) is not None
    code = f"T{uuid.uuid4().hex[:10]}"
    now = utcnow()
    async with unit_of_work(h.sessions) as session:
        conversation = (await session.scalars(select(Conversation).where(Conversation.channel == "wechat"))).one()
        site = Site(code=code, name="测试村共享法庭", level="village", address="测试村文化礼堂", opening_hours=HOURS)
        session.add_all([site, SiteStaff(site_code=code, name="王调解", role="mediator", capacity=1)])
        case = Case(
            number=f"N{uuid.uuid4().hex[:8]}",
            resident_id=conversation.resident_id,
            conversation_id=conversation.id,
            dispute_code="labor",
            status="confirmed",
        )
        session.add(case)
        await session.flush()
        await ensure_slots(session, site, now, weeks=3)
        slots = await free_slots(session, code, now + dt.timedelta(days=2), limit=3)
        return case.id, [s.id for s in slots], case.number


async def test_staff_book_move_and_cancel_reach_the_resident_as_templates(h: Harness) -> None:
    case_id, (first, second, _), case_number = await case_with_free_slots(h)
    made = await h.client.post(
        "/staff/bookings", json={"case_id": case_id, "slot_id": first, "staff": "李"}, headers=BEARER
    )
    assert made.status_code == 201, made.text
    booking_id = made.json()["id"]
    loop = service(h)
    assert await loop.run_due(utcnow()) == 1
    await settled(h)
    moved = await h.client.post(
        f"/staff/bookings/{booking_id}/move", json={"slot_id": second, "reason": "调解员出差"}, headers=BEARER
    )
    assert moved.status_code == 200, moved.text
    assert await loop.run_due(utcnow()) == 1
    await settled(h)
    cancelled = await h.client.post(
        f"/staff/bookings/{moved.json()['id']}/cancel", json={"reason": "当事人已和解"}, headers=BEARER
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await loop.run_due(utcnow()) == 1
    await settled(h)
    confirmed, changed, ended = h.api.sent_templates(OPENID)
    assert confirmed["template_id"] == TEMPLATE_IDS["booking_confirmed"]
    assert confirmed["data"]["character_string5"]["value"] == case_number
    assert confirmed["data"]["thing1"]["value"] == "调解预约成功"
    assert changed["template_id"] == ended["template_id"] == TEMPLATE_IDS["booking_changed"]
    assert (changed["data"]["phrase4"]["value"], changed["data"]["thing5"]["value"]) == ("已改期", "调解员出差")
    assert (ended["data"]["phrase4"]["value"], ended["data"]["thing5"]["value"]) == ("已取消", "当事人已和解")
    assert h.api.sent_texts(OPENID) == []
    first_rows = await reminder_rows(h, booking_id)
    assert first_rows["confirmed"].status == "sent"
    assert {first_rows[k].status for k in ("day_before", "two_hours") if k in first_rows} <= {"cancelled"}


async def test_staff_api_refuses_a_booking_without_ids_and_a_stranger(h: Harness) -> None:
    bad = await h.client.post("/staff/bookings", json={"case_id": "1", "slot_id": 2}, headers=BEARER)
    assert bad.status_code == 400
    stranger = await h.client.post("/staff/bookings", json={"case_id": 1, "slot_id": 2})
    assert stranger.status_code in (401, 403)
    assert (await h.client.get("/staff/reminders/failed")).status_code in (401, 403)


async def test_a_reminder_the_outbox_gives_up_on_ends_failed_and_staff_see_why(h: Harness) -> None:
    booking_id = await wrote_and_booked(h)
    h.app.state.outbox.max_attempts = 2
    h.api.fail_next("message/template/send", -1, times=2)  # WeChat busy, twice
    assert await service(h).run_due(DAY_BEFORE) == 1

    async def tried_once() -> bool:
        return await h.count(OutboxItem, OutboxItem.attempts == 1, OutboxItem.status == "queued") == 1

    await h.until(tried_once)
    assert (await reminder_rows(h, booking_id))["day_before"].status == "sent", "queued, the outbox retries later"
    async with unit_of_work(h.sessions) as session:
        await session.execute(update(OutboxItem).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
    h.app.state.outbox.kick()
    await settled(h)

    async def reminder_failed() -> bool:
        # The outbox marks its item failed first; the reminder follows in the failure hook's own transaction.
        return (await reminder_rows(h, booking_id))["day_before"].status == "failed"

    await h.until(reminder_failed)
    assert h.api.sent_templates(OPENID) == [] and h.api.sent_texts(OPENID) == []
    reminder = (await reminder_rows(h, booking_id))["day_before"]
    assert "gave up after 2 attempts" in (reminder.last_error or "") and "WeChat -1" in (reminder.last_error or "")
    listed = await h.client.get("/staff/reminders/failed", headers=BEARER)
    assert listed.status_code == 200
    (row,) = listed.json()["failed"]
    assert (row["reminder_id"], row["kind"], row["booking"]["id"]) == (reminder.id, "day_before", booking_id)
    assert row["reason"] == reminder.last_error and row["booking"]["channel"] == "wechat"
    elsewhere = await h.client.get("/staff/reminders/failed", params={"site": "NOSUCHSITE"}, headers=BEARER)
    assert elsewhere.json() == {"failed": []}


async def test_saying_no_reminders_in_wechat_stops_them_before_rasa(h: Harness) -> None:
    booking_id = await wrote_and_booked(h)
    turns = len(h.rasa.received)
    said = await h.reply_text(h.pusher.text(OPENID, "不用提醒了"))
    assert said is not None and said.startswith("好的，以后不再给您发送调解提醒")
    assert len(h.rasa.received) == turns, "the words are answered before Rasa"
    loop = service(h)
    assert await loop.run_due(DAY_BEFORE) == 0
    assert await loop.run_due(TWO_HOURS) == 0
    await settled(h)
    assert h.api.sent_templates(OPENID) == []
    assert {r.status for r in (await reminder_rows(h, booking_id)).values()} == {"cancelled"}


async def consents(h: Harness) -> list[str]:
    async with h.sessions() as session:
        return list(await session.scalars(select(WeChatConsent.status).order_by(WeChatConsent.id)))


async def test_an_accepted_subscription_carries_one_reminder_then_the_template(h: Harness) -> None:
    booking_id = await wrote_and_booked(h)
    said = await h.accept_subscription(OPENID, SUBSCRIBE_IDS["reminder"], reject=("SUB-OTHER",))
    assert said is not None and "服务通知" in said
    assert await consents(h) == ["granted"], "one row per accept, none for a reject"
    loop = service(h)
    assert await loop.run_due(DAY_BEFORE) == 1
    await settled(h)
    (notice,) = h.api.sent_subscriptions(OPENID)
    assert notice["template_id"] == SUBSCRIBE_IDS["reminder"]
    assert set(notice["data"]) == {"thing1", "time2", "thing3", "character_string4"}
    assert notice["data"]["time2"]["value"] == "2026年12月2日 08:30"
    assert h.api.sent_templates(OPENID) == [] and await consents(h) == ["used"]
    assert await loop.run_due(TWO_HOURS) == 1  # two hours before: no acceptance left
    await settled(h)
    assert len(h.api.sent_subscriptions(OPENID)) == 1
    (template,) = h.api.sent_templates(OPENID)
    assert template["template_id"] == TEMPLATE_IDS["reminder"]
    assert {r.status for r in (await reminder_rows(h, booking_id)).values()} == {"sent"}


async def test_a_subscription_refused_on_wechats_side_falls_back_to_the_template(h: Harness) -> None:
    await wrote_and_booked(h)
    await h.accept_subscription(OPENID, SUBSCRIBE_IDS["reminder"])
    await h.accept_subscription(OPENID, SUBSCRIBE_IDS["reminder"])
    h.api.revoke_subscriptions(OPENID, SUBSCRIBE_IDS["reminder"])  # refused in settings; the push was lost
    assert await service(h).run_due(DAY_BEFORE) == 1
    await settled(h)
    (call,) = h.api.calls("message/subscribe/bizsend")
    assert call.body["_answer"]["errcode"] == 43101
    assert h.api.sent_subscriptions(OPENID) == [] and len(h.api.sent_templates(OPENID)) == 1
    assert await consents(h) == ["refused", "refused"], "43101 voids every consent we held"


async def test_a_later_refusal_in_settings_voids_the_consent(h: Harness) -> None:
    await wrote_and_booked(h)
    await h.accept_subscription(OPENID, SUBSCRIBE_IDS["reminder"])
    h.api.revoke_subscriptions(OPENID, SUBSCRIBE_IDS["reminder"])
    push = h.pusher.subscription_event(OPENID, "subscribe_msg_change_event", [(SUBSCRIBE_IDS["reminder"], "reject")])
    assert await h.reply_text(push) is None
    assert await consents(h) == ["refused"]
    assert await service(h).run_due(DAY_BEFORE) == 1
    await settled(h)
    assert h.api.calls("message/subscribe/bizsend") == [] and len(h.api.sent_templates(OPENID)) == 1


async def test_a_bad_subscription_field_gives_the_consent_back(h: Harness) -> None:
    await wrote_and_booked(h)
    await h.accept_subscription(OPENID, SUBSCRIBE_IDS["reminder"])
    h.api.fail_next("message/subscribe/bizsend", 47003)
    assert await service(h).run_due(DAY_BEFORE) == 1
    await settled(h)
    assert len(h.api.sent_templates(OPENID)) == 1 and await consents(h) == ["granted"]
