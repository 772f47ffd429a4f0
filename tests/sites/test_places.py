"""Where is the resident: free text to gazetteer places, ambiguity and numbered choices."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from sharedcourt.sites.places import GAZETTEER_CSV, Gazetteer, choices, format_choices
from sharedcourt.sites.served import ALL_CITIES


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def code_of(gaz: Gazetteer, full_name: str) -> str:
    found = [p.code for p in gaz.places.values() if p.full_name == full_name]
    assert len(found) == 1, full_name
    return found[0]


def test_committed_gazetteer_covers_quzhou(gaz: Gazetteer) -> None:
    levels = [p.level for p in gaz.places.values()]
    assert levels.count("county") == 6
    assert levels.count("town") == 100
    assert levels.count("village") == 1664
    # Every village sits in a town of its county; county seats carry coordinates, nothing else does.
    for p in gaz.places.values():
        if p.level == "village":
            assert gaz[p.parent_code].level == "town"
            assert p.code.startswith(p.parent_code) and p.code.startswith(p.county_code)
        assert (p.lat is not None) == (p.level == "county")
    with GAZETTEER_CSV.open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == ["code", "name", "short_name", "level", "parent_code", "county_code", "aliases", "lat", "lon"]


def test_load_is_cached_and_not_done_at_import() -> None:
    assert Gazetteer.load() is Gazetteer.load()
    code = "import sharedcourt.sites.places as p; print(p._load.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


@pytest.mark.parametrize(
    ("text", "full_name"),
    [
        ("我在柯城区白云街道", "柯城区白云街道"),
        ("江山贺村", "江山市贺村镇"),
        ("衢江区杜泽镇某某村", "衢江区杜泽镇"),
        ("浙江省衢州市龙游县湖镇镇", "龙游县湖镇镇"),
        ("江山 双塔", "江山市双塔街道"),
        ("我住在开化桐村镇严村村委会附近", "开化县桐村镇严村"),
        ("衢州市衢江区上方镇严村", "衢江区上方镇严村"),
        ("常山万安", "常山县东案乡万安村"),
        ("贺村镇贺村", "江山市贺村镇贺村"),
        ("沐尘", "龙游县沐尘畲族乡"),
        # Short forms that are ordinary words count next to their parent.
        ("龙游龙洲北门", "龙游县龙洲街道北门村"),
        ("柯城花园", "柯城区花园街道"),
        ("衢江高家东方", "衢江区高家镇东方村"),
    ],
)
def test_resolves_places_with_context_and_short_forms(gaz: Gazetteer, text: str, full_name: str) -> None:
    res = gaz.resolve(text)
    assert not res.ambiguous, [p.full_name for p in res.tied()]
    assert res.best is not None and res.best.full_name == full_name


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("柯城", "330802"),
        ("衢江", "330803"),
        ("常山", "330822"),
        ("开化", "330824"),
        ("龙游", "330825"),
        ("江山", "330881"),
        ("我是江山的", "330881"),
        ("柯城区", "330802"),
    ],
)
def test_county_short_names(gaz: Gazetteer, text: str, code: str) -> None:
    res = gaz.resolve(text)
    assert res.best is not None and res.best.code == code and not res.ambiguous


@pytest.mark.parametrize(
    ("text", "full_name"),
    [
        ("万安村委会", "常山县东案乡万安村"),
        ("书香社区居委会", "柯城区新新街道书香社区"),
        ("书香社区社区居委会", "柯城区新新街道书香社区"),
        ("宝石街居委会", "常山县白石镇宝石街社区"),
        ("常山胡村村委会", "常山县同弓乡胡村"),
        ("衢江上方镇严村村村委会", "衢江区上方镇严村"),  # official form with the doubled 村
        ("龙游上杨村村民委员会", "龙游县东华街道上杨村"),
    ],
)
def test_official_suffixes_are_stripped(gaz: Gazetteer, text: str, full_name: str) -> None:
    res = gaz.resolve(text)
    assert res.best is not None and res.best.full_name == full_name, [p.full_name for p in res.matches[:3]]


def test_old_names_from_jionlp_resolve(gaz: Gazetteer) -> None:
    # Older names are carried as aliases: on the successor village when it can be identified, else on the town.
    with_alias = [
        p for p in gaz.places.values() if p.level == "village" and any(not a.endswith("会") for a in p.aliases)
    ]
    town_alias = [p for p in gaz.places.values() if p.level == "town" and p.aliases]
    assert with_alias and town_alias
    town = town_alias[0]
    res = gaz.resolve(f"{gaz[town.county_code].name}{town.aliases[0]}")
    assert res.best is not None and res.best.code == town.code
    village = next(p for p in with_alias if not any(a.endswith("会") for a in p.aliases[:1]))
    old = next(a for a in village.aliases if not a.endswith("会"))
    res = gaz.resolve(f"{gaz[village.parent_code].name}{old}")
    assert res.best is not None and res.best.code == village.code


def test_ambiguous_village_asks_county_then_resolves(gaz: Gazetteer) -> None:
    res = gaz.resolve("严村")
    assert res.ambiguous
    offered = choices(res)
    assert [p.name for p in offered] == ["柯城区", "衢江区", "开化县", "龙游县"]
    assert format_choices(offered).splitlines()[0] == "1. 柯城区"
    narrowed = gaz.narrow(res, offered[2])
    assert not narrowed.ambiguous
    assert narrowed.best is not None and narrowed.best.full_name == "开化县桐村镇严村"
    assert choices(narrowed) == []


def test_ambiguous_within_one_county_asks_town(gaz: Gazetteer) -> None:
    res = gaz.resolve("柯城姚家村")
    assert res.ambiguous
    offered = choices(res)
    assert sorted(p.full_name for p in offered) == ["柯城区万田乡", "柯城区航埠镇"]
    assert all(p.level == "town" for p in offered)
    narrowed = gaz.narrow(res, offered[0])
    assert narrowed.best is not None and narrowed.best.level == "village" and not narrowed.ambiguous


def test_resolved_town_offers_its_villages(gaz: Gazetteer) -> None:
    res = gaz.resolve("我在柯城区白云街道")
    offered = choices(res)
    assert offered and all(p.parent_code == res.best.code for p in offered if res.best)
    assert "柯城区白云街道白云社区" in [p.full_name for p in offered]


def test_nothing_found_offers_counties(gaz: Gazetteer) -> None:
    res = gaz.resolve("离我最近的共享法庭在哪")
    assert not res.found and not res.ambiguous
    assert [p.code for p in choices(res)] == ["330802", "330803", "330822", "330824", "330825", "330881"]


def test_common_words_are_not_places(gaz: Gazetteer) -> None:
    for text in ("我很幸福", "朝阳下的花园", "今天阳光很好"):
        assert not gaz.resolve(text).found, text


def test_within_limits_candidates(gaz: Gazetteer) -> None:
    res = gaz.resolve("严村", within="330803")
    assert res.best is not None and res.best.full_name == "衢江区上方镇严村" and not res.ambiguous


def test_nearest_county_from_coordinates(gaz: Gazetteer) -> None:
    county = gaz.nearest_county(28.74, 118.63)
    assert county is not None and county.name == "江山市"
    assert gaz.nearest_county(30.27, 120.15, max_km=60) is None  # Hangzhou is not in Quzhou


def test_every_village_resolves_by_county_town_and_name(gaz: Gazetteer) -> None:
    wrong = []
    for p in gaz.places.values():
        if p.level != "village":
            continue
        res = gaz.resolve(p.full_name)
        if res.best is None or res.best.code != p.code or res.ambiguous:
            wrong.append(p.full_name)
    assert wrong == []


def test_gazetteer_from_csv_path(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "code,name,short_name,level,parent_code,county_code,aliases,lat,lon\n"
        "330802,柯城区,柯城,county,3308,330802,,28.9,118.8\n"
        "330802009,白云街道,白云,town,330802,330802,,,\n"
        "330802009201,回龙村,回龙,village,330802009,330802,回龙村委会|老回龙,,\n",
        encoding="utf-8",
    )
    g = Gazetteer.load(path)
    assert g.resolve("柯城老回龙").best == g["330802009201"]


def test_build_script_names_places_from_committee_names() -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "scripts" / "build_gazetteer.py"
    spec = importlib.util.spec_from_file_location("build_gazetteer", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_gazetteer"] = mod  # dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules["build_gazetteer"]
    cases = {
        "万安村委会": "万安村",
        "胡村村委会": "胡村",
        "严村村村委会": "严村",
        "上杨村村村民委员会": "上杨村",
        "新桥头村村民委员会": "新桥头村",
        "高路村民委员会": "高路村",
        "书香社区居委会": "书香社区",
        "星新社区居民委员会": "星新社区",
        "宝石街居委会": "宝石街社区",
        "金桂社区": "金桂社区",
        "十里丰农场生活区": "十里丰农场生活区",
    }
    assert {k: mod.committee_name(k) for k in cases} == cases
    assert mod.short_form("贺村镇", mod._TOWN_SUFFIXES) == "贺村"
    assert mod.short_form("沐尘畲族乡", mod._TOWN_SUFFIXES) == "沐尘"
    assert mod.short_form("胡村", mod._VILLAGE_SUFFIXES) == "胡村"  # one character left: keep the name


# ---------------------------------------------------------------- the whole province


@pytest.fixture(scope="module")
def zj() -> Gazetteer:
    return Gazetteer.load(cities=ALL_CITIES)


@pytest.mark.parametrize(
    ("text", "full_name"),
    [
        ("我在杭州市西湖区转塘街道", "西湖区转塘街道"),
        ("杭西湖区", "西湖区"),
        ("甬鄞州", "鄞州区"),
        ("温州龙湾区永中街道", "龙湾区永中街道"),
        ("义乌", "义乌市"),
        ("我住在义乌市稠江街道", "义乌市稠江街道"),
        ("江山贺村", "江山市贺村镇"),
        ("景宁", "景宁畲族自治县"),
        ("我在宁波", "宁波市"),
        ("浙江省衢州市龙游县湖镇镇", "龙游县湖镇镇"),
    ],
)
def test_province_forms_resolve(zj: Gazetteer, text: str, full_name: str) -> None:
    res = zj.resolve(text)
    assert not res.ambiguous and res.best is not None and res.best.full_name == full_name


def test_city_abbreviation_counts_only_before_a_place_of_that_city(zj: Gazetteer) -> None:
    abbreviated = [m for m in zj.find("杭西湖区") if m.place.level == "city"]
    assert [(m.place.name, m.surface) for m in abbreviated] == [("杭州市", "杭")]
    # "湖" inside 西湖 is not 湖州, and an abbreviation before another city's place is not that city.
    assert not [m for m in zj.find("西湖区") if m.place.level == "city"]
    assert not [m for m in zj.find("杭鄞州区") if m.place.level == "city"]


def test_same_name_places_across_cities_ask_for_the_city_first(zj: Gazetteer) -> None:
    res = zj.resolve("城南街道")
    assert res.ambiguous
    offered = zj.choices(res)
    assert {p.level for p in offered} == {"city"} and len(offered) == len({p.code[:4] for p in res.tied()})
    # With the city chosen, the next question is within it, and so on down to one place.
    hangzhou = next(p for p in offered if p.name == "杭州市")
    narrowed = zj.narrow(res, hangzhou)
    assert not narrowed.ambiguous and narrowed.best is not None and narrowed.best.full_name == "桐庐县城南街道"


def test_the_residents_own_county_comes_first(zj: Gazetteer) -> None:
    res = zj.resolve("新村")
    assert res.ambiguous
    cities = zj.choices(res)
    # A resident known to be in 越城区 (绍兴): 绍兴 first, then the cities by distance from 越城区's seat.
    near = zj.choices(res, near="330602")
    assert near[0].name == "绍兴市" and sorted(p.code for p in near) == sorted(p.code for p in cities)
    assert all(p.code.startswith("3306") for p in zj.narrow(res, near[0]).tied())
    # Within 金华 the 新村 of several counties: the resident's own county first, whichever order codes give.
    jinhua = zj.narrow(res, "3307")
    counties = zj.choices(jinhua)
    assert jinhua.ambiguous and len(counties) > 1 and {p.level for p in counties} == {"county"}
    for own in counties:
        assert zj.choices(jinhua, near=own.code)[0] == own


def test_nothing_found_offers_the_cities(zj: Gazetteer) -> None:
    offered = zj.choices(zj.resolve("你好"))
    assert [p.name for p in offered][:2] == ["杭州市", "宁波市"] and len(offered) == 11


def test_quzhou_alone_still_drops_its_city_and_offers_counties() -> None:
    gaz = Gazetteer.load()
    assert gaz.cities == ("3308",)
    assert [p.level for p in gaz.choices(gaz.resolve("你好"))] == ["county"] * 6


def test_a_bare_name_that_is_a_town_here_and_a_village_there_is_asked(gaz: Gazetteer) -> None:
    # 芳村: 常山县芳村镇 (and its 芳村) and 开化县长虹乡芳村. Neither county is named: ask, never pick one silently.
    res = gaz.resolve("我是芳村")
    assert res.ambiguous
    assert {p.full_name for p in res.tied()} == {"常山县芳村镇", "开化县长虹乡芳村"}
    assert {p.name for p in gaz.choices(res)} == {"开化县", "常山县"}


def test_an_inner_village_stays_a_reading_when_a_county_straddles_the_longer_form(zj: Gazetteer) -> None:
    # "永康西村": 永康 + 西村 (永康市方岩镇西村) and 康西村 (临海) are both readings; the county decides.
    res = zj.resolve("我是永康西村")
    assert res.best is not None and res.best.county_code == "330784" and res.best.name == "西村"
    # "南浔南林社区": 南浔 names 南浔区 or 南浔镇, not both, so 南浔镇's 南林村 does not win by counting it twice.
    res = zj.resolve("我在南浔南林社区")
    assert res.best is not None and res.best.full_name == "南浔区东迁街道南林社区"
