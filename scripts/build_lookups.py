"""Build the project's own place lookups and jieba user dictionary from the Quzhou gazetteer.

Reads the reference CSVs (by default /work/shared/reference) ONCE, at build time, and writes
project copies that the bot reads at run time:

- nlu_data/lookups/place.yml   lookup `place`: towns and villages, official and short forms
- nlu_data/lookups/county.yml  lookup `county`: the six counties, full and short names
- nlu_data/dict/places.txt     jieba user dictionary, one word per line, NO frequency column

Village short forms ("驿前" for 驿前村) are kept only when they are not frequent ordinary words in jieba's
dictionary (--jieba-dict), so "阳光" or "相对" never tag as places. Town short forms (贺村, 白云, 杜泽) are kept.

County short names map to full names through nlu_data/synonyms.yml (hand written).

Usage: python scripts/build_lookups.py [--reference DIR] [--out nlu_data]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

DEFAULT_REFERENCE = Path("/work/shared/reference")
# jieba's own dictionary: village short forms that are frequent ordinary words ("阳光", "相对") are dropped.
DEFAULT_JIEBA_DICT = Path(".venv/rasa/lib/python3.10/site-packages/jieba/dict.txt")
COMMON_WORD_MIN_FREQ = 50
# Town short forms that are ordinary words or other places.
_TOWN_SHORT_EXCLUDE = frozenset({"大街", "中村", "湖南", "保安", "村头", "街道"})

# Official suffixes of village-committee names in the statistical code list.
_COMMITTEE_SUFFIXES = ("村村民委员会", "社区居民委员会", "村民委员会", "居民委员会", "村委会", "居委会", "委员会")
_TOWN_SUFFIXES = ("街道", "畲族乡", "镇", "乡")
_VILLAGE_SUFFIXES = ("社区", "村")

# Short forms that are ordinary words: kept out of the lookup (they would tag "新村"/"中心" etc. as places).
_COMMON_WORDS = frozenset(
    """
    新新 新村 中心 东方 前进 光明 红旗 和平 胜利 团结 幸福 民主 建设 新华 城东 城西 城南 城北 东门 西门
    南门 北门 东街 西街 南街 北街 中村 上村 下村 大村 新塘 新桥 长安 永安 太平 安全 和谐 文明 友好 花园
    下街 上街 中街 老街 新街 沿江 江滨 滨江 丰收 红星 先锋 先进 联合 石门 大桥 双桥 大溪 溪口 水口 桥头
    山头 后山 前山 塘边 岭头 岭脚 高家 王家 张家 李家 徐家 周家 吴家 郑家 汪家 叶家 毛家 杨家 刘家 陈家
    黄家 朱家 余家 方家 何家 姜家 项目 工业 园区 农场 金色 中央 城中 星火 新光 新农 双港 中心村 村头 官山
    """.split()
)


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def load_common_words(path: Path | None) -> frozenset[str]:
    """Two-character words that jieba's dictionary knows as ordinary frequent words."""
    if path is None or not path.exists():
        return frozenset()
    words: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and len(parts[0]) == 2 and int(parts[1]) >= COMMON_WORD_MIN_FREQ:
                words.add(parts[0])
    return frozenset(words)


def village_forms(raw: str, common: frozenset[str] = frozenset()) -> set[str]:
    """'驿前村村民委员会' -> {'驿前村', '驿前'}; '书香社区居委会' -> {'书香社区', '书香'}."""
    name = raw.strip()
    if not name:
        return set()
    forms: set[str] = set()
    for suffix, keep in (
        ("村村民委员会", "村"),
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("村民委员会", "村"),
        ("居民委员会", "社区"),
        ("村委会", "村"),
        ("居委会", "社区"),
        ("委员会", ""),
    ):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)] + (keep if not name[: -len(suffix)].endswith(keep) else "")
            break
    forms.add(name)
    short = _strip_suffix(name, _VILLAGE_SUFFIXES)
    # Short forms need two characters and must not be everyday words.
    if short != name and len(short) >= 2 and short not in _COMMON_WORDS and short not in common:
        forms.add(short)
    return forms


def town_forms(raw: str) -> set[str]:
    """'贺村镇' -> {'贺村镇', '贺村'}; '白云街道' -> {'白云街道', '白云'}; '湖镇镇' -> {'湖镇镇', '湖镇'}."""
    name = raw.strip()
    if not name:
        return set()
    forms = {name}
    short = _strip_suffix(name, _TOWN_SUFFIXES)
    if short != name and len(short) >= 2 and short not in _TOWN_SHORT_EXCLUDE:
        forms.add(short)
    return forms


def county_forms(raw: str) -> set[str]:
    name = raw.strip()
    if not name or name in {"市辖区", "衢州市"}:
        return set()
    forms = {name}
    short = re.sub(r"(区|市|县)$", "", name)
    if len(short) >= 2:
        forms.add(short)
    return forms


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def collect(reference: Path, common: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
    counties: set[str] = set()
    places: set[str] = set()
    for row in _read(reference / "quzhou_counties_cpca_coords.csv"):
        counties |= county_forms(row["name"])
    for row in _read(reference / "quzhou_towns_2023_statscode.csv"):
        places |= town_forms(row["town_name"])
    for row in _read(reference / "quzhou_villages_2023_statscode.csv"):
        places |= village_forms(row["village_name"], common)
    for row in _read(reference / "quzhou_jionlp_towns_villages.csv"):
        if row["level"] == "town":
            places |= town_forms(row["town"])
        else:
            places |= village_forms(row["village"], common)
    places -= counties
    places = {p for p in places if len(p) >= 2 and "生活区" not in p}
    # Longest first: the lookup regex is an alternation, so long names win over their prefixes.
    return sorted(counties, key=lambda s: (-len(s), s)), sorted(places, key=lambda s: (-len(s), s))


def _lookup_yaml(name: str, values: list[str]) -> str:
    lines = ['version: "3.1"', "nlu:", f"  - lookup: {name}", "    examples: |"]
    lines += [f"      - {v}" for v in values]
    return "\n".join(lines) + "\n"


def write(out: Path, counties: list[str], places: list[str]) -> None:
    (out / "lookups").mkdir(parents=True, exist_ok=True)
    (out / "dict").mkdir(parents=True, exist_ok=True)
    header = "# Generated by scripts/build_lookups.py from the Quzhou gazetteer. Do not edit by hand.\n"
    (out / "lookups" / "place.yml").write_text(header + _lookup_yaml("place", places), encoding="utf-8")
    (out / "lookups" / "county.yml").write_text(header + _lookup_yaml("county", counties), encoding="utf-8")
    # jieba: one word per line, no frequency (an explicit low frequency breaks segmentation).
    words = sorted(set(counties) | set(places) | {"衢州", "衢州市"})
    (out / "dict" / "places.txt").write_text("\n".join(words) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=Path("nlu_data"))
    parser.add_argument("--jieba-dict", type=Path, default=DEFAULT_JIEBA_DICT)
    args = parser.parse_args(argv)
    counties, places = collect(args.reference, load_common_words(args.jieba_dict))
    write(args.out, counties, places)
    print(f"counties={len(counties)} places={len(places)} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
