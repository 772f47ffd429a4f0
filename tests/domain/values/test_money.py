"""Amounts of money in colloquial Chinese; dates, phones and ID numbers are never amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sharedcourt.domain.values.money import extract_amounts, parse_amount

TODAY = date(2026, 11, 29)  # a Sunday

# Valid IDs (checksums computed by hand with ISO 7064 MOD 11-2).
ID_QUZHOU = "330802199001011232"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("两万三", "23000"),
        ("3.5万", "35000"),
        ("五千块", "5000"),
        ("2万8", "28000"),
        ("一万二千五百元", "12500"),
        ("800块钱", "800"),
        ("十来万", "100000"),
        ("1.2w", "12000"),
        ("1.2W", "12000"),
        ("三千多", "3000"),
        ("他欠我两万三一直不还", "23000"),
        ("一千二", "1200"),
        ("一万五", "15000"),
        ("1万5千", "15000"),
        ("三十多万", "300000"),
        ("四五千", "4000"),
        ("大概三万左右", "30000"),
        ("欠款 12,000 元", "12000"),
        ("5000", "5000"),
        ("￥3000", "3000"),
        ("１２０００元", "12000"),
        ("两块五", "2.5"),
        ("十万", "100000"),
        ("一百二十万", "1200000"),
        ("工资拖欠了8000", "8000"),
        ("借了5000三年了", "5000"),
        ("第三次借了2000", "2000"),
        ("他三天前借了我五千块", "5000"),
        ("我2023年5月借给他3万块钱一直没还", "30000"),
        ("去年十月借给李四3万块钱", "30000"),
        ("借给他10000，他只还了2000", "10000"),
        ("他欠我两万三千五", "23500"),
        ("一两万", "10000"),
        ("借了他两三千", "2000"),
        ("大概五六万", "50000"),
        ("十几万", "100000"),
        ("二十几万", "200000"),
        ("一万几千", "10000"),
        ("借款金额：50000元整", "50000"),
        ("三十五块五毛", "35.5"),
        ("借了他八百", "800"),
        ("我手机号是一三八一二三四五六七八借给他两万", "20000"),
    ],
)
def test_parse_amount(text: str, expected: str) -> None:
    assert parse_amount(text, TODAY) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "没有钱",
        "我想咨询离婚的事",
        "他打了我三次",
        "几千块",  # nothing stated: ask again rather than guess
        "几百",
        "一共借了12次钱",
        "欠款第15",  # ordinal
        "借了他3笔",
        "电话13812345678",
        "身份证" + ID_QUZHOU,
        "5月6号",
        "三天前",
        "他今年45岁",
        "住在3号楼2单元",
    ],
)
def test_parse_amount_none(text: str) -> None:
    assert parse_amount(text, TODAY) is None


def test_parse_amount_without_today_still_ignores_dates() -> None:
    assert parse_amount("5月6号借了他两万") == Decimal(20000)


def test_extract_amounts_flags() -> None:
    found = extract_amounts("借了他两万，还了三千多", TODAY)
    assert [(a.value, a.text, a.approximate) for a in found] == [
        (Decimal(20000), "两万", False),
        (Decimal(3000), "三千多", True),
    ]
    assert found[0].start == 3 and found[0].end == 5


def test_extract_amounts_bare_number_in_sentence_needs_money_context() -> None:
    assert extract_amounts("我家有5口人", TODAY) == []
    assert [a.value for a in extract_amounts("他还欠5000", TODAY)] == [Decimal(5000)]
