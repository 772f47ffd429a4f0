"""When the resident can come: "周三下午", "下周都行", "明天上午10点", "越快越好" as a `calendar.Window`.

Built on `sharedcourt.domain.values.parse_date_range` (jionlp) plus the booking-specific rules jionlp lacks (a bare
weekday means the next one, parts of the day, "都行"). Everything is relative to the `now` passed in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sharedcourt.booking.calendar import Window
from sharedcourt.domain.clock import TZ, WEEKDAY_ZH
from sharedcourt.domain.values import parse_date_range

_WEEKDAY = "一二三四五六日天"
_BARE_WEEKDAY = re.compile(r"(?<![上下这本])(?:周|星期|礼拜)([" + _WEEKDAY + r"])")
_NEXT_WEEKDAY = re.compile(r"下(?:个)?(?:周|星期|礼拜)([" + _WEEKDAY + r"])")
_THIS_WEEKDAY = re.compile(r"(?:这|本)(?:个)?(?:周|星期|礼拜)([" + _WEEKDAY + r"])")
_DAY_ONLY = re.compile(r"(?<![月0-9])([0-9]{1,2})\s*(?:号|日)")
_HOUR = re.compile(r"([0-9]{1,2}|[一二两三四五六七八九十]{1,3})\s*(?:点|:00|：00)")
_ASAP = re.compile(r"越快越好|越早越好|尽快|最早|马上|早点|随时|都行|都可以|都有空|随便|无所谓|什么时候都")
_AM = re.compile(r"上午|早上|早晨|上半天|早点的时候")
_PM = re.compile(r"下午|中午|午后|下半天|傍晚")
_WEEKEND = re.compile(r"周末|星期六|星期天|礼拜六|礼拜天|周六|周日")
_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

# The days a preference names: first and last (inclusive, local), and the weekdays allowed (None: every day).
Days = tuple[dt.date | None, dt.date | None, frozenset[int] | None]


def _day_of_month(today: dt.date, day: int) -> dt.date:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return today


def _weekday_index(ch: str) -> int:
    return 6 if ch in "日天" else _WEEKDAY.index(ch)


def _cn_hour(raw: str) -> int | None:
    if raw.isdigit():
        return int(raw)
    if raw == "十":
        return 10
    if raw.startswith("十"):
        return 10 + _CN_NUM.get(raw[1:], 0)
    if raw.endswith("十"):
        return _CN_NUM.get(raw[0], 0) * 10
    if len(raw) == 1:
        return _CN_NUM.get(raw)
    return None


@dataclass(frozen=True)
class Preference:
    """When the resident said they can come."""

    window: Window
    any_time: bool  # "都行"/"越快越好": the earliest slots in the window

    def describe_zh(self) -> str:
        """The preference said back to the resident: '12月2日（周三）下午'."""
        w = self.window
        parts = []
        if w.first_day and w.last_day and w.first_day == w.last_day:
            parts.append(f"{w.first_day.month}月{w.first_day.day}日（{WEEKDAY_ZH[w.first_day.weekday()]}）")
        elif w.first_day and w.last_day:
            parts.append(f"{w.first_day.month}月{w.first_day.day}日至{w.last_day.month}月{w.last_day.day}日")
        if w.part:
            parts.append("上午" if w.part == "am" else "下午")
        if w.hour is not None:
            parts.append(f"{w.hour}点左右")
        return "".join(parts) or "最近"


def _named_weekday(text: str, today: dt.date) -> Days | None:
    """下周三, 这周三, a bare 周三 (the next one, today included), or the weekend."""
    if m := _NEXT_WEEKDAY.search(text):
        monday_next = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
        day = monday_next + dt.timedelta(days=_weekday_index(m.group(1)))
        return day, day, None
    if m := _THIS_WEEKDAY.search(text):
        day = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=_weekday_index(m.group(1)))
        if day < today:
            day += dt.timedelta(days=7)
        return day, day, None
    if (m := _BARE_WEEKDAY.search(text)) and not _WEEKEND.fullmatch(m.group(0)):
        # A bare weekday in a booking means the next one (today included).
        day = today + dt.timedelta(days=(_weekday_index(m.group(1)) - today.weekday()) % 7)
        return day, day, None
    if _WEEKEND.search(text) and not re.search(r"下(?:个)?周末|这(?:个)?周末", text):
        ahead = (5 - today.weekday()) % 7
        first, last = today + dt.timedelta(days=ahead), today + dt.timedelta(days=ahead + 1)
        return (today if today.weekday() == 6 else first), last, frozenset({5, 6})
    return None


def _dates(text: str, today: dt.date) -> Days:
    """ "3号" alone (this month's if still ahead, else next month's), else the dates jionlp reads."""
    if (m := _DAY_ONLY.search(text)) and 1 <= int(m.group(1)) <= 31:
        day = _day_of_month(today, int(m.group(1)))
        return day, day, None
    found = parse_date_range(text, today, prefer="future")
    if found == (today, today) and not re.search(r"今天|今日|今儿", text):
        found = None  # jionlp reads a bare "下午" as this afternoon; for booking it means any afternoon
    if found is None:
        return None, None, None
    first, last = found
    if last < today:
        # "3号" said on the 29th: the next such day; a past week/day moves one period on.
        step = dt.timedelta(days=7 if (last - first).days + 1 <= 7 else 30)
        while last < today:
            first, last = first + step, last + step
    return max(first, today), last, None


def _hour(text: str, part: str | None) -> int | None:
    """The hour named ("10点", "三点"), on the 24-hour clock: "3点" at a court means 15:00."""
    hm = _HOUR.search(text)
    hour = _cn_hour(hm.group(1)) if hm else None
    if hour is not None and part == "pm" and hour < 12:
        hour += 12
    if hour is not None and part is None and 1 <= hour <= 6:
        hour += 12
    return hour if hour is not None and 0 <= hour <= 23 else None


def parse_preference(text: str, now: dt.datetime) -> Preference | None:
    """When the resident can come, relative to `now` (never the real clock); None when nothing is said."""
    today = now.astimezone(TZ).date()
    first, last, weekdays = _named_weekday(text, today) or _dates(text, today)
    part = "am" if _AM.search(text) else "pm" if _PM.search(text) else None
    hour = _hour(text, part)
    any_time = bool(_ASAP.search(text))
    if first is None and part is None and hour is None and not any_time:
        return None
    return Preference(Window(first, last, part, weekdays, hour), any_time)


def pick_by_number(offered: Sequence[int], text: str) -> int | None:
    """'2' -> the second offered id (the router already maps numbers to button payloads; this is a fallback)."""
    m = re.fullmatch(r"\s*(?:第)?([0-9]{1,2})(?:个)?\s*", text)
    if m and 1 <= int(m.group(1)) <= len(offered):
        return offered[int(m.group(1)) - 1]
    return None
