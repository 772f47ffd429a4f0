"""The site registry: the committed default data and the nearest-site rules (in memory and from the database).

Database tests use the `sessions` fixture of tests/conftest.py, so they run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.sites.csv_format import read_csv_records, write_csv
from sharedcourt.sites.places import Gazetteer
from sharedcourt.sites.records import SiteRecord
from sharedcourt.sites.registry import DEFAULT_SITES_CSV, Location, SiteRegistry, nearest_site
from sharedcourt.sites.served import ALL_CITIES, PROVINCE_SITES

VILLAGE = "330802009201"  # 柯城区白云街道回龙村
TOWN = "330802009"  # 柯城区白云街道
COUNTY = "330802"  # 柯城区
KAIHUA_VILLAGE = "330824106220"  # 开化县桐村镇严村
JIANGSHAN_VILLAGE = "330881121228"  # 江山市贺村镇贺村

Sessions = async_sessionmaker[AsyncSession]


# ====================================================================== default registry


def test_default_registry_covers_every_place() -> None:
    records = read_csv_records(DEFAULT_SITES_CSV)
    levels = Counter(r.level for r in records)
    assert levels["village"] == 1664
    assert levels["town"] == 100
    assert levels["county_court"] == 6
    assert levels["intermediate_court"] == 1
    assert levels["special"] >= 3
    by_code = {r.code: r for r in records}
    assert len(by_code) == len(records)
    for r in records:
        if r.parent_code:
            assert r.parent_code in by_code, r.code
        assert r.opening_hours["mon"] == ["08:30-12:00", "14:00-17:30"]
        assert "sat" not in r.opening_hours
        assert r.director and r.staff
    names = {r.name for r in records}
    assert {"柯城区人民法院", "江山市人民法院", "衢州市中级人民法院", "开化县生态环境共享法庭"} <= names
    assert "柯城区白云街道回龙村共享法庭" in names
    env = next(r for r in records if r.name == "开化县生态环境共享法庭")
    assert env.dispute_types == ("environment",) and env.place_code == "330824"
    served = {d for r in records if r.level == "special" for d in r.dispute_types}
    assert {"environment", "finance", "consumer"} <= served


# ====================================================================== nearest-site rules (registry)


@pytest.fixture(scope="module")
def registry() -> SiteRegistry:
    return SiteRegistry.default()


def test_own_village_site_first(registry: SiteRegistry) -> None:
    choice = registry.nearest(VILLAGE, "neighbor")
    assert choice is not None
    assert choice.site.code == f"GX{VILLAGE}" and choice.rule == "village"
    assert "回龙村" in choice.reason_zh and choice.site.name in choice.reason_zh
    assert [s.code for s in choice.alternatives] == [f"GX{TOWN}", f"FY{COUNTY}"]
    text = choice.message_zh()
    assert "地址：衢州市柯城区白云街道回龙村" in text and "也可以选择" in text


def test_town_site_when_village_has_none(registry: SiteRegistry) -> None:
    without = SiteRegistry([s for s in registry.sites.values() if s.code != f"GX{VILLAGE}"])
    choice = without.nearest(VILLAGE, "neighbor")
    assert choice is not None and choice.site.code == f"GX{TOWN}" and choice.rule == "town"
    assert "暂未设共享法庭" in choice.reason_zh


def test_town_site_when_village_site_does_not_serve_the_type(registry: SiteRegistry) -> None:
    sites = dict(registry.sites)
    sites[f"GX{VILLAGE}"] = replace(sites[f"GX{VILLAGE}"], dispute_types=("family", "neighbor"))
    restricted = SiteRegistry(sites.values())
    assert restricted.nearest(VILLAGE, "family").site.code == f"GX{VILLAGE}"  # type: ignore[union-attr]
    choice = restricted.nearest(VILLAGE, "labor")
    assert choice is not None and choice.site.code == f"GX{TOWN}"
    assert "不受理" in choice.reason_zh


def test_county_court_when_no_village_or_town_site(registry: SiteRegistry) -> None:
    without = SiteRegistry(s for s in registry.sites.values() if s.code not in (f"GX{VILLAGE}", f"GX{TOWN}"))
    choice = without.nearest(VILLAGE, "debt")
    assert choice is not None and choice.site.code == f"FY{COUNTY}" and choice.rule == "county_court"
    assert choice.site.phone == "12368"


def test_a_town_resident_gets_the_town_site(registry: SiteRegistry) -> None:
    choice = registry.nearest(TOWN)
    assert choice is not None and choice.site.code == f"GX{TOWN}"
    assert all(s.level != "intermediate_court" for s in choice.alternatives)


def test_special_site_wins_for_its_type_and_area(registry: SiteRegistry) -> None:
    env = registry.nearest(KAIHUA_VILLAGE, "environment")
    assert env is not None and env.site.name == "开化县生态环境共享法庭" and env.rule == "special"
    assert "环境污染纠纷" in env.reason_zh and "专门" in env.reason_zh
    assert env.alternatives and env.alternatives[0].code == f"GX{KAIHUA_VILLAGE}"
    # The Kaihua court serves Kaihua: an environment dispute in Jiangshan stays local.
    local = registry.nearest(JIANGSHAN_VILLAGE, "environment")
    assert local is not None and local.site.code == f"GX{JIANGSHAN_VILLAGE}"
    # City-wide special sites serve every county.
    fin = registry.nearest(JIANGSHAN_VILLAGE, "finance")
    assert fin is not None and fin.site.code == "TS3308FIN"
    con = registry.nearest(VILLAGE, "consumer")
    assert con is not None and con.site.code == "TS3308CON"
    # Without a dispute type (the 找法庭 menu) no special site is chosen.
    plain = registry.nearest(KAIHUA_VILLAGE)
    assert plain is not None and plain.site.level == "village"


def _with_coords(base: SiteRegistry, coords: dict[str, tuple[float, float]], extra: list[SiteRecord]) -> SiteRegistry:
    sites = [
        replace(s, lat=coords[s.code][0], lon=coords[s.code][1]) if s.code in coords else s for s in base.sites.values()
    ]
    return SiteRegistry([*sites, *extra])


def test_distance_decides_among_candidates_of_one_level(registry: SiteRegistry) -> None:
    # Two sites serve the same village; the resident's coordinates pick the nearer one.
    second = replace(registry.sites[f"GX{VILLAGE}"], code="GX-SECOND", name="回龙村第二共享法庭", lat=29.10, lon=118.80)
    reg = _with_coords(registry, {f"GX{VILLAGE}": (28.90, 118.80)}, [second])
    near_second = reg.nearest(Location(VILLAGE, 29.09, 118.80), "neighbor")
    assert near_second is not None and near_second.site.code == "GX-SECOND"
    assert near_second.distance_km is not None and near_second.distance_km < 2
    assert near_second.alternatives[0].code == f"GX{VILLAGE}"
    near_first = reg.nearest(Location(VILLAGE, 28.91, 118.80), "neighbor")
    assert near_first is not None and near_first.site.code == f"GX{VILLAGE}"


def test_coordinates_only_use_the_spatial_index(registry: SiteRegistry) -> None:
    coords = {f"GX{VILLAGE}": (28.95, 118.85), f"GX{TOWN}": (28.96, 118.86), f"GX{JIANGSHAN_VILLAGE}": (28.60, 118.60)}
    reg = _with_coords(registry, coords, [])
    assert len(reg.grid) == 3
    choice = reg.nearest((28.951, 118.851), "neighbor")
    assert choice is not None and choice.site.code == f"GX{VILLAGE}" and choice.rule == "nearest"
    assert "米" in choice.reason_zh or "公里" in choice.reason_zh
    assert [s.code for s in choice.alternatives] == [f"GX{TOWN}", f"GX{JIANGSHAN_VILLAGE}"]
    far = reg.nearest((28.61, 118.61))
    assert far is not None and far.site.code == f"GX{JIANGSHAN_VILLAGE}"


def test_coordinates_without_site_coordinates_guess_the_county(registry: SiteRegistry) -> None:
    # Near Jiangshan's seat; the default registry has no site coordinates.
    choice = registry.nearest((28.74, 118.63), "neighbor")
    assert choice is not None and choice.site.code == "FY330881" and choice.rule == "county_guess"
    assert "江山市" in choice.reason_zh and "乡镇" in choice.reason_zh
    assert registry.nearest((30.27, 120.15), "neighbor") is None  # Hangzhou: no guess
    env = registry.nearest((29.14, 118.41), "environment")  # near Kaihua's seat
    assert env is not None and env.site.name == "开化县生态环境共享法庭"


def test_nearest_special_site_by_distance(registry: SiteRegistry) -> None:
    # Two city-wide finance sites with coordinates: the nearer one to the resident wins; a county one beats both.
    fin = registry.sites["TS3308FIN"]
    north = replace(fin, code="TS-FIN-N", name="北部金融纠纷共享法庭", lat=29.2, lon=118.9)
    south = replace(fin, code="TS-FIN-S", name="南部金融纠纷共享法庭", lat=28.6, lon=118.6)
    reg = SiteRegistry([*(s for s in registry.sites.values() if s.code != "TS3308FIN"), north, south])
    choice = reg.nearest(Location(JIANGSHAN_VILLAGE, 28.65, 118.62), "finance")
    assert choice is not None and choice.site.code == "TS-FIN-S" and choice.distance_km is not None
    choice = reg.nearest((29.19, 118.91), "finance")
    assert choice is not None and choice.site.code == "TS-FIN-N"
    local = replace(fin, code="TS-FIN-KC", name="柯城区金融纠纷共享法庭", place_code=COUNTY)
    reg2 = SiteRegistry([*reg.sites.values(), local])
    assert reg2.nearest(VILLAGE, "finance").site.code == "TS-FIN-KC"  # type: ignore[union-attr]


def test_a_chosen_site_wins_and_the_rules_choice_comes_as_the_alternative(registry: SiteRegistry) -> None:
    # A resident of 回龙村 who scanned the QR code of 柯城区人民法院 (the county court, FY330802).
    choice = registry.nearest(Location(place_code=VILLAGE, site_code="FY330802"), "family")
    assert choice is not None and choice.rule == "chosen" and choice.site.code == "FY330802"
    assert "选定" in choice.reason_zh and "柯城区人民法院" in choice.reason_zh
    assert choice.alternatives[0].code == f"GX{VILLAGE}"
    # The same choice without the scan: the rules pick the village's own site.
    assert registry.nearest(Location(place_code=VILLAGE), "family").site.code == f"GX{VILLAGE}"  # type: ignore[union-attr]
    # A site the registry does not hold (closed since the code was printed): the rules decide.
    gone = registry.nearest(Location(place_code=VILLAGE, site_code="GX339999999999"), "family")
    assert gone is not None and gone.site.code == f"GX{VILLAGE}" and gone.rule != "chosen"


def test_wechat_location_label_names_the_place(registry: SiteRegistry) -> None:
    loc = Location.from_label("浙江省衢州市柯城区白云街道回龙村委会附近", 28.95, 118.85)
    assert loc.place_code == VILLAGE and loc.has_coords
    choice = registry.nearest(loc, "family")
    assert choice is not None and choice.site.code == f"GX{VILLAGE}"
    assert Location.from_label("严村", 28.9, 118.8).place_code is None  # ambiguous: coordinates only


# ====================================================================== database: default data, nearest site


async def test_migration_loads_the_default_registry(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        n = await session.scalar(select(func.count()).select_from(Site))
        staff = await session.scalar(select(func.count()).select_from(SiteStaff))
        assert n == len(read_csv_records(DEFAULT_SITES_CSV))
        assert staff is not None and staff >= n
        site = await session.get(Site, f"GX{VILLAGE}")
        assert site is not None and site.name == "柯城区白云街道回龙村共享法庭"
        assert site.opening_hours["fri"] == ["08:30-12:00", "14:00-17:30"]
        assert site.staff[0].role == "director" and site.staff[0].capacity == 1


async def test_nearest_site_from_the_database(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        choice = await nearest_site(session, VILLAGE, "family")
        assert choice is not None and choice.site.code == f"GX{VILLAGE}"
        env = await nearest_site(session, KAIHUA_VILLAGE, "environment")
        assert env is not None and env.site.level == "special"


# ====================================================================== the province, with coordinates

ZHUANTANG = "330106010"  # 西湖区转塘街道
SHANHUSHA = "330106010002"  # 西湖区转塘街道珊瑚沙社区
HENGQIAO = "330106010004"  # 西湖区转塘街道横桥社区
# Test values an operator might import for two Hangzhou sites (not real surveyed positions).
SITE_COORDS = {f"GX{SHANHUSHA}": (30.1400, 120.1100), f"GX{HENGQIAO}": (30.1700, 120.0800)}


@pytest.fixture(scope="module")
def province() -> SiteRegistry:
    return SiteRegistry.default(ALL_CITIES)


def _with_imported_coords(tmp_path: Path) -> SiteRegistry:
    """The province registry after an operator's CSV gave two sites exact coordinates (the lat/lon columns)."""
    records = read_csv_records(PROVINCE_SITES, ALL_CITIES)
    path = tmp_path / "coords.csv"
    write_csv([replace(r, lat=SITE_COORDS[r.code][0], lon=SITE_COORDS[r.code][1]) if r.code in SITE_COORDS else r
               for r in records], path)  # fmt: skip
    return SiteRegistry(read_csv_records(path), Gazetteer.load(cities=ALL_CITIES))


def test_a_wechat_location_in_hangzhou_yields_the_nearest_hangzhou_site(tmp_path: Path) -> None:
    registry = _with_imported_coords(tmp_path)
    assert registry.grid.size == 2
    near_shanhusha = registry.nearest(Location(lat=30.1410, lon=120.1105))
    assert near_shanhusha is not None and near_shanhusha.rule == "nearest"
    assert near_shanhusha.site.code == f"GX{SHANHUSHA}" and near_shanhusha.distance_km is not None
    assert near_shanhusha.distance_km < 1 and [s.code for s in near_shanhusha.alternatives] == [f"GX{HENGQIAO}"]
    near_hengqiao = registry.nearest(Location(lat=30.1690, lon=120.0790))
    assert near_hengqiao is not None and near_hengqiao.site.code == f"GX{HENGQIAO}"
    # A label naming the town: its sites, nearest first.
    labelled = Location.from_label("浙江省杭州市西湖区转塘街道", 30.1690, 120.0790, registry.gazetteer)
    assert labelled.place_code == ZHUANTANG
    chosen = registry.nearest(labelled)
    assert chosen is not None and chosen.site.code == f"GX{ZHUANTANG}"


def test_without_coordinates_a_location_guesses_its_own_county_court(province: SiteRegistry) -> None:
    xihu = province.gazetteer["330106"]
    assert xihu.lat is not None and xihu.lon is not None
    guessed = province.nearest(Location(lat=xihu.lat + 0.01, lon=xihu.lon))
    assert guessed is not None and guessed.rule == "county_guess" and guessed.site.code == "FY330106"


def test_province_rules_never_choose_special_courts_or_another_citys_site(province: SiteRegistry) -> None:
    city = province.nearest("3301")
    assert city is not None and city.site.code == "FY330100"
    town = province.nearest(ZHUANTANG, "finance")
    assert town is not None and town.site.code == f"GX{ZHUANTANG}", "Quzhou's finance site is Quzhou's only"
    assert province.nearest(Location(), "finance") is None
    assert {s.level for s in province.sites.values()} >= {"high_court", "special_court", "intermediate_court"}
