"""The site registry CSV: all-or-nothing import of good and bad files, and export in the import format.

Database tests use the `sessions` fixture of tests/conftest.py, so they run on SQLite and on PostgreSQL. The
registry tables are reference data (kept between tests), so every test here puts back what it changes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.sites.csv_format import COLUMNS, SiteImportError, export_csv, import_csv, read_csv_records
from sharedcourt.sites.places import Gazetteer
from sharedcourt.sites.registry import DEFAULT_SITES_CSV, Location, nearest_site
from sharedcourt.sites.served import PROVINCE_SITES

VILLAGE = "330802009201"  # 柯城区白云街道回龙村
TOWN = "330802009"  # 柯城区白云街道

Sessions = async_sessionmaker[AsyncSession]


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


async def test_import_the_served_cities_of_the_province_file(sessions: Sessions) -> None:
    # 舟山 (3309) only, from the gzipped province registry; put back afterwards (reference data).
    zhoushan = read_csv_records(PROVINCE_SITES, ("3309",))
    assert zhoushan and all((r.place_code or "")[:4] == "3309" for r in zhoushan)
    async with sessions() as session:
        result = await import_csv(session, PROVINCE_SITES, Gazetteer.load(cities=("3308", "3309")), cities=("3309",))
        assert result.ok, result.errors[:3]
        await session.commit()
    try:
        async with unit_of_work(sessions) as session:
            stored = (await session.scalars(select(Site.code).where(Site.code.in_([r.code for r in zhoushan])))).all()
            assert len(stored) == len(zhoushan)
            quzhou = await session.get(Site, "GX330802009")
            assert quzhou is not None, "the sites already there stay"
    finally:
        async with unit_of_work(sessions) as session:
            codes = [r.code for r in zhoushan]
            await session.execute(delete(SiteStaff).where(SiteStaff.site_code.in_(codes)))
            await session.execute(delete(Site).where(Site.code.in_(codes)))
