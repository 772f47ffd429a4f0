"""China's clock as residents read it: the time zone, weekday names and local time formats."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# Zhejiang keeps China Standard Time all year; every time a resident or staff member reads is in it.
TZ = ZoneInfo("Asia/Shanghai")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
WEEKDAY_ZH_BY_KEY = dict(zip(WEEKDAYS, WEEKDAY_ZH, strict=True))


def local(ts: dt.datetime) -> dt.datetime:
    """The same instant on China's clock."""
    return ts.astimezone(TZ)


def local_minute(ts: dt.datetime) -> str:
    """`2026-12-02 09:30`, China's clock (staff pages)."""
    return local(ts).strftime("%Y-%m-%d %H:%M")
