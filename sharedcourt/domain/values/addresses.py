"""Street-level addresses in text: the part below the town (road and number, building, unit, room) is masked.

Administrative names (省/市/区/县/乡/镇/街道/村/社区) and estate names stay: they place a dispute without
pointing at a door. What goes is a house number with its road ("人民路88号"), a building/unit/room
("3幢201室", "5栋2单元301"), or a village group and house number ("3组25号"), each replaced by "****".
"""

from __future__ import annotations

import re

MASK = "****"
_NUM = r"[0-9一二三四五六七八九十百零〇两]+"
_PART = rf"{_NUM}(?:-{_NUM})?"
# House number and whatever follows it: "88号3幢201室", "12弄5号", "88号".
_HOUSE = rf"{_PART}(?:号|弄)(?:院)?(?:{_PART}(?:幢|栋|号楼|座|单元|层|楼|室|号|户))*(?:{_NUM}(?![0-9]))?"
# Building, then unit/floor/room: "3幢201室", "5栋2单元301", "2号楼1单元".
_BLOCK = rf"{_PART}(?:幢|栋|号楼|座)"
_BUILDING = rf"{_BLOCK}(?:{_PART}(?:单元|层|楼|室|号|户))+(?:{_NUM}(?![0-9]))?|{_BLOCK}{_NUM}(?:室)?(?![0-9])"
# Village group and house: "3组25号", "五组12号".
_GROUP = rf"{_PART}(?:组|队){_PART}号"
_TAIL = re.compile(rf"(?P<group>{_GROUP})|(?P<building>{_BUILDING})|(?P<house>{_HOUSE})")
_ESTATE_BEFORE = re.compile(r"(?:小区|苑|园|公寓|大厦|村|社区)$")
_DIGIT_BEFORE = re.compile(r"[0-9一二三四五六七八九十百零〇两]$")
_ROAD_SUFFIX = re.compile(r"(?:大道|路|街|巷|弄|里|道)$")
# Where a road name starts: after an administrative name, an estate, or the words that lead to an address.
_BOUNDARY = re.compile(
    r"(?:省|市|区|县|乡|镇|街道|村|社区|小区|开发区|[^\u4e00-\u9fff]|住在|住|在|到|是|址|家|于|从|往|近|靠|对面|旁边|附近)"
)
_ROAD_WINDOW = 8


def _road_start(text: str, end: int) -> int | None:
    """Start of the road name that ends at ``end`` ("白云街道人民路" -> the index of 人), None when no road."""
    before = text[max(0, end - _ROAD_WINDOW) : end]
    if not _ROAD_SUFFIX.search(before) or before.endswith("街道"):
        return None
    cut = 0
    for match in _BOUNDARY.finditer(before[:-1]):
        cut = match.end()
    start = end - len(before) + cut
    return start if end - start >= 2 else None


def address_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every street-level part of an address in ``text``."""
    spans: list[tuple[int, int]] = []
    for match in _TAIL.finditer(text):
        start, end = match.start(), match.end()
        if _DIGIT_BEFORE.search(text[:start]):
            continue
        road = _road_start(text, start)
        if road is not None:
            start = road
        elif match.group("house") and not _ESTATE_BEFORE.search(text[:start]):
            continue  # a bare "3号" is a day of the month or a queue number unless a road or estate comes before
        spans.append((start, end))
    return spans


def mask_addresses(text: str) -> str:
    """``text`` with road numbers, buildings, units and rooms replaced.

    "白云街道人民路88号3幢201室" -> "白云街道****".
    """
    out = text
    for start, end in reversed(address_spans(text)):
        out = out[:start] + MASK + out[end:]
    return out
