"""Street-level addresses: road numbers, buildings, units and rooms masked; administrative names kept."""

from __future__ import annotations

import pytest

from sharedcourt.domain.values.addresses import mask_addresses


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("衢州市柯城区白云街道人民路88号3幢201室", "衢州市柯城区白云街道****"),
        ("地址：衢州市衢江区樟潭街道通衢路18-2号", "地址：衢州市衢江区樟潭街道****"),
        ("柯城区府山街道坊门街7号", "柯城区府山街道****"),
        ("他家在衢江区滨江路一百二十号", "他家在衢江区****"),
        ("我住在人民路88号", "我住在****"),
        ("我家在石室乡石室村3组25号", "我家在石室乡石室村****"),
        ("住在荷花小区5幢2单元301", "住在荷花小区****"),
        ("我住2号楼1单元502室，楼上漏水", "我住****，楼上漏水"),
        ("新桥街12号开店的老板", "****开店的老板"),
        ("他在荷花小区12号", "他在荷花小区****"),
    ],
)
def test_street_level_parts_are_masked(text: str, expected: str) -> None:
    assert mask_addresses(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "浙江省衢州市开化县华埠镇",  # province, city, county, town: kept
        "江山市贺村镇贺村",  # village: kept
        "龙游县东华街道",
        "上街道办事处问过了",
        "人民路上有个超市",  # a road without a number points at no door
        "我3号去的",
        "12月3号开庭",
        "他家有三栋房子",
        "借了2万",
        "排在第5号",
    ],
)
def test_places_and_numbers_that_are_not_addresses_stay(text: str) -> None:
    assert mask_addresses(text) == text
