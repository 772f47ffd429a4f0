"""Facts found anywhere in a free-text message, and the Quzhou place a resident names."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sharedcourt.domain import values
from sharedcourt.domain.values.libraries import cn2an
from sharedcourt.messaging.replies import Button

_MONTHS = re.compile(r"([0-9一二两三四五六七八九十半]+)\s?个多?月(?!前|之前|以前)")
_HOUSEHOLDS = re.compile(r"([0-9一二两三四五六七八九十百千]+)\s?(?:多)?户")
_COUNT = re.compile(r"([0-9一二两三四五六七八九十百千]+)")
_IOU = re.compile(r"(没有|没|无)?(?:写|打|签)?(?:了)?(?:借条|欠条|借据)")
_REPORT = re.compile(r"(没有|没|还没|未)?(?:出|开|拿到|做)?(?:了)?(?:事故)?(?:责任)?认定书")
_CASE_NUMBER = re.compile(r"[（(]\s?20\d{2}\s?[)）]\s?浙\s?\d{4}\s?[\u4e00-\u9fff]{1,4}\s?\d{1,6}\s?号")
_COURT = re.compile(r"[\u4e00-\u9fff]{2,12}?(?:人民法院|法院)")
_ESTATE = re.compile(r"(?:住在|住|在|是|我们|我家)?([\u4e00-\u9fff]{2,6}?(?:小区|花园|公寓|家园|苑))")
_WAGES = re.compile(r"工资|薪|工钱|没发|不发|拖欠|欠")


@functools.lru_cache(maxsize=1)
def _gazetteer() -> Any:
    from sharedcourt.sites.places import Gazetteer

    return Gazetteer.load()


def warm_up() -> None:
    """Load the date/money parsers and the gazetteer now (call from a start-up hook, never at import)."""
    values.warm_up()
    _gazetteer()


def count(text: str) -> int | None:
    """The first number in the text, in digits or Chinese ("三", "二十")."""
    match = _COUNT.search(text)
    if not match:
        return None
    raw = match.group(1)
    if raw.isdigit():
        return int(raw)
    try:
        return int(cn2an().cn2an(raw, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class PlaceAnswer:
    """A place the resident named: one code, or the choices when it is ambiguous."""

    code: str | None
    name: str
    choices: list[tuple[str, str]]  # (code, full name) to offer when ambiguous or too vague


def resolve_place(text: str) -> PlaceAnswer | None:
    """A place of the served cities named in the text (None when no place is named)."""
    gaz = _gazetteer()
    res = gaz.resolve(text)
    if not res.found:
        return None
    if res.ambiguous:
        options = gaz.choices(res)[:8]
        return PlaceAnswer(None, "", [(p.code, p.full_name) for p in options])
    best = res.best
    return PlaceAnswer(best.code, best.full_name, [])


def place_name(code: str) -> str:
    """The full name of a place code (the code itself when unknown)."""
    place = _gazetteer().get(code)
    return place.full_name if place else code


def county_buttons() -> tuple[Button, ...]:
    """One button per county of the city served (per city when several are), in code order."""
    gaz = _gazetteer()
    return tuple(Button(p.full_name, p.full_name) for p in gaz.top())


def _place_and_party(text: str, entities: Sequence[Mapping[str, Any]], facts: dict[str, Any]) -> None:
    place = resolve_place(text)
    if place is not None and place.code:
        facts["place_code"] = place.code
        facts["place_name"] = place.name
    for entity in entities:
        if entity.get("entity") == "party" and entity.get("value"):
            facts.setdefault("party", str(entity["value"]))


def _counts(text: str, facts: dict[str, Any]) -> None:
    months = _MONTHS.search(text)
    if months and _WAGES.search(text):
        n = 0.5 if months.group(1) == "半" else count(months.group(1))
        if n:
            facts["months_unpaid"] = n
    households = _HOUSEHOLDS.search(text)
    if households:
        n = count(households.group(1))
        if n:
            facts["households"] = n


def _papers(text: str, facts: dict[str, Any]) -> None:
    iou = _IOU.search(text)
    if iou:
        facts["iou"] = "没有" if iou.group(1) else "有"
    report = _REPORT.search(text)
    if report:
        facts["accident_report"] = "没有" if report.group(1) else "有"
    case_number = _CASE_NUMBER.search(text)
    if case_number:
        facts["judgment_case_number"] = re.sub(r"\s", "", case_number.group(0))
    court = _COURT.search(text)
    if court and court.group(0) not in ("法院", "人民法院"):
        facts["judgment_court"] = court.group(0)
    estate = _ESTATE.search(text)
    if estate:
        facts["estate_name"] = estate.group(1)


def extract(text: str, today: dt.date, entities: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Facts found anywhere in a free-text message (the same extraction `understand_text` reports).

    Keys are slot names: amount_yuan, incident_date, phone, id_number, place_code (+ place_name), party,
    months_unpaid, households, iou, accident_report, judgment_case_number, judgment_court, estate_name.
    """
    # A case number's year and serial ("（2024）浙0802民初123号") are neither money nor a date.
    plain = _CASE_NUMBER.sub(lambda m: "，" * len(m.group(0)), text)
    facts: dict[str, Any] = dict(values.extract_facts(plain, today))
    facts.pop("amount_approximate", None)
    _place_and_party(text, entities, facts)
    _counts(text, facts)
    _papers(text, facts)
    return facts
