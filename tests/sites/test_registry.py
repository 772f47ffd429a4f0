"""The site registry: default data, CSV import (all or nothing) and export, and the nearest-site rules.

Database tests use the `sessions` fixture of tests/conftest.py, so they run on SQLite and on PostgreSQL. The
registry tables are reference data (kept between tests), so every test here puts back what it changes.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.sites.registry import (
    COLUMNS,
    DEFAULT_SITES_CSV,
    GridIndex,
    Location,
    SiteImportError,
    SiteRecord,
    SiteRegistry,
    StaffRecord,
    export_csv,
    import_csv,
    linear_nearest,
    nearest_site,
    read_csv_records,
    sites_import_main,
)

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


def test_wechat_location_label_names_the_place(registry: SiteRegistry) -> None:
    loc = Location.from_label("浙江省衢州市柯城区白云街道回龙村委会附近", 28.95, 118.85)
    assert loc.place_code == VILLAGE and loc.has_coords
    choice = registry.nearest(loc, "family")
    assert choice is not None and choice.site.code == f"GX{VILLAGE}"
    assert Location.from_label("严村", 28.9, 118.8).place_code is None  # ambiguous: coordinates only


def test_grid_index_agrees_with_a_linear_scan() -> None:
    rng = random.Random(5)
    points = [(rng.uniform(27.0, 31.2), rng.uniform(118.0, 123.2), i) for i in range(3000)]
    grid = GridIndex(points, cell_deg=0.05)
    for _ in range(300):
        lat, lon = rng.uniform(26.5, 31.7), rng.uniform(117.5, 123.7)
        accept = (lambda i: i % 7 == 0) if rng.random() < 0.3 else None
        got = grid.nearest(lat, lon, k=3, accept=accept)
        want = linear_nearest(points, lat, lon, k=3, accept=accept)
        assert [round(d, 9) for d, _ in got] == [round(d, 9) for d, _ in want]
    assert GridIndex([], 0.05).nearest(29.0, 119.0) == []


# ====================================================================== database: default data, import, export


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


def write(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] | list[str] = COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns))
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
    return path


def new_site(code: str, **kw: str) -> dict[str, str]:
    row = {
        "code": code,
        "name": f"测试站点{code}",
        "level": "village",
        "parent_code": f"GX{TOWN}",
        "place_code": VILLAGE,
        "address": "衢州市柯城区白云街道回龙村",
        "lat": "28.95",
        "lon": "118.85",
        "opening_hours": json.dumps({"mon": ["09:00-11:30"], "sat": ["09:00-12:00"]}),
        "dispute_types": "family|neighbor",
        "phone": "0570-0000000",
        "director": "张主任",
        "judge": "李法官",
        "staff": json.dumps(
            [
                {"name": "王调解", "role": "mediator", "capacity": 2},
                {"name": "张主任", "role": "director", "capacity": 1, "dingtalk_user_id": "ding1"},
            ]
        ),
        "active": "1",
    }
    row.update(kw)
    return row


async def _snapshot(session: AsyncSession) -> list[tuple[object, ...]]:
    sites = (
        await session.execute(
            select(
                Site.code,
                Site.name,
                Site.level,
                Site.parent_code,
                Site.place_code,
                Site.address,
                Site.latitude,
                Site.longitude,
                Site.phone,
                Site.director,
                Site.active,
            ).order_by(Site.code)
        )
    ).all()
    staff = (
        await session.execute(
            select(SiteStaff.site_code, SiteStaff.name, SiteStaff.role, SiteStaff.capacity).order_by(
                SiteStaff.site_code, SiteStaff.name
            )
        )
    ).all()
    return [tuple(r) for r in sites] + [tuple(r) for r in staff]


async def test_import_with_bad_rows_changes_nothing(sessions: Sessions, tmp_path: Path) -> None:
    existing = f"GX{VILLAGE}"
    rows = [
        new_site("T-GOOD-1"),  # line 2: fine, but must not be created
        new_site(existing, name="改过的名字", level="village"),  # line 3: fine update, must not be applied
        new_site("T-BAD-LEVEL", level="hamlet"),  # 4
        new_site("T-BAD-HOURS", opening_hours='{"mon": ["12:00-08:00"]}'),  # 5
        new_site("T-BAD-PARENT", parent_code="NOPE"),  # 6
        new_site("T-GOOD-1"),  # 7 duplicate code
        new_site("T-SWAPPED", lat="118.85", lon="28.95"),  # 8 latitude/longitude swapped
        new_site("T-BAD-TYPE", dispute_types="family|criminal|nonsense"),  # 9
        new_site("T-BAD-STAFF", staff='[{"name": "赵", "role": "boss"}]'),  # 10
        new_site("", name=""),  # 11 no code, no name
        new_site("T-BAD-PLACE", place_code="330899999999"),  # 12 not a Quzhou code
        new_site("T-HALF-COORD", lon=""),  # 13
    ]
    path = write(tmp_path / "bad.csv", rows)
    async with unit_of_work(sessions) as session:
        before = await _snapshot(session)
    async with unit_of_work(sessions) as session:
        result = await import_csv(session, path)
    assert not result.ok and result.created == 0 and result.updated == 0
    bad_lines = sorted({e.line for e in result.errors})
    assert bad_lines == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    by_line = {e.line: e.reason for e in result.errors}
    assert "级别" in by_line[4] and "开放时间" in by_line[5] and "NOPE" in by_line[6] and "重复" in by_line[7]
    assert "填反" in by_line[8] and "criminal" in by_line[9] and "角色" in by_line[10]
    assert "第4行（T-BAD-LEVEL）" in str(result.errors[0])
    with pytest.raises(SiteImportError):
        result.raise_for_errors()
    async with unit_of_work(sessions) as session:
        assert await _snapshot(session) == before
        assert await session.get(Site, "T-GOOD-1") is None


async def test_import_bad_header_is_reported(sessions: Sessions, tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", [{"code": "X", "名字": "y"}], ["code", "名字"])
    async with unit_of_work(sessions) as session:
        result = await import_csv(session, path)
    assert not result.ok and result.errors[0].line == 1
    assert "name" in result.errors[0].reason and "名字" in result.errors[0].reason


async def test_import_creates_and_updates_then_restores(sessions: Sessions, tmp_path: Path) -> None:
    code = "T-NEW-SITE"
    existing = f"GX{TOWN}"
    async with unit_of_work(sessions) as session:
        before = await _snapshot(session)
        original_row = await _export_rows(session, tmp_path / "orig.csv", {existing})
    path_full = write(tmp_path / "new.csv", [new_site(code)])
    # A partial file: only some columns; absent columns keep the stored values.
    path = write(
        tmp_path / "ok.csv",
        [
            {"code": code, "name": f"测试站点{code}", "level": "village", "phone": "0570-0000000"},  # as stored
            {"code": existing, "name": "白云街道共享法庭（新址）", "level": "town", "phone": "0570-1234567"},
        ],
        ["code", "name", "level", "phone"],
    )
    async with unit_of_work(sessions) as session:
        created = await import_csv(session, path_full)
    assert created.ok and created.created == 1
    async with unit_of_work(sessions) as session:
        updated = await import_csv(session, path)
    assert updated.ok and updated.updated == 1 and updated.unchanged == 1, updated.errors
    async with unit_of_work(sessions) as session:
        site = await session.get(Site, code)
        assert site is not None and site.latitude == 28.95 and site.dispute_types == ["family", "neighbor"]
        assert site.opening_hours == {"mon": ["09:00-11:30"], "sat": ["09:00-12:00"]}
        assert sorted((p.name, p.role, p.capacity, p.dingtalk_user_id) for p in site.staff) == [
            ("张主任", "director", 1, "ding1"),
            ("王调解", "mediator", 2, None),
        ]
        town = await session.get(Site, existing)
        assert town is not None and town.name == "白云街道共享法庭（新址）" and town.phone == "0570-1234567"
        assert town.place_code == TOWN  # not in the file: kept
        choice = await nearest_site(session, Location(VILLAGE, 28.95, 118.85), "family")
        assert choice is not None and choice.site.code in (code, f"GX{VILLAGE}")
    # Staff are replaced by the file's list.
    async with unit_of_work(sessions) as session:
        again = await import_csv(session, write(tmp_path / "staff.csv", [new_site(code, staff="[]")]))
    assert again.updated == 1
    async with unit_of_work(sessions) as session:
        site = await session.get(Site, code)
        assert site is not None and site.staff == []
    # Put everything back.
    async with unit_of_work(sessions) as session:
        await session.execute(delete(SiteStaff).where(SiteStaff.site_code == code))
        await session.execute(delete(Site).where(Site.code == code))
        restored = await import_csv(session, original_row)
        assert restored.ok and restored.updated == 1
    async with unit_of_work(sessions) as session:
        assert await _snapshot(session) == before


async def _export_rows(session: AsyncSession, path: Path, codes: set[str]) -> Path:
    full = path.with_suffix(".all.csv")
    await export_csv(session, full)
    with full.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["code"] in codes]
    return write(path, rows)


async def test_export_import_round_trip(sessions: Sessions, tmp_path: Path) -> None:
    first = tmp_path / "export1.csv"
    second = tmp_path / "export2.csv"
    async with unit_of_work(sessions) as session:
        n = await export_csv(session, first)
    assert n == len(read_csv_records(DEFAULT_SITES_CSV))
    raw = first.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, for spreadsheet programs
    with first.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert len(rows) == n
    async with unit_of_work(sessions) as session:
        result = await import_csv(session, first)
    assert result.ok and result.created == 0 and result.updated == 0 and result.unchanged == n
    async with unit_of_work(sessions) as session:
        await export_csv(session, second)
    assert second.read_bytes() == raw
    # The exported records are exactly the committed default registry.
    exported = {r.code: r for r in read_csv_records(first)}
    default = {r.code: r for r in read_csv_records(DEFAULT_SITES_CSV)}
    assert exported == default


async def test_cli_import_lists_bad_rows_and_exits_1(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "cli.csv", [new_site("T-CLI"), new_site("T-CLI-BAD", level="x")])
    code = await _in_thread(sites_import_main, [str(path), "--database-url", database_url])
    assert code == 1
    err = capsys.readouterr().err
    assert "导入失败" in err and "第3行（T-CLI-BAD）" in err
    code = await _in_thread(
        sites_import_main,
        [str(write(tmp_path / "ok.csv", [new_site("T-CLI")])), "--database-url", database_url, "--dry-run"],
    )
    assert code == 0
    assert "仅检查" in capsys.readouterr().out


async def _in_thread(fn: object, argv: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(fn, argv)  # type: ignore[arg-type]


def test_staff_record_json() -> None:
    s = StaffRecord("王", "mediator", 3, "", None)
    assert s.to_json() == {"name": "王", "role": "mediator", "capacity": 3}
