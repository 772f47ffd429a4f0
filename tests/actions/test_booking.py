"""Booking and site actions against a real database (the committed site registry), without Rasa."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions import booking as actions
from actions import sites as site_actions
from sharedcourt.db.booking import Booking, CallbackRequest
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.domain.clock import TZ
from sharedcourt.sites import finder

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)  # Sunday
VILLAGE = "330802005001"  # 柯城区新新街道金桂社区, which has its own site
VILLAGE_SITE = "GX330802005001"


@pytest.fixture(autouse=True)
def wired(sessions: async_sessionmaker[AsyncSession]) -> Iterator[None]:
    actions.wiring.sessions = sessions
    actions.wiring.clock = lambda: NOW
    finder.forget_registry()
    yield
    actions.wiring.reset()


class Chat:
    """One conversation: runs actions like Rasa would, carrying the slots they set."""

    def __init__(self, conversation_id: str) -> None:
        self.id = conversation_id
        self.slots: dict[str, Any] = {}
        self.said: list[dict[str, Any]] = []

    async def run(
        self, action: Any, text: str = "", intent: str = "inform", choice: str | None = None
    ) -> list[dict[str, Any]]:
        entities = [{"entity": "booking_choice", "value": choice}] if choice is not None else []
        tracker = Tracker(
            self.id,
            dict(self.slots),
            {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities},
            [],
            False,
            None,
            {},
            None,
        )
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, tracker, {})
        for e in events:
            if e.get("event") == "slot":
                self.slots[e["name"]] = e["value"]
        self.said = dispatcher.messages
        return dispatcher.messages

    @property
    def text(self) -> str:
        return "\n".join(str(m.get("text") or "") for m in self.said)

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.said for b in (m.get("buttons") or [])]


async def resident(sessions: async_sessionmaker[AsyncSession], with_case: bool, dispute: str = "debt") -> Chat:
    async with unit_of_work(sessions) as session:
        r = Resident(channel="webchat", channel_user_id=f"u-{uuid.uuid4().hex[:10]}")
        session.add(r)
        await session.flush()
        c = Conversation(resident_id=r.id, channel="webchat")
        session.add(c)
        await session.flush()
        if with_case:
            session.add(
                Case(
                    number=f"GX2026{uuid.uuid4().hex[:6]}",
                    resident_id=r.id,
                    conversation_id=c.id,
                    dispute_code=dispute,
                    status="confirmed",
                    facts={"place_code": VILLAGE, "phone": "13812345678"},
                )
            )
        return Chat(c.id)


def choice_of(button: dict[str, str]) -> str:
    return button["payload"].split('"booking_choice":"', 1)[1].rstrip('"}')


async def test_find_site_asks_county_town_village_then_answers(sessions: async_sessionmaker[AsyncSession]) -> None:
    chat = await resident(sessions, with_case=False)
    await chat.run(site_actions.ActionFindSite(), "离我最近的共享法庭在哪", intent="find_site")
    assert "哪个县" in chat.text and len(chat.buttons) == 6 and chat.slots["booking_stage"] == "place"
    kecheng = next(b for b in chat.buttons if b["title"] == "柯城区")
    await chat.run(site_actions.ActionFindSite(), kecheng["payload"], intent="choose_place", choice=choice_of(kecheng))
    assert "哪个乡镇" in chat.text and chat.slots["booking_place"] == "330802"
    town = next(b for b in chat.buttons if b["title"].startswith("新新"))
    await chat.run(site_actions.ActionFindSite(), town["payload"], intent="choose_place", choice=choice_of(town))
    assert "哪个村" in chat.text and chat.buttons[-1]["title"].startswith("就选乡镇")
    village = next(b for b in chat.buttons if b["title"].startswith("金桂"))
    await chat.run(site_actions.ActionFindSite(), village["payload"], intent="choose_place", choice=choice_of(village))
    assert "金桂社区共享法庭" in chat.text and "地址" in chat.text and "电话" in chat.text
    assert chat.slots["booking_stage"] is None and chat.slots["booking_site"] == VILLAGE_SITE
    # The place is remembered for the next question.
    await chat.run(site_actions.ActionFindSite(), "共享法庭在哪", intent="find_site")
    assert "金桂社区共享法庭" in chat.text


async def test_find_site_from_typed_place_and_town_level(sessions: async_sessionmaker[AsyncSession]) -> None:
    chat = await resident(sessions, with_case=False)
    await chat.run(site_actions.ActionFindSite(), "衢州柯城新新街道金桂社区的共享法庭在哪", intent="find_site")
    assert "金桂社区共享法庭" in chat.text
    chat = await resident(sessions, with_case=False)
    await chat.run(site_actions.ActionFindSite(), "柯城区新新街道", intent="find_site")
    accept = chat.buttons[-1]
    await chat.run(site_actions.ActionFindSite(), accept["payload"], intent="choose_place", choice=choice_of(accept))
    assert "新新街道共享法庭" in chat.text


async def test_booking_journey_book_reschedule_cancel(sessions: async_sessionmaker[AsyncSession]) -> None:
    chat = await resident(sessions, with_case=True)
    await chat.run(site_actions.ActionFindSite(), "/find_site", intent="find_site")
    assert "金桂社区" in chat.text and "地址" in chat.text and "近期可以预约的时间" in chat.text
    assert chat.slots["booking_stage"] == "choose_slot"
    slot_buttons = [b for b in chat.buttons if "choose_slot" in b["payload"]]
    assert len(slot_buttons) == 5 and slot_buttons[0]["title"] == "11月30日（周一）08:30-09:30"
    assert [b["title"] for b in chat.buttons[-2:]] == ["这些时间都不合适", "换一个共享法庭"]
    # "周三下午" narrows the offer.
    await chat.run(actions.ActionSlotPreference(), "周三下午")
    titles = [b["title"] for b in chat.buttons if "choose_slot" in b["payload"]]
    assert titles and all(t.startswith("12月2日（周三）1") for t in titles)
    pick = chat.buttons[0]
    await chat.run(actions.ActionBookSlot(), pick["payload"], intent="choose_slot", choice=choice_of(pick))
    text = chat.text
    for part in ("预约成功", "案件编号", "金桂社区共享法庭", "12月2日（周三）14:00-15:00", "身份证", "借条", "调解员"):
        assert part in text, part
    assert chat.slots["booking_stage"] is None
    # My bookings -> reschedule -> pick -> cancel.
    await chat.run(actions.ActionMyBookings(), "我的预约", intent="my_bookings")
    assert "12月2日（周三）14:00" in chat.text
    resched = next(b for b in chat.buttons if b["title"].startswith("改时间"))
    await chat.run(actions.ActionReschedule(), resched["payload"], intent="reschedule", choice=choice_of(resched))
    assert chat.slots["booking_reschedule"] == choice_of(resched)
    new = chat.buttons[1]
    await chat.run(actions.ActionBookSlot(), new["payload"], intent="choose_slot", choice=choice_of(new))
    assert "改约成功" in chat.text and new["title"] in chat.text
    await chat.run(actions.ActionCancelBooking(), "取消预约", intent="cancel")
    assert "确定要取消" in chat.text and chat.slots["booking_stage"] == "confirm_cancel"
    await chat.run(actions.ActionConfirmCancel(), "是的", intent="affirm")
    assert "已取消" in chat.text
    async with sessions() as session:
        statuses = sorted(
            (
                await session.scalars(
                    select(Booking.status)
                    .join(Conversation, Conversation.id == Booking.conversation_id)
                    .where(Conversation.id == chat.id)
                )
            ).all()
        )
    assert statuses == ["cancelled", "rescheduled"]
    await chat.run(actions.ActionMyBookings(), "我的预约", intent="my_bookings")
    assert "没有待参加" in chat.text


async def test_typed_number_books_the_offered_slot(sessions: async_sessionmaker[AsyncSession]) -> None:
    chat = await resident(sessions, with_case=True)
    await chat.run(site_actions.ActionFindSite(), "/find_site", intent="find_site")
    second = chat.buttons[1]["title"]
    await chat.run(actions.ActionSlotPreference(), "2")
    assert "预约成功" in chat.text and second in chat.text


async def test_none_fit_records_a_callback(sessions: async_sessionmaker[AsyncSession]) -> None:
    chat = await resident(sessions, with_case=True)
    await chat.run(site_actions.ActionFindSite(), "/find_site", intent="find_site")
    await chat.run(actions.ActionRequestCallback(), "这些时间都不合适", intent="none_of_these")
    assert "工作人员" in chat.text and "138****5678" in chat.text
    async with sessions() as session:
        req = await session.scalar(select(CallbackRequest).where(CallbackRequest.conversation_id == chat.id))
    assert req is not None and req.site_code == VILLAGE_SITE and req.phone == "13812345678"


async def test_callback_asks_for_a_phone_when_none_known(sessions: async_sessionmaker[AsyncSession]) -> None:
    chat = await resident(sessions, with_case=False)
    await chat.run(actions.ActionRequestCallback(), "/none_fit", intent="none_fit")
    assert "手机号" in chat.text and chat.slots["booking_stage"] == "callback_phone"
    await chat.run(actions.ActionRequestCallback(), "13900001111")
    assert "已为您登记回电" in chat.text and chat.slots["booking_stage"] is None


async def test_other_site_offers_alternatives(sessions: async_sessionmaker[AsyncSession]) -> None:
    chat = await resident(sessions, with_case=True)
    await chat.run(site_actions.ActionFindSite(), "/find_site", intent="find_site")
    await chat.run(actions.ActionOtherSite(), "/other_site", intent="other_site")
    town = next(b for b in chat.buttons if "新新街道共享法庭" in b["title"])
    await chat.run(actions.ActionChooseSite(), town["payload"], intent="choose_site", choice=choice_of(town))
    assert "新新街道共享法庭" in chat.text and chat.slots["booking_site"] == "GX330802005"


async def test_special_site_wins_for_its_dispute_type(sessions: async_sessionmaker[AsyncSession]) -> None:
    chat = await resident(sessions, with_case=True, dispute="consumer")
    await chat.run(site_actions.ActionFindSite(), "/find_site", intent="find_site")
    assert "消费者权益保护共享法庭" in chat.text and "专门" in chat.text


async def booked(sessions: async_sessionmaker[AsyncSession]) -> tuple[Chat, Booking]:
    """A resident with a case who booked the first slot offered: the chat and the booking."""
    chat = await resident(sessions, with_case=True)
    await chat.run(site_actions.ActionFindSite(), "/find_site", intent="find_site")
    first = chat.buttons[0]
    await chat.run(actions.ActionBookSlot(), first["payload"], intent="choose_slot", choice=choice_of(first))
    assert "预约成功" in chat.text
    async with sessions() as session:
        booking = (await session.scalars(select(Booking).where(Booking.conversation_id == chat.id))).one()
    return chat, booking


async def unchanged(sessions: async_sessionmaker[AsyncSession], booking: Booking) -> None:
    """The booking is exactly as it was, and it is the only one of its case."""
    async with sessions() as session:
        rows = (await session.scalars(select(Booking).where(Booking.case_id == booking.case_id))).all()
    assert [(b.id, b.status, b.slot_id, b.changed_by) for b in rows] == [
        (booking.id, "confirmed", booking.slot_id, "resident")
    ]


async def test_a_forged_booking_to_move_changes_nothing_of_the_owner(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, theirs = await booked(sessions)
    chat = await resident(sessions, with_case=True)
    await chat.run(site_actions.ActionFindSite(), "/find_site", intent="find_site")
    chat.slots["booking_reschedule"] = str(theirs.id)  # a forged tracker
    slot = chat.buttons[2]
    await chat.run(actions.ActionBookSlot(), slot["payload"], intent="choose_slot", choice=choice_of(slot))
    assert chat.text == "找不到这个预约，请在“我的预约”里选择。"
    assert chat.slots["booking_reschedule"] is None
    await unchanged(sessions, theirs)
    async with sessions() as session:
        mine = (await session.scalars(select(Booking).where(Booking.conversation_id == chat.id))).all()
    assert mine == [], "nothing was booked for the forger either"


async def test_a_forged_booking_id_cannot_be_rescheduled_or_cancelled(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, theirs = await booked(sessions)
    chat = await resident(sessions, with_case=True)
    await chat.run(actions.ActionReschedule(), "改时间", intent="reschedule", choice=str(theirs.id))
    assert chat.text == "找不到这个预约，请在“我的预约”里选择。"
    assert "booking_reschedule" not in chat.slots
    await chat.run(actions.ActionCancelBooking(), "取消预约", intent="cancel", choice=str(theirs.id))
    assert chat.text == "找不到这个预约，请在“我的预约”里选择。"
    assert "booking_stage" not in chat.slots
    await chat.run(actions.ActionConfirmCancel(), "确定取消", intent="affirm", choice=str(theirs.id))
    assert chat.text == "找不到这个预约，请在“我的预约”里选择。"
    chat.slots["booking_ref"] = str(theirs.id)
    await chat.run(actions.ActionConfirmCancel(), "是的", intent="affirm")
    assert chat.text == "找不到这个预约，请在“我的预约”里选择。"
    await unchanged(sessions, theirs)


async def test_a_forged_id_reads_like_no_such_booking_and_an_own_old_one_is_gone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    chat, mine = await booked(sessions)
    await chat.run(actions.ActionCancelBooking(), "取消预约", intent="cancel")
    await chat.run(actions.ActionConfirmCancel(), "是的", intent="affirm")
    assert "已取消" in chat.text
    await chat.run(actions.ActionReschedule(), "改时间", intent="reschedule", choice=str(mine.id))
    assert chat.text == "这个预约已经取消或改过了。"
    await chat.run(actions.ActionReschedule(), "改时间", intent="reschedule", choice="999999")
    assert chat.text == "找不到这个预约，请在“我的预约”里选择。"


async def test_booking_without_an_own_case_never_uses_someone_elses(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, theirs = await booked(sessions)
    chat = await resident(sessions, with_case=False)
    chat.slots["booking_site"] = VILLAGE_SITE
    await chat.run(actions.ActionBookSlot(), "1", intent="choose_slot", choice=str(theirs.slot_id))
    assert "还没有需要预约的案件" in chat.text
    await unchanged(sessions, theirs)
