"""Amounts of money (yuan) in colloquial, often voice-dictated Chinese: "两万三", "3.5万", "三千多"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sharedcourt.domain.values.contacts import LONG_NUMBER, id_spans, phone_spans
from sharedcourt.domain.values.dates import date_spans
from sharedcourt.domain.values.libraries import to_decimal
from sharedcourt.domain.values.text import DICTATION_DIGITS, shadow_text

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
    if ranged and int(DICTATION_DIGITS[ranged.group(2)]) == int(DICTATION_DIGITS[ranged.group(1)]) + 1:
        approximate = True  # "四五千" -> "四千"
        core = core[: ranged.start()] + ranged.group(1) + core[ranged.end() :]
    return (core, approximate) if core else None


def _masked_for_amounts(text: str, shadow: str, today: date | None) -> str:
    """Blank out phones, IDs, long numbers and dates so their digits are not read as amounts."""
    chars = list(shadow)
    blank: list[tuple[int, int]] = [(s, e) for s, e, _ in id_spans(shadow)]
    blank += [(s, e) for s, e, _ in phone_spans(shadow)]
    blank += [(m.start(), m.end()) for m in LONG_NUMBER.finditer(shadow)]
    blank += [(s, e) for s, e in date_spans(text, today)]
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
        value = to_decimal(normalised[0])
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
        value += Decimal(DICTATION_DIGITS.get(jiao[0], jiao[0])) / 10
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
    shadow = shadow_text(text)
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
