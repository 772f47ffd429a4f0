"""Tests for sharedcourt.domain.values: amounts, dates, phones, ID numbers, facts and masking (issue 3)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from sharedcourt.domain.values import (
    extract_amounts,
    extract_facts,
    id_number_valid,
    mask_personal_data,
    parse_amount,
    parse_date,
    parse_date_range,
    parse_id_number,
    parse_incident_date,
    parse_phone,
    warm_up,
)

TODAY = date(2026, 11, 29)  # a Sunday

# Valid IDs (checksums computed by hand with ISO 7064 MOD 11-2).
ID_QUZHOU = "330802199001011232"
ID_QUZHOU_2 = "330802198503150027"
ID_WITH_X = "11010519491231002X"


# ---------------------------------------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("我电话是19912345678有事打我", "19912345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("0570-1234567", "0570-1234567"),
        ("0570-12345678", "0570-12345678"),
        ("05708123456", "0570-8123456"),
        ("(0570)1234567", "0570-1234567"),
        ("幺三八一二三四五六七八", "13812345678"),
        ("一三八一二三四五六七八", "13812345678"),
        ("我电话是幺三八 一二三四 五六七八", "13812345678"),
        ("138一二三四五六七八", "13812345678"),
    ],
)
def test_parse_phone(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12812345678",  # no such mobile prefix
        "0571-12345678",  # Hangzhou, not Quzhou
        "0570-123456",  # 6 digits after area code
        "0570-123456789",  # 9 digits after area code
        "两万三",
        ID_QUZHOU,
    ],
)
def test_parse_phone_none(text: str) -> None:
    assert parse_phone(text) is None


# ---------------------------------------------------------------------------------------------------------
# ID numbers
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [ID_QUZHOU, ID_QUZHOU_2, ID_WITH_X, ID_WITH_X.lower()])
def test_id_number_valid(value: str) -> None:
    assert id_number_valid(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "330802199001011230",  # wrong checksum
        "11010519491231002Y",
        "330802199013011237",  # month 13
        "330802199002301238",  # 30 February
        "000802199001011232",  # no province 00
        "330802180001011232",  # born 1800 (checksum is right)
        "33080219900101123",  # 17 characters
        "3308021990010112321",  # 19 characters
        "",
    ],
)
def test_id_number_invalid(value: str) -> None:
    assert id_number_valid(value) is False


def test_parse_id_number() -> None:
    assert parse_id_number("身份证号" + ID_QUZHOU + "，电话13812345678") == ID_QUZHOU
    assert parse_id_number("我的身份证是" + ID_WITH_X.lower()) == ID_WITH_X
    assert parse_id_number("330802 19900101 1232") == ID_QUZHOU
    assert parse_id_number("330802199001011230") is None
    assert parse_id_number("13812345678") is None


# ---------------------------------------------------------------------------------------------------------
# Facts from one message
# ---------------------------------------------------------------------------------------------------------


def test_extract_facts_date_is_not_amount() -> None:
    assert extract_facts("5月6号借了他两万", TODAY) == {"amount_yuan": 20000, "incident_date": "2026-05-06"}


def test_extract_facts_everything() -> None:
    text = f"我叫张三电话13812345678身份证{ID_QUZHOU}去年十月借给李四3万块钱到现在没还"
    assert extract_facts(text, TODAY) == {
        "amount_yuan": 30000,
        "incident_date": "2025-10-01",
        "phone": "13812345678",
        "id_number": ID_QUZHOU,
    }


def test_extract_facts_approximate_and_fraction() -> None:
    assert extract_facts("他上周三打了我，医药费花了两千多", TODAY) == {
        "amount_yuan": 2000,
        "amount_approximate": True,
        "incident_date": "2026-11-18",
    }
    assert extract_facts("两块五", TODAY) == {"amount_yuan": "2.50"}


def test_extract_facts_compact_dates_are_not_amounts() -> None:
    assert extract_facts("借款日期20230506，金额两万", TODAY) == {"amount_yuan": 20000, "incident_date": "2023-05-06"}
    assert extract_facts("欠款时间2023.5.6，两万", TODAY) == {"amount_yuan": 20000, "incident_date": "2023-05-06"}


def test_extract_facts_future_date_dropped() -> None:
    assert extract_facts("下周一还我五千", TODAY) == {"amount_yuan": 5000}


def test_extract_facts_phone_and_id_are_not_amounts_or_dates() -> None:
    assert extract_facts(f"13812345678 {ID_QUZHOU_2}", TODAY) == {"phone": "13812345678", "id_number": ID_QUZHOU_2}
    assert extract_facts("0570-8123456", TODAY) == {"phone": "0570-8123456"}


def test_extract_facts_nothing() -> None:
    assert extract_facts("我想咨询离婚的事", TODAY) == {}


# ---------------------------------------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", "电话138****5678"),
        ("电话138-1234-5678", "电话138-****-5678"),
        ("手机+86 13812345678", "手机+86 138****5678"),
        ("座机0570-1234567", "座机0570-***4567"),
        (f"身份证{ID_QUZHOU}", "身份证330802********1232"),
        (f"身份证{ID_WITH_X}", "身份证110105********002X"),
        ("身份证330802199001011230", "身份证3308**********1230"),  # bad checksum: masked anyway
        ("卡号6222021234567890123", "卡号6222***********0123"),
        ("卡号 6222 0212 3456 7890", "卡号 6222 **** **** 7890"),
        ("我电话是幺三八一二三四五六七八", "我电话是幺三八****五六七八"),
        ("他欠我两万三，5月6号借的", "他欠我两万三，5月6号借的"),
    ],
)
def test_mask_personal_data(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


def test_mask_keeps_length_and_several_items() -> None:
    text = f"电话13812345678，身份证{ID_QUZHOU}，卡号6222021234567890123"
    masked = mask_personal_data(text)
    assert masked == "电话138****5678，身份证330802********1232，卡号6222***********0123"
    assert len(masked) == len(text)


# ---------------------------------------------------------------------------------------------------------
# Import hygiene
# ---------------------------------------------------------------------------------------------------------


def test_warm_up_runs() -> None:
    warm_up()
    assert parse_amount("两万三", TODAY) == Decimal(23000)


def test_import_is_light() -> None:
    code = (
        "import sys, sharedcourt.domain.values as v\n"
        "assert 'jionlp' not in sys.modules and 'cn2an' not in sys.modules, 'heavy import at import time'\n"
        "print(v.parse_phone('13812345678'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "13812345678\n"


def test_jionlp_banner_does_not_reach_stdout() -> None:
    code = "import datetime, sharedcourt.domain.values as v\nprint(v.parse_date('前天', datetime.date(2026, 11, 29)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "2026-11-27\n"
