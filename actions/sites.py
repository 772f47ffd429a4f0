"""Where is the resident, and which Shared Court serves them (issue 5).

`action_find_site` answers "离我最近的共享法庭在哪" / the 找法庭 menu / the "预约调解" button:
- the place comes from the button the resident chose, the message text (sharedcourt.sites.places), or what we already
  know (the case's place, the resident's place or WeChat location);
- when the place is ambiguous or only a county/town is known, it asks with numbered choices county → town →
  village (never guessing silently);
- the site comes from sharedcourt.sites.registry.nearest_site (special sites for their dispute types, then the village,
  town, county court), said with its reason, address and phone;
- when the conversation has a confirmed case that is not booked yet, it goes on to offer the site's free slots
  (actions/booking.py); otherwise it only answers where the site is.
"""

from __future__ import annotations

import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking import STAGE, Say, choice, latest_text, offer_at_site, payload, say, wiring
from sharedcourt.booking import service as bk
from sharedcourt.db.case import Case
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.sites.places import Gazetteer, Place
from sharedcourt.sites.registry import Location, SiteChoice, SiteRegistry, nearest_site

ACCEPT = "!"  # a place button ending in "!" means "this level is enough" (a town's or county's own site)
REGISTRY_TTL = 300.0
_registry: tuple[float, SiteRegistry] | None = None


async def registry(session: AsyncSession) -> SiteRegistry:
    """The active sites, reloaded from the database every few minutes (imports show up without a restart)."""
    global _registry
    if _registry is None or time.monotonic() - _registry[0] > REGISTRY_TTL:
        _registry = (time.monotonic(), await SiteRegistry.from_session(session))
    return _registry[1]


def known_location(tracker: Tracker, case: Case | None, resident: Any) -> Location | None:
    code = (case.facts.get("place_code") if case else None) or tracker.get_slot("place_code")
    if not code and resident is not None:
        code = resident.place_code
    lat = getattr(resident, "latitude", None)
    lon = getattr(resident, "longitude", None)
    if code or (lat is not None and lon is not None):
        return Location(place_code=code or None, lat=lat, lon=lon)
    return None


async def choose_site_for(session: AsyncSession, tracker: Tracker, case: Case | None) -> SiteChoice | None:
    resident = await bk.resident_for_conversation(session, tracker.sender_id)
    where = known_location(tracker, case, resident)
    if where is None:
        return None
    return await nearest_site(await registry(session), where, case.dispute_code if case else None)


def place_buttons(places: list[Place], accept: Place | None = None) -> list[tuple[str, str]]:
    buttons = [(p.name, payload("choose_place", p.code)) for p in places]
    if accept is not None:
        label = "就选乡镇（街道）的共享法庭" if accept.level == "town" else "不清楚，就选县（市、区）法院"
        buttons.append((label, payload("choose_place", accept.code + ACCEPT)))
    return buttons


def ask_place(places: list[Place], question: str, accept: Place | None = None) -> Say:
    buttons = place_buttons(places, accept)
    lines = "\n".join(f"{i}. {t}" for i, (t, _p) in enumerate(buttons, 1))
    return Say(f"{question}\n{lines}\n请回复序号，或直接告诉我村（社区）的名字。", buttons)


class ActionFindSite(Action):
    def name(self) -> str:
        return "action_find_site"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        gaz = Gazetteer.load()
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        now = wiring.clock()
        async with unit_of_work(wiring.db()) as session:
            case = await bk.bookable_case(session, tracker.sender_id)
            booking_mode = case is not None
            stage = "booking_place" if booking_mode else "place"
            resident = await bk.resident_for_conversation(session, tracker.sender_id)
            place, accepted, question = self._place(tracker, gaz, intent)
            if question is not None:
                say(dispatcher, question[0])
                return [SlotSet(STAGE, stage), SlotSet("booking_place", question[1])]
            if place is None and intent != "find_site_elsewhere":
                where = known_location(tracker, case, resident)
            else:
                where = None
            if place is not None:
                if place.level != "village" and not accepted:
                    ask = self._ask_below(gaz, place)
                    say(dispatcher, ask)
                    return [SlotSet(STAGE, stage), SlotSet("booking_place", place.code)]
                where = Location(place_code=place.code)
                if resident is not None:
                    resident.place_code = place.code
            if where is None:
                counties = sorted(gaz.counties(), key=lambda p: p.code)
                say(dispatcher, ask_place(counties, "请问您在哪个县（市、区）？"))
                return [SlotSet(STAGE, stage), SlotSet("booking_place", None)]
            picked = await nearest_site(await registry(session), where, case.dispute_code if case else None)
            if picked is None:
                say(dispatcher, Say("抱歉，暂时没有找到为您所在地服务的共享法庭，可以拨打12368咨询。"))
                return [SlotSet(STAGE, None)]
            site = await session.get(Site, picked.site.code)
            if site is None:
                say(dispatcher, Say(picked.message_zh()))
                return [SlotSet(STAGE, None)]
            if resident is not None:
                resident.site_code = site.code
            if not booking_mode:
                others = [(s.name, payload("choose_site_info", s.code)) for s in picked.alternatives]
                say(
                    dispatcher, Say(self._describe(picked), [*others, ("按地址找其他共享法庭", "/find_site_elsewhere")])
                )
                return [SlotSet(STAGE, None), SlotSet("booking_place", None), SlotSet("booking_site", site.code)]
            says, events = await offer_at_site(session, site, now, intro=picked.reason_zh + "\n" + self._contact(site))
        say(dispatcher, *says)
        return [*events, SlotSet("booking_place", None)]

    @staticmethod
    def _contact(site: Site) -> str:
        return f"地址：{site.address or '待公布'}；电话：{site.phone or '待公布'}。\n\n"

    @staticmethod
    def _describe(picked: SiteChoice) -> str:
        s = picked.site
        hours = "、".join(picked.site.opening_hours.get("mon", [])) if picked.site.opening_hours else ""
        text = f"{picked.reason_zh}\n{s.name}\n地址：{s.address or '待公布'}\n电话：{s.phone or '待公布'}"
        if hours:
            text += f"\n工作日开放：{hours}（法定节假日休息）"
        if picked.alternatives:
            text += "\n也可以选择：" + "、".join(a.name for a in picked.alternatives)
        return text

    def _place(
        self, tracker: Tracker, gaz: Gazetteer, intent: str | None
    ) -> tuple[Place | None, bool, tuple[Say, str | None] | None]:
        """The place the resident named: (place, accepted-at-this-level, or a question to ask instead)."""
        chosen = choice(tracker)
        if intent == "choose_place" and chosen:
            accepted = chosen.endswith(ACCEPT)
            place = gaz.get(chosen.rstrip(ACCEPT))
            return place, accepted, None
        text = latest_text(tracker)
        if not text or text.startswith("/"):
            return None, False, None
        within = tracker.get_slot("booking_place")
        resolution = gaz.resolve(text, within=within) if within else gaz.resolve(text)
        if not resolution.found:
            if within and tracker.get_slot(STAGE) in ("place", "booking_place"):
                parent = gaz.get(within)
                if parent is not None:
                    return None, False, (self._ask_below(gaz, parent, prefix="没有找到这个地方。"), within)
            return None, False, None
        if resolution.ambiguous:
            options = gaz.choices(resolution)
            return None, False, (ask_place(options, "您说的地方有几个，请选择："), within)
        return resolution.best, False, None

    @staticmethod
    def _ask_below(gaz: Gazetteer, place: Place, prefix: str = "") -> Say:
        children = sorted(gaz.children(place.code), key=lambda p: p.code)
        if place.level == "county":
            return ask_place(children, f"{prefix}您在{place.name}的哪个乡镇（街道）？", accept=place)
        return ask_place(children, f"{prefix}您在{place.full_name}的哪个村（社区）？", accept=place)


class ActionSiteInfo(Action):
    """A site chosen from the alternatives when no booking is in progress: its address and phone."""

    def name(self) -> str:
        return "action_site_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        code = choice(tracker) or ""
        async with unit_of_work(wiring.db()) as session:
            site = await session.get(Site, code)
        if site is None:
            say(dispatcher, Say("抱歉，没有找到这个共享法庭。"))
            return []
        say(dispatcher, Say(f"{site.name}\n地址：{site.address or '待公布'}\n电话：{site.phone or '待公布'}"))
        return [SlotSet("booking_site", site.code)]
