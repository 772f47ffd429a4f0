"""The chat steps for bookings already made: "我的预约", cancel (with confirmation), keep, reschedule.

Each step takes the action server's session factory, the resident's latest turn (`Heard`) and `now`, and answers a
`Step` (replies to say, slots to set). Buttons carry the booking's id in the `booking_choice` entity. Booking ids
are sequential and the tracker is the caller's word: every step acts only on a booking of the conversation's own
resident (`owns`), and answers anyone else's id as if there were no such booking.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking import service
from sharedcourt.booking.offers import offer_at_site, slot_offer
from sharedcourt.booking.preferences import parse_preference
from sharedcourt.booking.turns import MY_BOOKINGS, OFFERED, REF, RESCHEDULE, SITE, Step, as_int, cleared, payload
from sharedcourt.booking.views import BookingView, view_of
from sharedcourt.db.booking import Booking
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.errors import Conflict, NotFound
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.sites.finder import STAGE, Heard

Sessions = async_sessionmaker[AsyncSession]
GONE = "这个预约已经取消或改过了。"
NOT_FOUND = "找不到这个预约，请在“我的预约”里选择。"


async def owns(session: AsyncSession, conversation_id: str, booking_id: int) -> bool:
    """Whether the booking is this conversation's resident's (False for anyone else's and for no such booking)."""
    booking = await session.get(Booking, booking_id)
    resident = await service.resident_for_conversation(session, conversation_id)
    return booking is not None and resident is not None and booking.resident_id == resident.id


async def my_bookings(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """The resident's upcoming bookings, each with "改时间" and "取消预约" buttons."""
    async with unit_of_work(sessions) as session:
        resident = await service.resident_for_conversation(session, heard.conversation_id)
        mine = await service.my_bookings(session, resident.id, now) if resident else []
        case = await service.bookable_case(session, heard.conversation_id)
    if not mine:
        start = Button("预约调解", "/find_site") if case else Button("我要调解", "/start_mediation")
        return Step([Reply("您目前没有待参加的调解预约。", (start,))])
    lines = []
    buttons: list[Button] = []
    for i, b in enumerate(mine, 1):
        lines.append(f"{i}. {b.line_zh()}\n   地址：{b.address or '待公布'}")
        suffix = f" {i}" if len(mine) > 1 else ""
        buttons += [
            Button(f"改时间{suffix}", payload("reschedule", b.id)),
            Button(f"取消预约{suffix}", payload("cancel", b.id)),
        ]
    return Step([Reply("您的预约：\n" + "\n".join(lines), tuple(buttons))])


async def _pick_booking(
    sessions: Sessions, heard: Heard, now: dt.datetime, intent: str, verb: str
) -> BookingView | Step:
    """The booking the resident means: the button's id, else their only one, else ask which."""
    wanted = as_int(heard.choice)
    async with unit_of_work(sessions) as session:
        resident = await service.resident_for_conversation(session, heard.conversation_id)
        mine = await service.my_bookings(session, resident.id, now) if resident else []
        found = next((b for b in mine if b.id == wanted), None)
        if wanted is not None and found is None:
            gone = await owns(session, heard.conversation_id, wanted)
            return Step([Reply(GONE if gone else NOT_FOUND, (MY_BOOKINGS,))])
    if found is not None:
        return found
    if not mine:
        return Step([Reply(f"您目前没有可以{verb}的预约。", (MY_BOOKINGS,))])
    if len(mine) == 1:
        return mine[0]
    buttons = tuple(Button(b.line_zh()[:40], payload(intent, b.id)) for b in mine)
    lines = "\n".join(f"{i}. {b.line_zh()}" for i, b in enumerate(mine, 1))
    return Step([Reply(f"您有{len(mine)}个预约，要{verb}哪一个？\n{lines}", buttons)])


async def cancel_booking(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """ "取消预约": which booking, then ask to confirm."""
    booking = await _pick_booking(sessions, heard, now, "cancel", "取消")
    if isinstance(booking, Step):
        return booking
    buttons = (Button("确定取消", payload("confirm_cancel", booking.id)), Button("不取消", "/keep_booking"))
    reply = Reply(f"确定要取消这个预约吗？\n{booking.line_zh()}", buttons)
    return Step([reply], {STAGE: "confirm_cancel", REF: str(booking.id)})


async def _cancel_own(session: AsyncSession, conversation_id: str, booking_id: int, now: dt.datetime) -> BookingView:
    """Cancel the booking if it is this conversation's resident's; NotFound when it is not theirs."""
    if not await owns(session, conversation_id, booking_id):
        raise NotFound(f"booking {booking_id}")
    return await view_of(session, await service.cancel(session, booking_id, now=now, by="resident"))


async def confirm_cancel(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """The resident confirmed: cancel the booking (their own, still confirmed) and keep the case."""
    booking_id = as_int(heard.choice) or as_int(heard.slot(REF))
    if booking_id is None:
        return Step([Reply("请先选择要取消的预约。", (MY_BOOKINGS,))], cleared())
    try:
        async with unit_of_work(sessions) as session:
            info = await _cancel_own(session, heard.conversation_id, booking_id, now)
    except NotFound:
        return Step([Reply(NOT_FOUND, (MY_BOOKINGS,))], cleared())
    except Conflict:
        return Step([Reply(GONE, (MY_BOOKINGS,))], cleared())
    text = f"已取消{info.when_zh}在{info.site_name}的调解预约。案件{info.case_number}仍然保留，需要时可以重新预约。"
    return Step([Reply(text, (Button("重新预约", "/find_site"), Button("联系调解员", "/request_human")))], cleared())


async def keep_booking(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """The resident did not cancel after all."""
    return Step([Reply("好的，预约保持不变。")], cleared())


async def reschedule(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """ "改时间": which booking, then the free slots at its site (or straight to the stated preference)."""
    booking = await _pick_booking(sessions, heard, now, "reschedule", "改时间")
    if isinstance(booking, Step):
        return booking
    pref = parse_preference(heard.typed, now) if heard.typed else None
    async with unit_of_work(sessions) as session:
        site = await session.get_one(Site, booking.site_code)
        intro = f"现在的预约：{booking.line_zh()}。\n"
        if pref is not None:
            offer, ids = await slot_offer(session, site, now, window=pref.window, intro=intro)
            if ids:
                slots = {STAGE: "choose_slot", SITE: site.code, OFFERED: ids, RESCHEDULE: str(booking.id)}
                return Step([offer], slots)
        return await offer_at_site(session, site, now, intro=intro, reschedule=booking.id)
