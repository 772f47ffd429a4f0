"""Dates relative to a given ``today`` (never the real clock): jionlp plus rules for the forms it misses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sharedcourt.domain.values.contacts import LONG_NUMBER, id_spans, phone_spans
from sharedcourt.domain.values.libraries import jionlp, to_decimal
from sharedcourt.domain.values.text import shadow_text

Prefer = Literal["past", "future"]


_CN_NUM = "0-9零〇一二两三四五六七八九十"
_AGO = re.compile(r"([" + _CN_NUM + r"]+|半)\s?(个月|个多月|年|周|个星期|个礼拜|星期|礼拜)(?:之|以)?前")
_BARE_MONTH = re.compile(r"(?<![0-9年])([" + _CN_NUM + r"]{1,3})\s?月份?(?![0-9零〇一二两三四五六七八九十]|[日号])")
_LAST_MONTH = re.compile(r"上个?月(?![0-9零〇一二两三四五六七八九十]|[初中底末])")
_YEAR_WORDS = re.compile(r"年|[0-9]{4}|[今去前明后昨上下本这该当]|周|星期|礼拜|节|春|夏|秋|冬|除夕|元旦")
_MONTH_DAY = re.compile(r"月|[0-9]{1,2}[./-][0-9]{1,2}")
_DAY_ONLY = re.compile(r"^[" + _CN_NUM + r"]{1,3}\s?[号日]$")


def _small_number(s: str) -> int | None:
    if s == "半":
        return None
    value = to_decimal(s)
    return int(value) if value is not None and value == int(value) and 0 < value < 1000 else None


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _time_base(today: date) -> dict[str, int]:
    return {"year": today.year, "month": today.month, "day": today.day, "hour": 12, "minute": 0, "second": 0}


def _to_date(value: str) -> date:
    return datetime.strptime(value[:10], "%Y-%m-%d").date()


@dataclass(frozen=True)
class _DateHit:
    start: int
    end: int
    first: date
    last: date


def _rule_hits(text: str, today: date, prefer: Prefer) -> list[_DateHit]:
    """Forms jionlp 1.5.31 misses or gets vague: N个月前/N年前/N周前/半年前, 上个月, bare "11月"."""
    hits = []
    for m in _AGO.finditer(text):
        unit = m.group(2)
        if m.group(1) == "半":
            months = 6 if unit == "年" else None
            if months is None:
                continue
            day = _shift_months(today, -months)
        else:
            n = _small_number(m.group(1))
            if n is None:
                continue
            if "月" in unit:
                day = _shift_months(today, -n)
            elif unit == "年":
                day = _shift_months(today, -12 * n)
            else:
                day = today - timedelta(weeks=n)
        hits.append(_DateHit(m.start(), m.end(), day, day))
    for m in _LAST_MONTH.finditer(text):
        first = _shift_months(today.replace(day=1), -1)
        hits.append(_DateHit(m.start(), m.end(), first, today.replace(day=1) - timedelta(days=1)))
    for m in _BARE_MONTH.finditer(text):
        before = text[max(0, m.start() - 3) : m.start()]
        if "年" in before or re.search(r"[个上下这本]$", before):
            continue  # "2023年5月", "三个月" are jionlp's (or not dates)
        month = _small_number(m.group(1))
        if month is None or not 1 <= month <= 12:
            continue
        first = date(today.year, month, 1)
        hit = _DateHit(m.start(), m.end(), first, _shift_months(first, 1) - timedelta(days=1))
        hits.append(_adjust(hit, m.group(0), today, prefer))
    return hits


def _jionlp_hits(text: str, today: date, prefer: Prefer) -> list[_DateHit]:
    jio = jionlp()
    try:
        results = jio.ner.extract_time(text, time_base=_time_base(today))
    except Exception:  # noqa: BLE001 - jionlp raises assorted errors on odd input; a parse must never crash a turn
        results = []
    if not results:
        try:
            whole = jio.parse_time(text, time_base=_time_base(today))
        except Exception:  # noqa: BLE001 - as above
            whole = None
        if whole:
            results = [{"text": text, "offset": [0, len(text)], "detail": whole}]
    hits = []
    for item in results:
        detail = item.get("detail") or {}
        if detail.get("type") not in ("time_point", "time_span"):
            continue
        span_text: str = item["text"]
        start, end = item["offset"]
        after = text[end : end + 1]
        if after and after in "万千百wWkK元块":
            continue  # "3.5万" is money, not 3 May
        if span_text.strip().isdigit() and len(span_text.strip()) != 8:
            continue  # "还了2000" is an amount, not the year 2000
        try:
            first, last = _to_date(detail["time"][0]), _to_date(detail["time"][1])
        except (KeyError, IndexError, ValueError, TypeError):
            continue
        hits.append(_adjust(_DateHit(start, end, first, last), span_text.strip(), today, prefer))
    return hits


def _adjust(hit: _DateHit, span_text: str, today: date, prefer: Prefer) -> _DateHit:
    """Move a month/day without a year (or a day without a month) to the most recent past/next future one."""
    day_only = bool(_DAY_ONLY.match(span_text))
    month_day = bool(_MONTH_DAY.search(span_text)) and not _YEAR_WORDS.search(span_text)
    if not (day_only or month_day):
        return hit
    step = 1 if day_only else 12
    first, last = hit.first, hit.last
    for _ in range(4):
        if prefer == "past" and first > today:
            first, last = _shift_months(first, -step), _shift_months(last, -step)
        elif prefer == "future" and last < today:
            first, last = _shift_months(first, step), _shift_months(last, step)
        else:
            break
    return _DateHit(hit.start, hit.end, first, last)


def _date_hits(text: str, today: date, prefer: Prefer = "past") -> list[_DateHit]:
    shadow = shadow_text(text)
    # Phone and ID digits must not become dates ("20230506..." inside an ID number).
    chars = list(text)
    for start, end, _ in id_spans(shadow) + phone_spans(shadow):
        for i in range(start, end):
            chars[i] = "，"
    for m in LONG_NUMBER.finditer(shadow):
        for i in range(m.start(), m.end()):
            chars[i] = "，"
    clean = "".join(chars)
    rules = _rule_hits(clean, today, prefer)
    hits = list(rules)
    for hit in _jionlp_hits(clean, today, prefer):
        if any(not (hit.end <= r.start or hit.start >= r.end) for r in rules):
            continue  # our rule covers this span more precisely
        hits.append(hit)
    return sorted(hits, key=lambda h: h.start)


def date_spans(text: str, today: date | None) -> list[tuple[int, int]]:
    """(start, end) of every date expression in the text; `today` only matters for relative dates."""
    if today is None:
        today = date(2000, 1, 1)  # any base works for finding where dates are
    return [(h.start, h.end) for h in _date_hits(text, today)]


def parse_date_range(text: str, today: date, prefer: Prefer = "past") -> tuple[date, date] | None:
    """First date expression in ``text`` as an inclusive (first day, last day) range, relative to ``today``."""
    hits = _date_hits(text, today, prefer)
    return (hits[0].first, hits[0].last) if hits else None


def parse_date(text: str, today: date, prefer: Prefer = "past") -> date | None:
    """First date in ``text`` relative to ``today`` (never the real clock); spans give their first day.

    "上周三" -> that Wednesday (weeks start on Monday), "去年十月" -> 2025-10-01, "三天前", "上个月15号",
    "今年春节", "昨天晚上", "2023.5.6". A month/day without a year is resolved by ``prefer`` (see module doc).
    """
    found = parse_date_range(text, today, prefer)
    return found[0] if found else None


def parse_incident_date(text: str, today: date) -> date | None:
    """Date of something that already happened: like ``parse_date`` but None for a date after ``today``."""
    found = parse_date(text, today, prefer="past")
    return found if found is not None and found <= today else None
