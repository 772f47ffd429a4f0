"""Booking actions (issue 5): offer slots at the chosen site, book, reschedule, cancel, "my bookings", callbacks.

Thin adapters: read the tracker, call `sharedcourt.booking.service` / `sharedcourt.booking.calendar`, say the result, set slots.
Button payloads carry ids in the `booking_choice` entity; the router turns a typed "2" into the second button.

Slots (bot/domain/booking.yml): `booking_stage` (what the next free-text answer means: choose_slot, place,
booking_place, callback_phone, confirm_cancel), `booking_site`, `booking_reschedule` (booking being moved),
`booking_ref` (booking about to be cancelled), `booking_place` (place chosen so far), `booking_offered`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.ext.asyncio import AsyncSession

from actions.wiring import wiring
from sharedcourt.booking import calendar as schedule
from sharedcourt.booking import preferences as prefs
from sharedcourt.booking import service as bk
from sharedcourt.booking import views
from sharedcourt.db.booking import Booking
from sharedcourt.db.case import Case
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.domain.values import parse_phone
from sharedcourt.errors import Conflict, NotFound

log = logging.getLogger(__name__)

OFFER = 5
STAGE = "booking_stage"


# ------------------------------------------------------------------------------------------ process wiring


# ------------------------------------------------------------------------------------------ helpers


@dataclass
class Say:
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)


def say(dispatcher: CollectingDispatcher, *messages: Say) -> None:
    for m in messages:
        buttons = [{"title": t, "payload": p} for t, p in m.buttons]
        dispatcher.utter_message(text=m.text, buttons=buttons or None)


def choice(tracker: Tracker) -> str | None:
    """The `booking_choice` entity of the latest message (a button's id)."""
    value = next(tracker.get_latest_entity_values("booking_choice"), None)
    return str(value) if value is not None else None


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def payload(intent: str, value: str | int) -> str:
    return f'/{intent}{{"booking_choice":"{value}"}}'


def as_int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


async def slot_offer(
    session: AsyncSession,
    site: Site,
    now: dt.datetime,
    *,
    intro: str = "",
    window: schedule.Window | None = None,
) -> tuple[Say, list[int]]:
    """The next free slots at the site as numbered buttons, plus "none fit" and "another site"."""
    await schedule.ensure_slots(session, site, now)
    slots = await schedule.free_slots(session, site.code, now, limit=OFFER, window=window)
    buttons = [(schedule.format_time(s.starts_at, s.ends_at), payload("choose_slot", s.id)) for s in slots]
    buttons += [("这些时间都不合适", "/none_fit"), ("换一个共享法庭", "/other_site")]
    if slots:
        lines = "\n".join(f"{i}. {t}" for i, (t, _p) in enumerate(buttons[: len(slots)], 1))
        text = (
            f"{intro}{site.name}近期可以预约的时间：\n{lines}\n"
            "请回复序号选择；也可以直接告诉我您哪天方便，比如“周三下午”“下周都行”。"
        )
    else:
        text = f"{intro}{site.name}近三周暂时没有空余的调解时间。可以换一个共享法庭，或者留下电话由工作人员联系您安排。"
    return Say(text, buttons), [s.id for s in slots]


async def offer_at_site(
    session: AsyncSession, site: Site, now: dt.datetime, *, intro: str = "", reschedule: int | None = None
) -> tuple[list[Say], list[EventType]]:
    offer, ids = await slot_offer(session, site, now, intro=intro)
    events: list[EventType] = [
        SlotSet(STAGE, "choose_slot"),
        SlotSet("booking_site", site.code),
        SlotSet("booking_offered", ids),
    ]
    if reschedule is not None:
        events.append(SlotSet("booking_reschedule", str(reschedule)))
    return [offer], events


async def _case_for(session: AsyncSession, tracker: Tracker) -> Case | None:
    return await bk.bookable_case(session, tracker.sender_id)


def _clear() -> list[EventType]:
    return [
        SlotSet(STAGE, None),
        SlotSet("booking_reschedule", None),
        SlotSet("booking_ref", None),
        SlotSet("booking_offered", None),
    ]


# ------------------------------------------------------------------------------------------ actions


class ActionChooseSite(Action):
    """The resident picked a site (from "换一个共享法庭"): offer its slots."""

    def name(self) -> str:
        return "action_choose_site"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        code = choice(tracker) or tracker.get_slot("booking_site")
        now = wiring.clock()
        async with unit_of_work(wiring.db()) as session:
            site = await session.get(Site, code) if code else None
            if site is None:
                say(dispatcher, Say("抱歉，没有找到这个共享法庭，请重新选择。"))
                return []
            intro = f"好的，为您改到{site.name}。地址：{site.address or '待公布'}，电话：{site.phone or '待公布'}。\n"
            says, events = await offer_at_site(
                session, site, now, intro=intro, reschedule=as_int(tracker.get_slot("booking_reschedule"))
            )
        say(dispatcher, *says)
        return events


class ActionOtherSite(Action):
    """ "换一个共享法庭": the alternatives of the nearest-site choice, then the way to name another place."""

    def name(self) -> str:
        return "action_other_site"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        from actions.sites import choose_site_for

        async with unit_of_work(wiring.db()) as session:
            case = await _case_for(session, tracker)
            current = tracker.get_slot("booking_site")
            chosen = await choose_site_for(session, tracker, case)
        alternatives = [s for s in ([chosen.site, *chosen.alternatives] if chosen else []) if s.code != current]
        buttons = [(s.name, payload("choose_site", s.code)) for s in alternatives[:4]]
        buttons.append(("按地址找其他共享法庭", "/find_site_elsewhere"))
        lines = "\n".join(f"{i}. {t}" for i, (t, _p) in enumerate(buttons, 1))
        say(dispatcher, Say(f"可以选择这些共享法庭：\n{lines}\n也可以直接告诉我您想去的乡镇或村。", buttons))
        return [SlotSet(STAGE, "booking_place"), SlotSet("booking_place", None)]


class ActionBookSlot(Action):
    """A slot was chosen: book it (or move the booking being rescheduled) and confirm."""

    def name(self) -> str:
        return "action_book_slot"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slot_id = as_int(choice(tracker))
        if slot_id is None:
            offered = tracker.get_slot("booking_offered") or []
            slot_id = prefs.pick_by_number([int(i) for i in offered], latest_text(tracker))
        now = wiring.clock()
        moving = as_int(tracker.get_slot("booking_reschedule"))
        if slot_id is None:
            say(dispatcher, Say("请回复上面时间前面的序号，或者告诉我您哪天方便。"))
            return []
        try:
            async with unit_of_work(wiring.db()) as session:
                if moving is not None:
                    new = await bk.reschedule(session, moving, slot_id, now=now)
                else:
                    case = await _case_for(session, tracker)
                    if case is None:
                        say(dispatcher, Say("还没有需要预约的案件。请先说说您遇到的纠纷，我帮您登记后再预约。"))
                        return _clear()
                    new = await bk.book(session, case_id=case.id, slot_id=slot_id, now=now)
                info = await views.view(session, new.id)
        except (Conflict, NotFound) as exc:
            log.info("booking %s for %s failed: %s", slot_id, tracker.sender_id, exc)
            async with unit_of_work(wiring.db()) as session:
                site = await session.get(Site, tracker.get_slot("booking_site") or "")
                if site is None or "已经" in str(exc):
                    say(dispatcher, Say(f"预约没有成功：{exc}。可以说“我的预约”查看。"))
                    return _clear()
                says, events = await offer_at_site(
                    session, site, now, intro="抱歉，这个时间刚刚被约满了。", reschedule=moving
                )
            say(dispatcher, *says)
            return events
        head = "改约成功！\n" if moving is not None else ""
        say(dispatcher, Say(head + info.confirmation_zh().removeprefix("预约成功！\n" if moving else "")))
        return [*_clear(), SlotSet("booking_site", info.site_code)]


class ActionSlotPreference(Action):
    """The resident said when they can come ("周三下午", "下周都行"): offer matching slots."""

    def name(self) -> str:
        return "action_slot_preference"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = latest_text(tracker)
        now = wiring.clock()
        offered = [int(i) for i in tracker.get_slot("booking_offered") or []]
        picked = prefs.pick_by_number(offered, text)
        if picked is not None:
            return await ActionBookSlot().run(dispatcher, tracker, domain)
        pref = prefs.parse_preference(text, now)
        async with unit_of_work(wiring.db()) as session:
            site = await session.get(Site, tracker.get_slot("booking_site") or "")
            if site is None:
                say(dispatcher, Say("请先选择共享法庭。", [("找最近的共享法庭", "/find_site")]))
                return []
            if pref is None:
                offer, ids = await slot_offer(session, site, now, intro="没听明白您方便的时间。")
                say(dispatcher, offer)
                return [SlotSet("booking_offered", ids)]
            await schedule.ensure_slots(session, site, now)
            offer, ids = await slot_offer(
                session, site, now, window=pref.window, intro=f"按您说的{pref.describe_zh()}，"
            )
            if not ids:
                offer, ids = await slot_offer(
                    session, site, now, intro=f"{pref.describe_zh()}没有空余的时间了。最近还能约的是：\n"
                )
        say(dispatcher, offer)
        return [SlotSet(STAGE, "choose_slot"), SlotSet("booking_offered", ids)]


class ActionRequestCallback(Action):
    """None of the times fit: record a callback request (asking for a phone number when we have none)."""

    def name(self) -> str:
        return "action_request_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = latest_text(tracker)
        phone = parse_phone(text)
        async with unit_of_work(wiring.db()) as session:
            case = await _case_for(session, tracker)
            resident = await bk.resident_for_conversation(session, tracker.sender_id)
            known = phone or (case.facts.get("phone") if case else None) or (resident.phone if resident else None)
            if not known:
                say(dispatcher, Say("好的。请留一个能联系到您的手机号，工作人员会打电话和您约时间。"))
                return [SlotSet(STAGE, "callback_phone")]
            if resident is None:
                say(dispatcher, Say("好的，已记录。"))
                return _clear()
            await bk.request_callback(
                session,
                conversation_id=tracker.sender_id,
                case_id=case.id if case else None,
                site_code=tracker.get_slot("booking_site"),
                phone=str(known),
                preference=text if not text.startswith("/") else "",
            )
        masked = f"{str(known)[:3]}****{str(known)[-4:]}" if len(str(known)) == 11 else str(known)
        say(
            dispatcher,
            Say(f"好的，已为您登记回电，工作人员会在工作时间打电话（{masked}）和您商量调解时间。"),
        )
        return _clear()


class ActionMyBookings(Action):
    def name(self) -> str:
        return "action_my_bookings"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        now = wiring.clock()
        async with unit_of_work(wiring.db()) as session:
            resident = await bk.resident_for_conversation(session, tracker.sender_id)
            mine = await bk.my_bookings(session, resident.id, now) if resident else []
            case = await _case_for(session, tracker)
        if not mine:
            start = [("预约调解", "/find_site")] if case else [("我要调解", "/start_mediation")]
            say(dispatcher, Say("您目前没有待参加的调解预约。", start))
            return []
        lines = []
        buttons: list[tuple[str, str]] = []
        for i, b in enumerate(mine, 1):
            lines.append(f"{i}. {b.line_zh()}\n   地址：{b.address or '待公布'}")
            suffix = f" {i}" if len(mine) > 1 else ""
            buttons += [
                (f"改时间{suffix}", payload("reschedule", b.id)),
                (f"取消预约{suffix}", payload("cancel", b.id)),
            ]
        say(dispatcher, Say("您的预约：\n" + "\n".join(lines), buttons))
        return []


async def _pick_booking(
    dispatcher: CollectingDispatcher, tracker: Tracker, intent: str, verb: str
) -> tuple[views.BookingView | None, list[EventType]]:
    """The booking the resident means: the button's id, else their only one, else ask which."""
    now = wiring.clock()
    wanted = as_int(choice(tracker))
    async with unit_of_work(wiring.db()) as session:
        resident = await bk.resident_for_conversation(session, tracker.sender_id)
        mine = await bk.my_bookings(session, resident.id, now) if resident else []
    if wanted is not None:
        found = next((b for b in mine if b.id == wanted), None)
        if found is None:
            say(dispatcher, Say("这个预约已经取消或改过了。", [("我的预约", "/my_bookings")]))
            return None, []
        return found, []
    if not mine:
        say(dispatcher, Say(f"您目前没有可以{verb}的预约。", [("我的预约", "/my_bookings")]))
        return None, []
    if len(mine) == 1:
        return mine[0], []
    buttons = [(b.line_zh()[:40], payload(intent, b.id)) for b in mine]
    lines = "\n".join(f"{i}. {b.line_zh()}" for i, b in enumerate(mine, 1))
    say(dispatcher, Say(f"您有{len(mine)}个预约，要{verb}哪一个？\n{lines}", buttons))
    return None, []


class ActionCancelBooking(Action):
    """ "取消预约": which booking, then ask to confirm."""

    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        booking, events = await _pick_booking(dispatcher, tracker, "cancel", "取消")
        if booking is None:
            return events
        say(
            dispatcher,
            Say(
                f"确定要取消这个预约吗？\n{booking.line_zh()}",
                [("确定取消", payload("confirm_cancel", booking.id)), ("不取消", "/keep_booking")],
            ),
        )
        return [SlotSet(STAGE, "confirm_cancel"), SlotSet("booking_ref", str(booking.id))]


class ActionConfirmCancel(Action):
    def name(self) -> str:
        return "action_confirm_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        booking_id = as_int(choice(tracker)) or as_int(tracker.get_slot("booking_ref"))
        if booking_id is None:
            say(dispatcher, Say("请先选择要取消的预约。", [("我的预约", "/my_bookings")]))
            return _clear()
        try:
            async with unit_of_work(wiring.db()) as session:
                booking = await session.get(Booking, booking_id)
                resident = await bk.resident_for_conversation(session, tracker.sender_id)
                if booking is None or resident is None or booking.resident_id != resident.id:
                    raise NotFound("booking")
                await bk.cancel(session, booking_id, now=wiring.clock(), by="resident")
                info = await views.view(session, booking_id)
        except (Conflict, NotFound):
            say(dispatcher, Say("这个预约已经取消或改过了。", [("我的预约", "/my_bookings")]))
            return _clear()
        say(
            dispatcher,
            Say(
                f"已取消{info.when_zh}在{info.site_name}的调解预约。案件{info.case_number}仍然保留，需要时可以重新预约。",
                [("重新预约", "/find_site"), ("联系调解员", "/request_human")],
            ),
        )
        return _clear()


class ActionKeepBooking(Action):
    def name(self) -> str:
        return "action_keep_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        say(dispatcher, Say("好的，预约保持不变。"))
        return _clear()


class ActionReschedule(Action):
    """ "改时间": which booking, then the free slots at its site (or straight to the stated preference)."""

    def name(self) -> str:
        return "action_reschedule"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        booking, events = await _pick_booking(dispatcher, tracker, "reschedule", "改时间")
        if booking is None:
            return events
        now = wiring.clock()
        pref = prefs.parse_preference(latest_text(tracker), now) if not latest_text(tracker).startswith("/") else None
        async with unit_of_work(wiring.db()) as session:
            site = await session.get_one(Site, booking.site_code)
            intro = f"现在的预约：{booking.line_zh()}。\n"
            if pref is not None:
                await schedule.ensure_slots(session, site, now)
                offer, ids = await slot_offer(session, site, now, window=pref.window, intro=intro)
                if ids:
                    say(dispatcher, offer)
                    return [
                        SlotSet(STAGE, "choose_slot"),
                        SlotSet("booking_site", site.code),
                        SlotSet("booking_offered", ids),
                        SlotSet("booking_reschedule", str(booking.id)),
                    ]
            says, events = await offer_at_site(session, site, now, intro=intro, reschedule=booking.id)
        say(dispatcher, *says)
        return events
