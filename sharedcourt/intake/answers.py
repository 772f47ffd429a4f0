"""The resident's answer to the question asked: normalised per kind of fact, or asked again in Chinese."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sharedcourt.domain import values
from sharedcourt.intake.extract import count, county_buttons, resolve_place
from sharedcourt.intake.facts import BY_KEY, NOTHING, UNKNOWN
from sharedcourt.intake.words import clean, not_known, says_nothing
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.sites.served import area_name

MAX_RETRIES = 2
_YES = re.compile(r"^(?:有|有的|有啊|有了|出了|出具了|开了|都有|是的|对|买了|有买|有保险)")
_NO = re.compile(r"^(?:没有|没|无|还没|还没有|没出|没开|没买|没给|不清楚)")
_REFUSED = re.compile(r"不方便|不想|不留|不给")


@dataclass(frozen=True)
class Answer:
    """The resident's answer to one question: a value to store, or a re-ask."""

    value: Any = None
    error: Reply | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other slots to set with it (place_name)


@dataclass(frozen=True)
class _Said:
    """One answer being read: the slot asked, the raw and tidied text, and whether to stop re-asking."""

    slot: str
    text: str
    clean: str
    today: dt.date
    give_up: bool


def _value_or_again(value: Any, said: _Said, again: str) -> Answer:
    """The value found; else, after too many tries, the raw text; else the question again."""
    if value is not None:
        return Answer(value)
    if said.give_up:
        return Answer(said.clean)
    return Answer(error=Reply(again))


def _amount(said: _Said) -> Answer:
    amount = values.extract_facts(said.text, said.today).get("amount_yuan")
    return _value_or_again(
        amount, said, "金额没看明白。请说一个数，比如“两万三”“3.5万”“五千块”；不涉及钱可以说“不涉及”。"
    )


def _date(said: _Said) -> Answer:
    found = values.parse_date(said.text, said.today)
    if found is not None and said.slot == "incident_date" and found > said.today:
        return Answer(error=Reply("这个日期还没到呢。请说一下事情已经发生的时间，比如“上个月”“去年十月”。"))
    return _value_or_again(
        found.isoformat() if found is not None else None,
        said,
        "时间没看明白。可以说“上周三”“去年十月”“2024年5月”这样的说法；不记得可以说“不记得”。",
    )


def _phone(said: _Said) -> Answer:
    phone = values.parse_phone(said.text)
    if phone is not None:
        return Answer(phone)
    if said.give_up or _REFUSED.search(said.clean):
        return Answer("未提供")
    return Answer(error=Reply("这个号码好像不对。请输入11位手机号，或0570开头的座机号，比如“0570-8012345”。"))


def _place(said: _Said) -> Answer:
    place = resolve_place(said.text)
    if place is not None and place.code:
        return Answer(place.code, extra={"place_name": place.name})
    if place is not None and place.choices:
        lines = "\n".join(f"{i}. {name}" for i, (_, name) in enumerate(place.choices, 1))
        buttons = tuple(Button(name, name) for _, name in place.choices)
        return Answer(error=Reply("有几个地方叫这个名字，您说的是哪一个？请回复数字：\n" + lines, buttons))
    if said.give_up:
        return Answer("", extra={"place_name": said.clean})
    return Answer(
        error=Reply(
            f"没找到这个地方。请说一下在{area_name()}的哪个县（市、区），最好带上乡镇（街道）或村（社区），"
            "比如“柯城区白云街道”“江山贺村镇”：",
            county_buttons(),
        )
    )


def _count(said: _Said) -> Answer:
    n = 0.5 if "半" in said.clean and said.slot == "months_unpaid" else count(said.clean)
    return _value_or_again(n, said, "请说一个数字，比如“3个月”“二十户”。")


def _yesno(said: _Said) -> Answer:
    short = len(said.clean) <= 3
    if _YES.match(said.clean):
        return Answer("有" if short else said.clean)
    if _NO.match(said.clean):
        return Answer("没有" if short else said.clean)
    return Answer(said.clean)


_BY_KIND: dict[str, Callable[[_Said], Answer]] = {
    "amount": _amount,
    "date": _date,
    "phone": _phone,
    "place": _place,
    "count": _count,
    "yesno": _yesno,
}


def parse_answer(slot: str, text: str, today: dt.date, *, retries: int = 0) -> Answer:
    """Parse the answer to the question for `slot`; after MAX_RETRIES failures the raw text is kept."""
    fact = BY_KEY[slot]
    tidy = clean(text)
    if not tidy:
        return Answer(error=Reply("没有收到内容，请再说一下。"))
    if not_known(tidy) and slot != "phone":
        nothing = says_nothing(tidy) and fact.kind in ("text", "yesno")
        return Answer(NOTHING if nothing else UNKNOWN)
    parse = _BY_KIND.get(fact.kind)
    if parse is None:
        return Answer(tidy)
    return parse(_Said(slot, text, tidy, today, retries >= MAX_RETRIES))


def structured_answer(slot: str | None, text: str, today: dt.date) -> bool:
    """The message answers a number/date/phone/place question (so it is no request to leave the form)."""
    fact = BY_KEY.get(slot or "")
    if fact is None or fact.kind not in ("amount", "date", "phone", "place"):
        return False
    return parse_answer(fact.key, text, today, retries=0).error is None and not not_known(clean(text))
