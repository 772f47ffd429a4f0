"""Masking of phones, ID numbers and bank cards for transcript review."""

from __future__ import annotations

import pytest

from sharedcourt.domain.values.masking import mask_personal_data

# Valid IDs (checksums computed by hand with ISO 7064 MOD 11-2).
ID_QUZHOU = "330802199001011232"
ID_WITH_X = "11010519491231002X"


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
