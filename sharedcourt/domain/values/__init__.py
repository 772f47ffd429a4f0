"""Parse, validate and normalise the facts residents type (issue 3).

Residents write colloquial, often voice-dictated Chinese without punctuation. The functions here turn one
message into typed values: amounts of money (yuan), dates, phone numbers and resident ID numbers, plus a
masking helper for transcript review. Everything is a pure function: no DB, no network, no real clock (the
caller passes ``today``), nothing heavy at import time.

Libraries:
- ``cn2an`` converts the numeric core of an amount ("两万三" -> 23000, "2万8" -> 28000, "1万5千" -> 15000).
  jionlp's ``parse_money`` is *not* used for the conversion because jionlp 1.5.31 gets colloquial forms
  wrong ("两万三" -> 20003, "2万8" -> 40016, "1万5千" -> 25000, "一千二" -> 1002) and its
  ``extract_money`` only finds amounts followed by a currency unit.
- ``jionlp`` (``jionlp.ner.extract_time`` / ``jionlp.parse_time``) parses dates relative to ``today``.
Both are imported lazily on first use and cached (jionlp takes ~0.3-0.6 s to import and prints a banner to
stdout, which we swallow).

Conventions (documented because they are choices, not facts):
- Approximate amounts return their lower bound: "三千多" -> 3000, "十来万" -> 100000, "四五千" -> 4000,
  "三万左右" -> 30000. ``AmountMatch.approximate`` says so. "几千" (no stated digit) -> no amount.
- When a message holds several amounts, ``parse_amount`` returns the first one that looks like money
  (explicit unit/multiplier or a money verb such as 借/欠/还 before it); see ``extract_amounts``.
- A date that names a whole month/year/week returns its *first* day: "去年十月" -> 2025-10-01,
  "2023年" -> 2023-01-01, "上周" -> that Monday. ``parse_date_range`` returns the whole span.
- A month/day without a year ("5月6日", "12月3号", "30号") is the most recent such day on or before
  ``today`` when ``prefer="past"`` (default; incidents), the next one on or after ``today`` for "future".
- "N个月前"/"N年前"/"N周前"/"半年前" are computed exactly from ``today`` (jionlp returns a vague span).
- Call ``warm_up()`` from a process start-up hook to pay the ~0.5 s first-call cost before residents arrive.

Known limitations: amounts in 毛/角 alone ("五毛钱") are not read; a bare number needs a money word before it
or must be the whole message; "上个月底" follows jionlp (25th onwards); phones are mainland mobiles and Quzhou
(0570) landlines only; 15-digit first-generation IDs are not accepted (they are masked, though).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

__all__ = [
    "AmountMatch",
    "extract_amounts",
    "extract_facts",
    "id_number_valid",
    "mask_personal_data",
    "parse_amount",
    "parse_date",
    "parse_date_range",
    "parse_id_number",
    "parse_incident_date",
    "parse_phone",
    "warm_up",
]

Prefer = Literal["past", "future"]

# --------------------------------------------------------------------------------------------------------
# Lazy libraries
# --------------------------------------------------------------------------------------------------------

_import_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _jionlp() -> Any:
    """Import jionlp once; it prints a banner on stdout at import time, which we swallow."""
    with _import_lock, contextlib.redirect_stdout(io.StringIO()):
        return importlib.import_module("jionlp")


@functools.lru_cache(maxsize=1)
def _cn2an() -> Any:
    return importlib.import_module("cn2an")


def warm_up() -> None:
    """Import jionlp/cn2an and load their dictionaries now (~0.5 s) instead of on a resident's first message.

    Call it from a process's startup hook (e.g. the action server), never at import time.
    """
    extract_facts("上周三借了他两万三", date(2000, 1, 1))


# --------------------------------------------------------------------------------------------------------
# Shadow text: same length as the input, digits normalised so that offsets stay valid
# --------------------------------------------------------------------------------------------------------

_FULLWIDTH = {ord("０") + i: ord("0") + i for i in range(10)}
_FULLWIDTH.update(
    {
        ord("＋"): ord("+"),
        ord("－"): ord("-"),
        ord("—"): ord("-"),
        ord("–"): ord("-"),
        ord("‐"): ord("-"),
        ord("　"): ord(" "),
        ord("ｘ"): ord("x"),
        ord("Ｘ"): ord("X"),
        ord("（"): ord("("),
        ord("）"): ord(")"),
    }
)

# Digit-by-digit dictation ("幺三八…"); 两 is included because some people say it for 2.
_DICTATION_DIGITS = {
    "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "壹": "1", "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6", "陆": "6",
    "七": "7", "柒": "7", "八": "8", "捌": "8", "九": "9", "玖": "9",
}  # fmt: skip
_DICTATION_RUN = re.compile("[0-9" + "".join(_DICTATION_DIGITS) + "](?:[ -]?[0-9" + "".join(_DICTATION_DIGITS) + "])*")
_MIN_DICTATION_DIGITS = 7


def _shadow(text: str) -> str:
    """Same-length copy of ``text`` with full-width forms folded and dictated digit runs made ASCII.

    A run of single-digit characters ("一三八一二三四五六七八", "138一二三四五六七八") with at least 7 digits
    is digit-by-digit dictation, never a quantity (quantities use 十百千万), so it is safe to convert.
    """
    folded = text.translate(_FULLWIDTH)

    def convert(match: re.Match[str]) -> str:
        run = match.group(0)
        if sum(1 for ch in run if ch.isdigit() or ch in _DICTATION_DIGITS) < _MIN_DICTATION_DIGITS:
            return run
        return "".join(_DICTATION_DIGITS.get(ch, ch) for ch in run)

    return _DICTATION_RUN.sub(convert, folded)


# --------------------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------------------

# A run of digits with single spaces/dashes between them, optionally led by "+86" / "(0570)".
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])(?:\+\s?)?(?:\(0570\)\s?)?[0-9](?:[ -]?[0-9])*(?![0-9])")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_QUZHOU_AREA = "0570"


def _classify_phone(run: str) -> str | None:
    digits = re.sub(r"[^0-9]", "", run)
    if run.lstrip().startswith("+") or (len(digits) == 13 and digits.startswith("86")):
        if not digits.startswith("86"):
            return None
        digits = digits[2:]
    if len(digits) == 11 and _MOBILE.fullmatch(digits):
        return digits
    if digits.startswith(_QUZHOU_AREA):
        local = digits[len(_QUZHOU_AREA) :]
        if len(local) in (7, 8) and local[0] != "0":
            return f"{_QUZHOU_AREA}-{local}"
    return None


def _phone_spans(shadow: str) -> list[tuple[int, int, str]]:
    spans = []
    for match in _DIGIT_RUN.finditer(shadow):
        phone = _classify_phone(match.group(0))
        if phone is not None:
            spans.append((match.start(), match.end(), phone))
            continue
        # "13812345678 330802…": neighbouring numbers glued by a space; try space-separated windows.
        groups = [(g.start() + match.start(), g.end() + match.start()) for g in re.finditer(r"\S+", match.group(0))]
        i = 0
        while i < len(groups):
            for j in range(len(groups) - 1, i - 1, -1):
                start, end = groups[i][0], groups[j][1]
                phone = _classify_phone(shadow[start:end])
                if phone is not None:
                    spans.append((start, end, phone))
                    i = j
                    break
            i += 1
    return spans


def parse_phone(text: str) -> str | None:
    """First mainland mobile or Quzhou (0570) landline in ``text``, normalised.

    Accepts spaces/dashes ("138 1234 5678", "138-1234-5678"), "+86"/"86" prefixes, "(0570)", full-width
    digits and digit-by-digit dictation ("幺三八一二三四五六七八"). Returns "13812345678" or
    "0570-1234567"; None for wrong lengths or other area codes.
    """
    spans = _phone_spans(_shadow(text))
    return spans[0][2] if spans else None


# --------------------------------------------------------------------------------------------------------
# Resident ID numbers (GB 11643-1999)
# --------------------------------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82 83 91".split()
)
_ID_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{6}) ?([0-9]{8}) ?([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")


def id_number_valid(s: str) -> bool:
    """True for an 18-character resident ID: province code, real birth date (1900+), ISO 7064 MOD 11-2."""
    s = s.strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", s) or s[:2] not in _ID_PROVINCES:
        return False
    try:
        birth = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if birth.year < 1900:
        return False
    total = sum(int(ch) * w for ch, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11] == s[17]


def _id_spans(shadow: str) -> list[tuple[int, int, str]]:
    spans = []
    for match in _ID_IN_TEXT.finditer(shadow):
        candidate = "".join(match.groups()).upper()
        if id_number_valid(candidate):
            spans.append((match.start(), match.end(), candidate))
    return spans


def parse_id_number(text: str) -> str | None:
    """First valid 18-character resident ID in ``text`` (spaces after the 6th/14th digit allowed), uppercase."""
    spans = _id_spans(_shadow(text))
    return spans[0][2] if spans else None


# --------------------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------------------

_LONG_NUMBER = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){14,18}(?:[ -]?[Xx])?(?![0-9])")


def _mask_digits(original: str, keep_head: int, keep_tail: int) -> str:
    """Mask the digits of ``original`` except the first ``keep_head`` and last ``keep_tail`` digit positions.

    Separators (spaces, dashes) are kept; Chinese dictated digits count as digits.
    """
    positions = [i for i, ch in enumerate(original) if not ch.isspace() and ch not in "-+()（）"]
    hidden = set(positions[keep_head : len(positions) - keep_tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(original))


def mask_personal_data(text: str) -> str:
    """Mask phone numbers, resident ID numbers and bank card numbers for transcript review.

    Mobile "13812345678" -> "138****5678"; landline "0570-1234567" -> "0570-***4567"; ID
    "330802199001011234" -> "330802********1234"; any other 15-19 digit number (bank cards, IDs with a bad
    checksum) keeps its first 4 and last 4 digits. Separators and dictated Chinese digits stay in place, so
    the text keeps its length. "+86" prefixes are left as is.
    """
    shadow = _shadow(text)
    spans: list[tuple[int, int, int, int]] = []  # start, end, keep_head, keep_tail
    for start, end, _ in _id_spans(shadow):
        spans.append((start, end, 6, 4))
    for start, end, phone in _phone_spans(shadow):
        raw = shadow[start:end]
        if raw.lstrip().startswith("+") or raw.lstrip("(").startswith("86"):
            # skip the country code so that the national number keeps 3 + 4 digits
            offset = raw.index("86") + 2
            start += offset
        spans.append((start, end, 3, 4) if not phone.startswith("0") else (start, end, 4, 4))
    for match in _LONG_NUMBER.finditer(shadow):
        spans.append((match.start(), match.end(), 4, 4))
    # Earlier entries win on overlap (IDs before phones before generic long numbers).
    chosen: list[tuple[int, int, int, int]] = []
    for span in spans:
        if all(span[1] <= other[0] or span[0] >= other[1] for other in chosen):
            chosen.append(span)
    out = text
    for start, end, head, tail in sorted(chosen, reverse=True):
        out = out[:start] + _mask_digits(text[start:end], head, tail) + out[end:]
    return out


# --------------------------------------------------------------------------------------------------------
# Amounts of money
# --------------------------------------------------------------------------------------------------------

_CN_DIGITS = "零〇一二两三四五六七八九"
_CN_UNITS = "十百千万亿"
_AMOUNT = re.compile(
    r"(?P<prefix>[¥￥]\s?)?"
    r"(?P<core>"
    r"(?:[0-9]|[" + _CN_DIGITS + r"十])"  # must start with a digit (or 十 as in 十万)
    r"(?:[0-9" + _CN_DIGITS + _CN_UNITS + r"wWkK多余来几]|(?<=[0-9]),(?=[0-9]{3})|(?<=[0-9])\.(?=[0-9])"
    r"|点(?=[0-9" + _CN_DIGITS + r"]))*"
    r")"
    r"(?P<unit>\s?(?:块钱|块|元钱|元|圆|人民币|rmb|RMB))?"
    r"(?P<jiao>[一二三四五六七八九1-9](?:毛|角)|[一二三四五六七八九1-9](?=$|[，。,.!！?？\s]))?"
    r"(?P<suffix>左右|上下)?"
)
# A number directly followed by one of these is a count of something else, not money.
_NOT_MONEY_AFTER = re.compile(
    r"\s?(?:天|日|号|月|年|岁|个|次|人|点|小时|分|秒|周|星期|礼拜|层|楼|栋|幢|室|米|公里|里|斤|公斤|克|吨|亩|平|"
    r"辆|台|只|头|间|套|张|本|笔|回|遍|%|％|倍|期|项|条|位|名|户|家|袋|瓶|箱|件|根|车|度|折|成|号楼|单元|批|包|份|班|趟|声|下)"
)
_MONEY_CONTEXT = re.compile(
    r"(?:欠|借|还|赔|付|给|转|花|收|退|要|拿|骗|讨|追|罚|补|交|工资|薪|钱|款|费|金额|共计|总共|一共|合计|押金|定金|订金|"
    r"彩礼|补偿|赔偿|损失|报酬|货值|价值|价格|总价)[^\d" + _CN_DIGITS + r"]{0,4}$"
)
_ADJACENT_RANGE = re.compile(r"([一二两三四五六七八九])([二两三四五六七八九])(?=[十百千万])")


@dataclass(frozen=True)
class AmountMatch:
    """One amount found in a message: value in yuan, its source text span and whether it was approximate."""

    value: Decimal
    text: str
    start: int
    end: int
    approximate: bool
    explicit: bool  # had a unit/multiplier/money verb, as opposed to a bare number


def _to_decimal(core: str) -> Decimal | None:
    try:
        raw = _cn2an().cn2an(core, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    try:
        value = Decimal(repr(raw)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return value.to_integral_value() if value == value.to_integral_value() else value


def _normalise_core(core: str) -> tuple[str, bool] | None:
    """Thin pre-processing for cn2an; returns (core, approximate) or None when too vague."""
    approximate = False
    core = core.replace(",", "").replace("w", "万").replace("W", "万").replace("k", "千").replace("K", "千")
    if "几" in core:
        approximate = True
        core = core.replace("十几", "十")  # "十几万" -> "十万", "二十几" -> "二十"
        if "几" in core:  # "一万几千" -> "一万"
            core = core.partition("几")[0]
            if not core or core[-1] not in _CN_UNITS:
                return None  # "几千": nothing stated
    for marker in "多余来":
        if marker in core:
            approximate = True
            core = core.replace(marker, "")
    ranged = _ADJACENT_RANGE.search(core)
    if ranged and int(_DICTATION_DIGITS[ranged.group(2)]) == int(_DICTATION_DIGITS[ranged.group(1)]) + 1:
        approximate = True  # "四五千" -> "四千"
        core = core[: ranged.start()] + ranged.group(1) + core[ranged.end() :]
    return (core, approximate) if core else None


def _masked_for_amounts(text: str, shadow: str, today: date | None) -> str:
    """Blank out phones, IDs, long numbers and dates so their digits are not read as amounts."""
    chars = list(shadow)
    blank: list[tuple[int, int]] = [(s, e) for s, e, _ in _id_spans(shadow)]
    blank += [(s, e) for s, e, _ in _phone_spans(shadow)]
    blank += [(m.start(), m.end()) for m in _LONG_NUMBER.finditer(shadow)]
    blank += [(s, e) for s, e in _date_spans(text, today)]
    for start, end in blank:
        for i in range(start, end):
            chars[i] = "、"
    return "".join(chars)


def _split_mixed(core: str) -> str:
    """Cut the core where an Arabic digit meets a Chinese digit directly ("5000三年" -> "5000")."""
    for i in range(1, len(core)):
        a, b = core[i - 1], core[i]
        if (a.isascii() and a.isdigit() and b in _CN_DIGITS) or (a in _CN_DIGITS and b.isascii() and b.isdigit()):
            return core[:i]
    return core


def _convert_longest(core: str) -> tuple[str, Decimal, bool] | None:
    """Longest prefix of ``core`` that converts ("两万三一" as in "两万三一直不还" -> "两万三")."""
    for end in range(len(core), 0, -1):
        prefix = core[:end]
        if prefix[-1] in "多余来几" and end < len(core):
            continue
        normalised = _normalise_core(prefix)
        if normalised is None:
            if "几" in prefix:
                return None
            continue
        value = _to_decimal(normalised[0])
        if value is not None:
            return prefix, value, normalised[1]
    return None


def _amount_from_match(match: re.Match[str], scan: str, text: str, whole: str) -> AmountMatch | None:
    core_start = match.start("core")
    if core_start > 0 and scan[core_start - 1] == "第":
        return None  # ordinal
    raw_core = match.group("core")
    converted = _convert_longest(_split_mixed(raw_core))
    if converted is None:
        return None
    core, value, approximate = converted
    cn_core = _normalise_core(core)
    if cn_core is None:
        return None
    complete = core == raw_core
    unit = match.group("unit") if complete else None
    jiao = match.group("jiao") if complete else None
    suffix = match.group("suffix") if complete else None
    start = match.start("prefix") if match.group("prefix") else core_start
    end = match.end() if complete else core_start + len(core)
    has_unit = bool(unit or match.group("prefix"))
    has_multiplier = any(ch in "百千万亿" for ch in cn_core[0]) or (cn_core[0].startswith("十") and len(cn_core[0]) > 1)
    if not has_unit and _NOT_MONEY_AFTER.match(scan, core_start + len(core)):
        return None
    if not has_unit and jiao:
        end -= len(jiao)
    single_cn_digit = len(core) == 1 and not core.isdigit()
    if single_cn_digit and not has_unit:
        return None  # "三" in "他三番五次"
    context = bool(_MONEY_CONTEXT.search(scan[max(0, start - 8) : start]))
    bare_whole = whole == re.sub(r"\s", "", text[start:end])
    if not (has_unit or has_multiplier or context or bare_whole):
        return None
    if value <= 0:
        return None
    if jiao and unit and "块" in unit:
        value += Decimal(_DICTATION_DIGITS.get(jiao[0], jiao[0])) / 10
    return AmountMatch(
        value=value,
        text=text[start:end],
        start=start,
        end=end,
        approximate=approximate or bool(suffix),
        explicit=has_unit or has_multiplier or context,
    )


def extract_amounts(text: str, today: date | None = None) -> list[AmountMatch]:
    """Every amount of money in ``text`` in order, with dates, phones and ID numbers ignored.

    ``today`` only helps recognise relative dates (so "三天前" is not read as 3); any date works.
    """
    shadow = _shadow(text)
    scan = _masked_for_amounts(text, shadow, today)
    whole = re.sub(r"[\s，。,.!！?？、~～]", "", text)
    found: list[AmountMatch] = []
    pos = 0
    while (match := _AMOUNT.search(scan, pos)) is not None:
        amount = _amount_from_match(match, scan, text, whole)
        if amount is not None:
            found.append(amount)
            pos = amount.end
            continue
        split = _split_mixed(match.group("core"))
        # "李四3万": the rejected "四" must not swallow the "3万" after it
        pos = match.start("core") + len(split) if split != match.group("core") else match.end()
    return found


def parse_amount(text: str, today: date | None = None) -> Decimal | None:
    """Amount of money in ``text`` in yuan, or None.

    "两万三" -> 23000, "3.5万" -> 35000, "2万8" -> 28000, "1.2w" -> 12000, "五千块" -> 5000,
    "十来万" -> 100000 (approximate: lower bound), "三千多" -> 3000, "他欠我两万三一直不还" -> 23000.
    A bare number counts only when it is the whole message or follows a money word (借/欠/还/工资…);
    dates, phone numbers and ID numbers are never read as amounts. With several amounts, the first
    explicit one wins.
    """
    amounts = extract_amounts(text, today)
    if not amounts:
        return None
    explicit = [a for a in amounts if a.explicit]
    return (explicit or amounts)[0].value


# --------------------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------------------

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
    value = _to_decimal(s)
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
    jio = _jionlp()
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
    shadow = _shadow(text)
    # Phone and ID digits must not become dates ("20230506..." inside an ID number).
    chars = list(text)
    for start, end, _ in _id_spans(shadow) + _phone_spans(shadow):
        for i in range(start, end):
            chars[i] = "，"
    for m in _LONG_NUMBER.finditer(shadow):
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


def _date_spans(text: str, today: date | None) -> list[tuple[int, int]]:
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


# --------------------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------------------


def _amount_json(value: Decimal) -> int | str:
    return int(value) if value == value.to_integral_value() else f"{value:.2f}"


def extract_facts(text: str, today: date) -> dict[str, Any]:
    """All facts in one message; keys are present only when found.

    ``amount_yuan`` (int when whole, else a "12.50" string), ``amount_approximate`` (only when True),
    ``incident_date`` ("YYYY-MM-DD", never after ``today``), ``phone``, ``id_number``.
    """
    facts: dict[str, Any] = {}
    amounts = extract_amounts(text, today)
    if amounts:
        best = next((a for a in amounts if a.explicit), amounts[0])
        facts["amount_yuan"] = _amount_json(best.value)
        if best.approximate:
            facts["amount_approximate"] = True
    incident = parse_incident_date(text, today)
    if incident is not None:
        facts["incident_date"] = incident.isoformat()
    phone = parse_phone(text)
    if phone is not None:
        facts["phone"] = phone
    id_number = parse_id_number(text)
    if id_number is not None:
        facts["id_number"] = id_number
    return facts
