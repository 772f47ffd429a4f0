"""Dates relative to a given today: past and future preference, ranges, incident dates."""

from __future__ import annotations

from datetime import date

import pytest

from sharedcourt.domain.values.dates import parse_date, parse_date_range, parse_incident_date

TODAY = date(2026, 11, 29)  # a Sunday

# Valid IDs (checksums computed by hand with ISO 7064 MOD 11-2).
ID_QUZHOU = "330802199001011232"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("上周三", date(2026, 11, 18)),
        ("上礼拜三", date(2026, 11, 18)),
        ("去年十月", date(2025, 10, 1)),
        ("2023年5月", date(2023, 5, 1)),
        ("前天", date(2026, 11, 27)),
        ("三天前", date(2026, 11, 26)),
        ("上个月15号", date(2026, 10, 15)),
        ("上个月", date(2026, 10, 1)),
        ("今年春节", date(2026, 2, 17)),
        ("昨天晚上", date(2026, 11, 28)),
        ("2023.5.6", date(2023, 5, 6)),
        ("2023-05-06", date(2023, 5, 6)),
        ("23年5月6号", date(2023, 5, 6)),
        ("5月6日", date(2026, 5, 6)),
        ("12月3日", date(2025, 12, 3)),  # no year, would be future: last year's
        ("30号", date(2026, 10, 30)),  # no month, would be future: last month's
        ("11月", date(2026, 11, 1)),
        ("12月份", date(2025, 12, 1)),
        ("两个月前", date(2026, 9, 29)),
        ("半年前", date(2026, 5, 29)),
        ("一年前", date(2025, 11, 29)),
        ("两周前", date(2026, 11, 15)),
        ("他上周三打了我", date(2026, 11, 18)),
        ("5月6号借了他两万", date(2026, 5, 6)),
        ("去年十月开始拖欠工资", date(2025, 10, 1)),
        ("明天", date(2026, 11, 30)),  # parse_date allows the future
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


def test_parse_date_uses_given_today_not_clock() -> None:
    assert parse_date("昨天", date(2020, 3, 1)) == date(2020, 2, 29)
    assert parse_date("上个月", date(2020, 1, 15)) == date(2019, 12, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5月6日", date(2027, 5, 6)),
        ("12月3日", date(2026, 12, 3)),
        ("下周一", date(2026, 11, 30)),
    ],
)
def test_parse_date_prefer_future(text: str, expected: date) -> None:
    assert parse_date(text, TODAY, prefer="future") == expected


def test_parse_date_range() -> None:
    assert parse_date_range("去年十月", TODAY) == (date(2025, 10, 1), date(2025, 10, 31))
    assert parse_date_range("上周", TODAY) == (date(2026, 11, 16), date(2026, 11, 22))
    assert parse_date_range("前天", TODAY) == (date(2026, 11, 27), date(2026, 11, 27))
    assert parse_date_range("没说时间", TODAY) is None


@pytest.mark.parametrize(
    "text",
    ["", "没有日期", "还了2000", "借了3.5万", "他欠我两万三一直不还", "13812345678", ID_QUZHOU, "三天"],
)
def test_parse_date_none(text: str) -> None:
    assert parse_date(text, TODAY) is None


def test_parse_incident_date_accepts_past_and_today() -> None:
    assert parse_incident_date("今天上午", TODAY) == TODAY
    assert parse_incident_date("上周三", TODAY) == date(2026, 11, 18)
    assert parse_incident_date("12月3日", TODAY) == date(2025, 12, 3)


@pytest.mark.parametrize("text", ["明天", "下周一", "2027年1月5日", "明年三月"])
def test_parse_incident_date_rejects_future(text: str) -> None:
    assert parse_date(text, TODAY) is not None
    assert parse_incident_date(text, TODAY) is None
