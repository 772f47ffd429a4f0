"""Time preferences: what "周三下午", "下周都行", "明天上午10点" mean relative to a fixed now."""

from __future__ import annotations

import datetime as dt

from sharedcourt.booking.preferences import parse_preference, pick_by_number
from sharedcourt.domain.clock import TZ

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=TZ)  # a Sunday afternoon


def _pref(text_: str) -> tuple[str | None, str | None, str | None, int | None, bool]:
    p = parse_preference(text_, NOW)
    assert p is not None, text_
    w = p.window
    return (
        w.first_day.isoformat() if w.first_day else None,
        w.last_day.isoformat() if w.last_day else None,
        w.part,
        w.hour,
        p.any_time,
    )


def test_parse_preference() -> None:
    # NOW is Sunday 2026-11-29.
    assert _pref("周三下午") == ("2026-12-02", "2026-12-02", "pm", None, False)
    assert _pref("星期一上午可以") == ("2026-11-30", "2026-11-30", "am", None, False)
    assert _pref("下周都行") == ("2026-11-30", "2026-12-06", None, None, True)
    assert _pref("下周三") == ("2026-12-02", "2026-12-02", None, None, False)
    assert _pref("明天上午10点") == ("2026-11-30", "2026-11-30", "am", 10, False)
    assert _pref("后天下午3点") == ("2026-12-01", "2026-12-01", "pm", 15, False)
    assert _pref("12月3号") == ("2026-12-03", "2026-12-03", None, None, False)
    assert _pref("3号下午") == ("2026-12-03", "2026-12-03", "pm", None, False)
    assert _pref("越快越好") == (None, None, None, None, True)
    assert _pref("下午都行") == (None, None, "pm", None, True)
    assert parse_preference("这些都不合适", NOW) is None
    assert parse_preference("好的", NOW) is None


def test_pick_by_number() -> None:
    assert pick_by_number([7, 8, 9], "2") == 8 and pick_by_number([7, 8, 9], "第3个") == 9
    assert pick_by_number([7, 8, 9], "4") is None and pick_by_number([7], "周三") is None
