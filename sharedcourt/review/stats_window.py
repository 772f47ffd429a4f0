"""The analytics filter (a range of China's calendar days and a county) and the small helpers every figure uses.

A range is [start, end] inclusive. A site key carries its county (GX330802009 -> 330802); a county is named from
the gazetteer. Percentiles are nearest-rank (p90 of 10 values = the 9th).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sharedcourt.domain.clock import TZ, local
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.sites.places import Gazetteer

UNKNOWN = "未知"


@dataclass(frozen=True)
class Window:
    """The figures' filter: local days [start, end] and an optional county code."""

    start: dt.date
    end: dt.date
    county: str = ""

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The UTC instants [from, to) covering the local days."""
        first = dt.datetime.combine(self.start, dt.time(), TZ)
        after = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), TZ)
        return first.astimezone(dt.timezone.utc), after.astimezone(dt.timezone.utc)

    def holds(self, site_code: str | None) -> bool:
        """Whether a site is in the county filter (every site without one)."""
        return not self.county or county_of(site_code) == self.county

    def days(self) -> list[dt.date]:
        """Every local day of the range, in order."""
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def county_of(site_code: str | None) -> str:
    """The county code inside a site key ('' when the key carries none)."""
    code = site_code or ""
    return code[2:8] if len(code) >= 8 and code[2:8].isdigit() else ""


def day_of(instant: dt.datetime) -> str:
    """The China calendar day of a stored instant, as YYYY-MM-DD."""
    return local(instant).date().isoformat()


def month_of(instant: dt.datetime) -> str:
    """The China calendar month of a stored instant, as YYYY-MM."""
    return local(instant).strftime("%Y-%m")


@functools.lru_cache(maxsize=1)
def _county_names() -> dict[str, str]:
    return {p.code: p.name for p in Gazetteer.load().counties()}


def county_name(code: str) -> str:
    """The county's name ('柯城区'), its code when the gazetteer does not know it, 未知 for ''."""
    return _county_names().get(code, code) if code else UNKNOWN


def dispute_label(code: str | None) -> str:
    """The dispute type's Chinese label (未识别 when the case or ticket has none)."""
    return BY_CODE[code].label if code in BY_CODE else "未识别"


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of the values; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def share(part: int, whole: int) -> float | None:
    """part / whole rounded to 4 places; None when whole is 0."""
    return round(part / whole, 4) if whole else None
