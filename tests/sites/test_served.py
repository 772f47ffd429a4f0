"""Which cities a deployment serves, and the province's data files (Quzhou's rows exactly the Quzhou files')."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from pathlib import Path

import pytest

from sharedcourt.settings import Settings
from sharedcourt.sites.csv_format import read_csv_records
from sharedcourt.sites.places import Gazetteer
from sharedcourt.sites.registry import DEFAULT_SITES_CSV, SiteRegistry
from sharedcourt.sites.served import (
    ALL_CITIES,
    PROVINCE_GAZETTEER,
    PROVINCE_SITES,
    QUZHOU_GAZETTEER,
    city_of,
    gazetteer_rows,
    in_cities,
    parse_cities,
    served_cities,
)


def _gz_lines(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return fh.read().splitlines()


def test_province_gazetteer_counts() -> None:
    with gzip.open(PROVINCE_GAZETTEER, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    levels = Counter(r["level"] for r in rows)
    assert levels == {"city": 11, "county": 90, "town": 1387, "village": 25547}
    by_city = Counter(r["code"][:4] for r in rows if r["level"] == "county")
    assert sorted(by_city) == list(ALL_CITIES)
    # Coordinates are cpca's city and county seats only (it lacks six divisions created since 2017, e.g. 临平区,
    # 钱塘区, 龙港市); towns and villages have none.
    assert all(r["level"] in ("city", "county") for r in rows if r["lat"])
    assert sum(1 for r in rows if r["lat"]) >= 11 + 84


def test_quzhou_rows_of_the_province_files_are_the_quzhou_files() -> None:
    province = _gz_lines(PROVINCE_GAZETTEER)
    quzhou = QUZHOU_GAZETTEER.read_text(encoding="utf-8").splitlines()
    assert province[0] == quzhou[0]
    assert [line for line in province[1:] if line.startswith("3308") and ",city," not in line] == quzhou[1:]
    sites = DEFAULT_SITES_CSV.read_text(encoding="utf-8").splitlines()
    codes = {line.split(",", 1)[0] for line in sites[1:]}
    province_sites = _gz_lines(PROVINCE_SITES)
    assert province_sites[0] == sites[0]
    assert [line for line in province_sites[1:] if line.split(",", 1)[0] in codes] == sites[1:]


def test_province_registry_has_every_court_and_place_site() -> None:
    records = read_csv_records(PROVINCE_SITES)
    levels = Counter(r.level for r in records)
    assert levels["high_court"] == 1
    assert levels["intermediate_court"] == 11
    assert levels["county_court"] == 90
    assert levels["town"] == 1387 and levels["village"] == 25547
    names = {r.name for r in records}
    assert {"浙江省高级人民法院", "杭州互联网法院", "杭州铁路运输法院", "杭州市中级人民法院", "义乌市人民法院"} <= names
    assert levels["special_court"] == 3
    # Every town site hangs under its own county's court, every village under its town's site.
    by_code = {r.code: r for r in records}
    for r in records:
        if r.level in ("town", "village"):
            parent = by_code[r.parent_code or ""]
            assert r.place_code and parent.place_code and r.place_code.startswith(parent.place_code)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3308", ("3308",)), ("3308,3301", ("3301", "3308")), (" 3302 ", ("3302",)), ("33", ALL_CITIES)],
)
def test_parse_cities(value: str, expected: tuple[str, ...]) -> None:
    assert parse_cities(value) == expected


@pytest.mark.parametrize("value", ["3312", "3201", "", "hz"])
def test_parse_cities_refuses_other_codes(value: str) -> None:
    with pytest.raises(ValueError):
        parse_cities(value)


def test_setting_defaults_to_quzhou_and_checks_codes() -> None:
    assert Settings.from_env({}).served_cities == "3308"
    assert Settings.from_env({"SERVED_CITIES": "3301, 3308"}).served_cities == "3301,3308"
    assert served_cities() == parse_cities(Settings.from_env().served_cities)
    with pytest.raises(Exception, match="SERVED_CITIES"):
        Settings.from_env({"SERVED_CITIES": "3399"})


def test_codes_know_their_city() -> None:
    assert city_of("GX330106001001") == "3301"
    assert city_of("FY330802") == "3308"
    assert city_of("TS3308FIN") == "3308"
    assert city_of("FY330000") is None and city_of(None) is None
    assert in_cities("330106", ("3301",)) and not in_cities("330106", ("3308",))
    assert in_cities("33", ALL_CITIES) and not in_cities("33", ("3301", "3308"))


def test_only_the_served_cities_load() -> None:
    two = Gazetteer.load(cities=("3301", "3308"))
    assert {p.code[:4] for p in two.places.values()} == {"3301", "3308"}
    assert [p.name for p in two.top()] == ["杭州市", "衢州市"]
    one = Gazetteer.from_rows(gazetteer_rows(("3302",)), ("3302",))
    assert all(p.code.startswith("3302") for p in one.places.values())
    assert [p.level for p in one.top()] == ["county"] * 10
    registry = SiteRegistry.default(("3301",))
    assert registry.sites and all((s.place_code or "")[:4] == "3301" for s in registry.sites.values())
    assert SiteRegistry.default(("3308",)).get("GX330802009") is not None
