"""Which of Zhejiang's cities a deployment serves (setting SERVED_CITIES), and the data files that hold them.

Quzhou alone (the default, 3308) loads the plain Quzhou files `gazetteer.csv` and `sites.csv`; any other choice
loads the province's gzipped files (`gazetteer_zj.csv.gz`, `sites_zj.csv.gz`, whose Quzhou rows are exactly the
Quzhou files' rows) filtered to the served cities. All built by scripts/build_gazetteer.py.
"""

from __future__ import annotations

import csv
import functools
import gzip
from pathlib import Path

from sharedcourt.data import DATA_DIR
from sharedcourt.settings import Settings

PROVINCE_CODE = "33"
QUZHOU = "3308"
# Zhejiang's cities: code -> (name, the one-character abbreviation people write: 杭 for Hangzhou, 甬 for Ningbo).
CITIES: dict[str, tuple[str, str]] = {
    "3301": ("杭州市", "杭"),
    "3302": ("宁波市", "甬"),
    "3303": ("温州市", "温"),
    "3304": ("嘉兴市", "嘉"),
    "3305": ("湖州市", "湖"),
    "3306": ("绍兴市", "绍"),
    "3307": ("金华市", "金"),
    "3308": ("衢州市", "衢"),
    "3309": ("舟山市", "舟"),
    "3310": ("台州市", "台"),
    "3311": ("丽水市", "丽"),
}
ALL_CITIES = tuple(CITIES)
# Case number prefixes: the city's pinyin initials (衢州 QZ as before); 湖州 takes HU because 杭州 holds HZ. A case
# whose city is unknown in a several-city deployment is numbered ZJ (浙江).
CASE_PREFIXES: dict[str, str] = {
    "3301": "HZ",
    "3302": "NB",
    "3303": "WZ",
    "3304": "JX",
    "3305": "HU",
    "3306": "SX",
    "3307": "JH",
    "3308": "QZ",
    "3309": "ZS",
    "3310": "TZ",
    "3311": "LS",
}
PROVINCE_PREFIX = "ZJ"
QUZHOU_GAZETTEER = DATA_DIR / "gazetteer.csv"
QUZHOU_SITES = DATA_DIR / "sites.csv"
PROVINCE_GAZETTEER = DATA_DIR / "gazetteer_zj.csv.gz"
PROVINCE_SITES = DATA_DIR / "sites_zj.csv.gz"


def parse_cities(value: str) -> tuple[str, ...]:
    """'3308' -> ('3308',); '3301,3308' -> both; '33' -> all eleven, in code order."""
    codes = {c.strip() for c in value.split(",") if c.strip()}
    if PROVINCE_CODE in codes:
        return ALL_CITIES
    unknown = codes - set(CITIES)
    if unknown or not codes:
        raise ValueError(f"not Zhejiang city codes: {sorted(unknown) or value!r}")
    return tuple(sorted(codes))


@functools.lru_cache(maxsize=1)
def served_cities() -> tuple[str, ...]:
    """The cities this deployment serves, from the settings (read once)."""
    return parse_cities(Settings.from_env().served_cities)


def area_name(cities: tuple[str, ...] | None = None) -> str:
    """How the bot names the area it serves: the city (衢州) when one is served, else 浙江."""
    served = cities or served_cities()
    return CITIES[served[0]][0][:-1] if len(served) == 1 else "浙江"


def city_of(code: str | None) -> str | None:
    """The city code of a statistical place code or a site code (GX + place, FY + county, TS + area)."""
    digits = (code or "").lstrip("GXFYTS")
    return digits[:4] if len(digits) >= 4 and digits[:4] in CITIES else None


def case_prefix(*codes: str | None, cities: tuple[str, ...] | None = None) -> str:
    """The case number prefix of the first code whose city is known (place or site codes), else of the one city
    served, else ZJ."""
    for code in codes:
        city = city_of(code)
        if city is not None:
            return CASE_PREFIXES[city]
    served = cities or served_cities()
    return CASE_PREFIXES[served[0]] if len(served) == 1 else PROVINCE_PREFIX


def in_cities(place_code: str, cities: tuple[str, ...]) -> bool:
    """True for a place inside one of the cities, and for province-wide places when every city is served."""
    if place_code[:4] in cities:
        return True
    return place_code == PROVINCE_CODE and set(cities) == set(ALL_CITIES)


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a data CSV, plain or gzipped."""
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
            return list(csv.DictReader(fh))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def gazetteer_rows(cities: tuple[str, ...]) -> list[dict[str, str]]:
    """The gazetteer rows of the served cities (a city's own row only when several cities are served)."""
    if cities == (QUZHOU,):
        return read_rows(QUZHOU_GAZETTEER)
    several = len(cities) > 1
    return [r for r in read_rows(PROVINCE_GAZETTEER) if r["code"][:4] in cities and (several or r["level"] != "city")]
