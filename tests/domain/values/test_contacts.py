"""Phone numbers and resident ID numbers in text."""

from __future__ import annotations

import pytest

from sharedcourt.domain.values.contacts import id_number_valid, parse_id_number, parse_phone

# Valid IDs (checksums computed by hand with ISO 7064 MOD 11-2).
ID_QUZHOU = "330802199001011232"
ID_QUZHOU_2 = "330802198503150027"
ID_WITH_X = "11010519491231002X"


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
