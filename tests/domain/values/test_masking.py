"""Masking of phones, ID numbers and bank cards for transcript review."""

from __future__ import annotations

import pytest

from sharedcourt.domain.values.masking import known_names, mask_facts, mask_personal_data, mask_text

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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "我叫张三，电话13812345678，住衢州市柯城区白云街道人民路88号3幢201室，李四欠我两万",
            "我叫张*，电话138****5678，住衢州市柯城区白云街道****，李*欠我两万",
        ),
        ("欧阳娜娜打了我，她住在荷花小区5幢2单元301", "欧阳**打了我，她住在荷花小区****"),
        ("我去张家口打工，周末打球", "我去张家口打工，周末打球"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_text_hides_known_names_and_mask_facts_uses_the_case_parties() -> None:
    assert mask_text("昨天又见到王建军了", ["王建军"]) == "昨天又见到王**了"
    facts = {
        "party": "邻居王建军",
        "what_happened": "王建军家的树倒下来压坏了我的车棚",
        "phone": "13812345678",
        "place_name": "衢州市柯城区白云街道",
        "amount_yuan": 20000,
    }
    assert mask_facts(facts) == {
        "party": "邻居王**",
        "what_happened": "王**家的树倒下来压坏了我的车棚",
        "phone": "138****5678",
        "place_name": "衢州市柯城区白云街道",
        "amount_yuan": "20000",
    }
    assert known_names(facts, "赵六", None) == ["邻居王建军", "赵六"]
    assert mask_facts({"what_happened": "赵六不让我进门"}, ["赵六"]) == {"what_happened": "赵*不让我进门"}
