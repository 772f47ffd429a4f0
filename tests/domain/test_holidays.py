"""The holiday / 调休 calendar booking and handoff share (sharedcourt/data/holidays.yml)."""

from __future__ import annotations

import datetime as dt

from sharedcourt.domain.holidays import HolidayCalendar

WEEKLY = {"mon": ["mon"], "tue": ["tue"], "wed": ["wed"], "thu": ["thu"], "fri": ["fri"], "sat": ["sat"]}
CAL = HolidayCalendar.load()


def test_hours_on_a_holiday_a_makeup_day_and_an_ordinary_day() -> None:
    assert CAL.hours_on(WEEKLY, dt.date(2026, 10, 5)) == ()  # Monday in 国庆
    assert CAL.hours_on(WEEKLY, dt.date(2026, 10, 12)) == ["mon"]
    assert CAL.hours_on(WEEKLY, dt.date(2026, 10, 10)) == ["sat"], "a 调休 Saturday keeps its own hours"
    weekdays_only = {k: v for k, v in WEEKLY.items() if k != "sat"}
    assert CAL.hours_on(weekdays_only, dt.date(2026, 10, 10)) == ["mon"], "else the first weekday's"
    assert CAL.hours_on(weekdays_only, dt.date(2026, 10, 17)) == (), "an ordinary Saturday"
    assert CAL.hours_on(WEEKLY, dt.date(2026, 9, 20)) == ["mon"], "a 调休 Sunday"


def test_years_outside_the_file_close_the_fixed_date_holidays_only() -> None:
    assert not CAL.covers(dt.date(2030, 10, 1))
    assert CAL.holiday(dt.date(2030, 10, 3)) == "国庆节"
    assert CAL.holiday(dt.date(2030, 10, 4)) is None
