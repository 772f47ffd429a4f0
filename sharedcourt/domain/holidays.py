"""China's public holidays and 调休 working weekend days (sharedcourt/data/holidays.yml), and which weekly hours
apply on a given day: none on a public holiday, a weekday's on a 调休 working weekend day.

Booking (which slots a site offers) and handoff (who is on duty) read the same calendar through `hours_on`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from sharedcourt.data import DATA_DIR
from sharedcourt.domain.clock import WEEKDAYS

HOLIDAYS_YML = DATA_DIR / "holidays.yml"
# Statutory fixed-date holidays (《全国年节及纪念日放假办法》, 2024 revision) for years the calendar lacks.
_FIXED_HOLIDAYS = {
    (1, 1): "元旦",
    (5, 1): "劳动节",
    (5, 2): "劳动节",
    (10, 1): "国庆节",
    (10, 2): "国庆节",
    (10, 3): "国庆节",
}

Span = TypeVar("Span")


@dataclass(frozen=True)
class HolidayCalendar:
    """China's public holidays and 调休 working weekend days, by date."""

    holidays: dict[dt.date, str]
    workdays: dict[dt.date, str]
    years: frozenset[int]

    @classmethod
    def load(cls, path: Path | str | None = None) -> HolidayCalendar:
        """The calendar in holidays.yml (read once per path)."""
        return _load_calendar(str(path or HOLIDAYS_YML))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> HolidayCalendar:
        """The calendar from parsed YAML: per year, holiday ranges and working weekend days."""
        holidays: dict[dt.date, str] = {}
        workdays: dict[dt.date, str] = {}
        for _year, spec in (data.get("years") or {}).items():
            for h in spec.get("holidays") or []:
                day, last = _as_date(h["from"]), _as_date(h["to"])
                while day <= last:
                    holidays[day] = str(h["name"])
                    day += dt.timedelta(days=1)
            for w in spec.get("workdays") or []:
                workdays[_as_date(w["date"])] = str(w["name"])
        return cls(holidays, workdays, frozenset(int(y) for y in (data.get("years") or {})))

    def holiday(self, day: dt.date) -> str | None:
        """The holiday's name when `day` is a public holiday, else None."""
        if day in self.holidays:
            return self.holidays[day]
        if day.year not in self.years:
            return _FIXED_HOLIDAYS.get((day.month, day.day))
        return None

    def is_makeup_workday(self, day: dt.date) -> bool:
        """A weekend day that is a working day (调休上班)."""
        return day in self.workdays

    def covers(self, day: dt.date) -> bool:
        """True when the calendar lists the year of `day` (else only fixed-date holidays are known)."""
        return day.year in self.years

    def hours_on(self, weekly: Mapping[str, Sequence[Span]], day: dt.date) -> Sequence[Span]:
        """The weekly hours ({"mon": [...], ...}) that apply on `day`: none on a public holiday; on a 调休 working
        weekend day the day's own hours, else the first weekday's that has any; otherwise the day's own."""
        if self.holiday(day):
            return ()
        key = WEEKDAYS[day.weekday()]
        if self.is_makeup_workday(day):
            return weekly.get(key) or next((weekly[k] for k in WEEKDAYS[:5] if weekly.get(k)), ())
        return weekly.get(key) or ()


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@functools.lru_cache(maxsize=4)
def _load_calendar(path: str) -> HolidayCalendar:
    with open(path, encoding="utf-8") as f:
        return HolidayCalendar.from_data(yaml.safe_load(f))
