"""The chat step of "离我最近的共享法庭在哪" and of a site's address (issue 5), over sharedcourt.sites.finder.

With a confirmed case not booked yet, the site found goes straight on to its free slots; otherwise the answer is
where the site is, with its alternatives.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.booking import service
from sharedcourt.booking.offers import offer_at_site
from sharedcourt.booking.turns import SITE, Step, numbered, payload
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.sites import finder
from sharedcourt.sites.finder import ACCEPT, PLACE, STAGE, Heard, PlaceQuestion

Sessions = async_sessionmaker[AsyncSession]


def ask_place(question: PlaceQuestion, stage: str) -> Step:
    """Ask which place, the places as numbered buttons (and "this level is enough" when it is)."""
    buttons = [Button(p.name, payload("choose_place", p.code)) for p in question.places]
    if question.accept is not None:
        label = "就选乡镇（街道）的共享法庭" if question.accept.level == "town" else "不清楚，就选县（市、区）法院"
        buttons.append(Button(label, payload("choose_place", question.accept.code + ACCEPT)))
    text = f"{question.question}\n{numbered(buttons)}\n请回复序号，或直接告诉我村（社区）的名字。"
    return Step([Reply(text, tuple(buttons))], {STAGE: stage, PLACE: question.within})


async def find_site(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """Where is the nearest Shared Court; with a confirmed case not booked yet, go on to offer its free slots."""
    async with unit_of_work(sessions) as session:
        case = await service.bookable_case(session, heard.conversation_id)
        resident = await service.resident_for_conversation(session, heard.conversation_id)
        where = finder.where(heard, case, resident)
        if isinstance(where, PlaceQuestion):
            return ask_place(where, "booking_place" if case is not None else "place")
        picked = await finder.nearest(session, where, case)
        if picked is None:
            return Step([Reply("抱歉，暂时没有找到为您所在地服务的共享法庭，可以拨打12368咨询。")], {STAGE: None})
        site = await session.get(Site, picked.site.code)
        if site is None:
            return Step([Reply(picked.message_zh())], {STAGE: None})
        if resident is not None:
            resident.site_code = site.code
        if case is not None:
            offer = await offer_at_site(session, site, now, intro=picked.reason_zh + "\n" + finder.contact(site))
            return Step(offer.replies, {**offer.slots, PLACE: None})
    buttons = [Button(s.name, payload("choose_site_info", s.code)) for s in picked.alternatives]
    buttons.append(Button("按地址找其他共享法庭", "/find_site_elsewhere"))
    return Step([Reply(finder.describe(picked), tuple(buttons))], {STAGE: None, PLACE: None, SITE: site.code})


async def site_info(sessions: Sessions, heard: Heard, now: dt.datetime) -> Step:
    """A site chosen from the alternatives when no booking is in progress: its address and phone."""
    async with unit_of_work(sessions) as session:
        site = await session.get(Site, heard.choice or "")
    if site is None:
        return Step([Reply("抱歉，没有找到这个共享法庭。")])
    return Step([Reply(finder.site_card(site))], {SITE: site.code})
