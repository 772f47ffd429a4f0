"""Where is the resident, and which Shared Court serves them: the steps of "离我最近的共享法庭在哪" (issue 5).

- the place comes from the button the resident chose, the message text (sharedcourt.sites.places), or what we already
  know (the case's place, the resident's place or WeChat location);
- when the place is ambiguous or only a county/town is known, it asks with numbered choices county → town →
  village (never guessing silently);
- the site comes from `SiteRegistry.nearest` (special sites for their dispute types, then the village, town,
  county court), described with its reason, address and phone.

The chat step that says this (and, with a case awaiting a booking, offers the site's free slots) is
sharedcourt.booking.finding: replies are built above this layer. `Heard` is the resident's latest turn as the
action server hands it over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Resident
from sharedcourt.db.site import Site
from sharedcourt.sites.live import live
from sharedcourt.sites.places import Gazetteer, Place
from sharedcourt.sites.registry import GUESS_MAX_KM, Location, SiteChoice, SiteRegistry

# Slots (bot/domain/booking.yml): what the next free-text answer means, the place chosen so far, the site.
STAGE = "booking_stage"
PLACE = "booking_place"
ACCEPT = "!"  # a place button ending in "!" means "this level is enough" (a town's or county's own site)
UNKNOWN = "待公布"


@dataclass(frozen=True)
class Heard:
    """The resident's latest turn as the site and booking steps read it (the action builds it from the tracker)."""

    conversation_id: str
    text: str = ""
    intent: str | None = None
    choice: str | None = None  # the `booking_choice` entity: the id a button carried
    slots: Mapping[str, Any] = field(default_factory=dict)

    def slot(self, name: str) -> Any:
        """The value of a slot, None when unset."""
        return self.slots.get(name)

    @property
    def typed(self) -> str:
        """The text when the resident typed it, empty for a button payload ("/intent{...}")."""
        return "" if self.text.startswith("/") else self.text


async def registry(session: AsyncSession) -> SiteRegistry:
    """The active sites in memory: loaded at start-up and kept fresh by the action server
    (sharedcourt.sites.live); an import shows up at the next turn, without a restart."""
    return await live.get(session)


def forget_registry() -> None:
    """Drop the registry in memory: the next step reads the sites again (tests, after an import)."""
    live.forget()


def known_location(heard: Heard, case: Case | None, resident: Resident | None) -> Location | None:
    """Where we already know the resident is: the case's place, the intake slot, their place or coordinates; and
    the site they chose (a site's QR code they scanned, or the site found for them last), which comes first."""
    code = (case.facts.get("place_code") if case else None) or heard.slot("place_code")
    if not code and resident is not None:
        code = resident.place_code
    lat = resident.latitude if resident is not None else None
    lon = resident.longitude if resident is not None else None
    site = resident.site_code if resident is not None else None
    if code or site or (lat is not None and lon is not None):
        return Location(place_code=code or None, lat=lat, lon=lon, site_code=site or None)
    return None


async def choose_site_for(
    session: AsyncSession, heard: Heard, case: Case | None, resident: Resident | None
) -> SiteChoice | None:
    """The site (and its alternatives) for where we already know the resident is; None when we do not know."""
    known = known_location(heard, case, resident)
    return await nearest(session, known, case) if known is not None else None


@dataclass(frozen=True)
class PlaceQuestion:
    """Which place the resident is in: the question, the places to choose from, and the level accepted as enough."""

    question: str
    places: list[Place]
    accept: Place | None = None  # "this level is enough": the town's or county's own site
    within: str | None = None  # the place asked within (the `booking_place` slot)


def _ask_below(gaz: Gazetteer, place: Place, prefix: str = "") -> PlaceQuestion:
    children = sorted(gaz.children(place.code), key=lambda p: p.code)
    if place.level == "city":
        return PlaceQuestion(f"{prefix}您在{place.name}的哪个县（市、区）？", children, None, place.code)
    if place.level == "county":
        return PlaceQuestion(f"{prefix}您在{place.name}的哪个乡镇（街道）？", children, place, place.code)
    return PlaceQuestion(f"{prefix}您在{place.full_name}的哪个村（社区）？", children, place, place.code)


def _near(resident: Resident | None, gaz: Gazetteer) -> str | None:
    """Where the resident is already known to be, to put their own and the nearest counties first in a choice."""
    if resident is None:
        return None
    if resident.place_code:
        return str(resident.place_code)
    if resident.latitude is not None and resident.longitude is not None:
        county = gaz.nearest_county(resident.latitude, resident.longitude, max_km=GUESS_MAX_KM)
        return county.code if county is not None else None
    return None


def _named_place(heard: Heard, gaz: Gazetteer, near: str | None = None) -> tuple[Place | None, bool] | PlaceQuestion:
    """The place the resident named and whether that level is enough, or a question to ask instead."""
    if heard.intent == "choose_place" and heard.choice:
        return gaz.get(heard.choice.rstrip(ACCEPT)), heard.choice.endswith(ACCEPT)
    if not heard.typed:
        return None, False
    within = heard.slot(PLACE)
    resolution = gaz.resolve(heard.text, within=within) if within else gaz.resolve(heard.text)
    if not resolution.found:
        parent = gaz.get(within) if within and heard.slot(STAGE) in ("place", "booking_place") else None
        return _ask_below(gaz, parent, prefix="没有找到这个地方。") if parent is not None else (None, False)
    if resolution.ambiguous:
        return PlaceQuestion("您说的地方有几个，请选择：", gaz.choices(resolution, near), within=within)
    return resolution.best, False


def where(heard: Heard, case: Case | None, resident: Resident | None) -> Location | PlaceQuestion:
    """Where to look for a site, or the next question (county → town → village) when we cannot tell yet.

    A place the resident names is remembered as theirs (`resident.place_code`).
    """
    gaz = Gazetteer.load()
    named = _named_place(heard, gaz, _near(resident, gaz))
    if isinstance(named, PlaceQuestion):
        return named
    place, accepted = named
    if place is not None and place.level != "village" and not accepted:
        return _ask_below(gaz, place)
    if place is not None:
        if resident is not None:
            resident.place_code = place.code
        return Location(place_code=place.code)
    known = known_location(heard, case, resident) if heard.intent != "find_site_elsewhere" else None
    if known is None:
        top = gaz.top()
        level = "市" if top and top[0].level == "city" else "县（市、区）"
        return PlaceQuestion(f"请问您在哪个{level}？", top)
    return known


async def nearest(session: AsyncSession, location: Location, case: Case | None) -> SiteChoice | None:
    """The site for the location and the case's dispute type (special sites first), with its alternatives."""
    return (await registry(session)).nearest(location, case.dispute_code if case else None)


def contact(site: Site) -> str:
    """The site's address and phone in one line."""
    return f"地址：{site.address or UNKNOWN}；电话：{site.phone or UNKNOWN}。\n\n"


def describe(picked: SiteChoice) -> str:
    """Why this site, its address, phone, weekday hours and the alternatives."""
    s = picked.site
    hours = "、".join(s.opening_hours.get("mon", [])) if s.opening_hours else ""
    text = f"{picked.reason_zh}\n{s.name}\n地址：{s.address or UNKNOWN}\n电话：{s.phone or UNKNOWN}"
    if hours:
        text += f"\n工作日开放：{hours}（法定节假日休息）"
    if picked.alternatives:
        text += "\n也可以选择：" + "、".join(a.name for a in picked.alternatives)
    return text


def site_card(site: Site) -> str:
    """A site's name, address and phone."""
    return f"{site.name}\n地址：{site.address or UNKNOWN}\n电话：{site.phone or UNKNOWN}"
