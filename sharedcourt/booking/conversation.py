"""The chat steps of booking (issue 5): another site, book a slot, time preferences, callbacks.

Each step takes the action server's session factory, the resident's latest turn (`Heard`) and the clock's `now`,
and answers a `Step`: the replies to say and the slots to set. Button payloads carry ids in the `booking_choice`
entity; the router turns a typed "2" into the second button. Finding the site is in sharedcourt.booking.finding;
my bookings, cancel and reschedule are in sharedcourt.booking.manage. A booking being moved (the
`booking_reschedule` slot, the caller's word) must be the conversation's own resident's (`manage.owns`).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking import manage, service
from sharedcourt.booking.offers import offer_at_site, slot_offer
from sharedcourt.booking.preferences import parse_preference, pick_by_number
from sharedcourt.booking.turns import MY_BOOKINGS, OFFERED, RESCHEDULE, SITE, Step, as_int, cleared, numbered, payload
from sharedcourt.booking.views import view_of
from sharedcourt.db.booking import Booking
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.domain.values import mask_personal_data, parse_phone
from sharedcourt.errors import Conflict, NotFound, SlotFull
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.sites import finder
from sharedcourt.sites.finder import PLACE, STAGE, Heard

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]


async def choose_site(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """The resident picked a site (from "换一个共享法庭"): offer its slots."""
    code = heard.choice or heard.slot(SITE)
    async with unit_of_work(sessions) as session:
        site = await session.get(Site, code) if code else None
        if site is None:
            return Step([Reply("抱歉，没有找到这个共享法庭，请重新选择。")])
        intro = f"好的，为您改到{site.name}。地址：{site.address or '待公布'}，电话：{site.phone or '待公布'}。\n"
        return await offer_at_site(session, site, now, intro=intro, reschedule=as_int(heard.slot(RESCHEDULE)))


async def other_site(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """ "换一个共享法庭": the alternatives of the nearest-site choice, then the way to name another place."""
    async with unit_of_work(sessions) as session:
        case = await service.bookable_case(session, heard.conversation_id)
        resident = await service.resident_for_conversation(session, heard.conversation_id)
        chosen = await finder.choose_site_for(session, heard, case, resident)
    current = heard.slot(SITE)
    alternatives = [s for s in ([chosen.site, *chosen.alternatives] if chosen else []) if s.code != current]
    buttons = [Button(s.name, payload("choose_site", s.code)) for s in alternatives[:4]]
    buttons.append(Button("按地址找其他共享法庭", "/find_site_elsewhere"))
    text = f"可以选择这些共享法庭：\n{numbered(buttons)}\n也可以直接告诉我您想去的乡镇或村。"
    return Step([Reply(text, tuple(buttons))], {STAGE: "booking_place", PLACE: None})


async def _book_or_move(session: AsyncSession, heard: Heard, slot_id: int, now: dt.datetime) -> Booking | None:
    """Move the booking being rescheduled, else book the conversation's case; None when there is no case."""
    moving = as_int(heard.slot(RESCHEDULE))
    if moving is not None:
        return await service.reschedule(session, moving, slot_id, now=now)
    case = await service.bookable_case(session, heard.conversation_id)
    if case is None:
        return None
    return await service.book(session, case_id=case.id, slot_id=slot_id, now=now)


async def _not_booked(sessions: Sessions, heard: Heard, now: dt.datetime, exc: Conflict | NotFound) -> Step:
    """The seat was taken meanwhile: offer the site's slots again; any other refusal is said as it is."""
    async with unit_of_work(sessions) as session:
        site = await session.get(Site, heard.slot(SITE) or "")
        if site is None or not isinstance(exc, SlotFull | NotFound):
            return Step([Reply(f"预约没有成功：{exc}。可以说“我的预约”查看。")], cleared())
        intro = "抱歉，这个时间刚刚被约满了。"
        return await offer_at_site(session, site, now, intro=intro, reschedule=as_int(heard.slot(RESCHEDULE)))


async def book_slot(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """A slot was chosen: book it (or move the booking being rescheduled) and confirm."""
    slot_id = as_int(heard.choice)
    if slot_id is None:
        slot_id = pick_by_number([int(i) for i in heard.slot(OFFERED) or []], heard.text)
    if slot_id is None:
        return Step([Reply("请回复上面时间前面的序号，或者告诉我您哪天方便。")])
    moving = as_int(heard.slot(RESCHEDULE))
    try:
        async with unit_of_work(sessions) as session:
            if moving is not None and not await manage.owns(session, heard.conversation_id, moving):
                log.warning("conversation %s tried to move booking %s, not its own", heard.conversation_id, moving)
                return Step([Reply(manage.NOT_FOUND, (MY_BOOKINGS,))], cleared())
            booked = await _book_or_move(session, heard, slot_id, now)
            info = await view_of(session, booked) if booked is not None else None
    except (Conflict, NotFound) as exc:
        log.info("booking %s for %s failed: %s", slot_id, heard.conversation_id, exc)
        return await _not_booked(sessions, heard, now, exc)
    if info is None:
        return Step([Reply("还没有需要预约的案件。请先说说您遇到的纠纷，我帮您登记后再预约。")], cleared())
    confirmation = info.confirmation_zh()
    if moving is not None:
        confirmation = "改约成功！\n" + confirmation.removeprefix("预约成功！\n")
    return Step([Reply(confirmation)], {**cleared(), SITE: info.site_code}, booked=info.id)


async def slot_preference(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """The resident said when they can come ("周三下午", "下周都行"): offer matching slots (a number books)."""
    if pick_by_number([int(i) for i in heard.slot(OFFERED) or []], heard.text) is not None:
        return await book_slot(sessions, heard, now)
    pref = parse_preference(heard.text, now)
    async with unit_of_work(sessions) as session:
        site = await session.get(Site, heard.slot(SITE) or "")
        if site is None:
            return Step([Reply("请先选择共享法庭。", (Button("找最近的共享法庭", "/find_site"),))])
        if pref is None:
            offer, ids = await slot_offer(session, site, now, intro="没听明白您方便的时间。")
            return Step([offer], {OFFERED: ids})
        offer, ids = await slot_offer(session, site, now, window=pref.window, intro=f"按您说的{pref.describe_zh()}，")
        if not ids:
            intro = f"{pref.describe_zh()}没有空余的时间了。最近还能约的是：\n"
            offer, ids = await slot_offer(session, site, now, intro=intro)
    return Step([offer], {STAGE: "choose_slot", OFFERED: ids})


async def request_callback(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """None of the times fit: record a callback request (asking for a phone number when we have none)."""
    async with unit_of_work(sessions) as session:
        case = await service.bookable_case(session, heard.conversation_id)
        resident = await service.resident_for_conversation(session, heard.conversation_id)
        on_file = (case.facts.get("phone") if case else None) or (resident.phone if resident else None)
        known = parse_phone(heard.text) or on_file
        if not known:
            return Step(
                [Reply("好的。请留一个能联系到您的手机号，工作人员会打电话和您约时间。")], {STAGE: "callback_phone"}
            )
        if resident is None:
            return Step([Reply("好的，已记录。")], cleared())
        await service.request_callback(
            session,
            conversation_id=heard.conversation_id,
            case_id=case.id if case else None,
            site_code=heard.slot(SITE),
            phone=str(known),
            preference=heard.typed,
        )
    text = f"好的，已为您登记回电，工作人员会在工作时间打电话（{mask_personal_data(str(known))}）和您商量调解时间。"
    return Step([Reply(text)], cleared())
