"""`sites-import` on the command line: every bad row is listed and nothing is written; --dry-run only checks."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from sharedcourt.cli.sites import site_qr_scenes_main, sites_import_main
from sharedcourt.sites.csv_format import write_csv
from sharedcourt.sites.records import SiteRecord, StaffRecord
from sharedcourt.sites.registry import SiteRegistry

VILLAGE = "330802009201"  # 柯城区白云街道回龙村
TOWN = "330802009"  # 柯城区白云街道


def new_site(code: str) -> SiteRecord:
    return SiteRecord(
        code=code,
        name=f"测试站点{code}",
        level="village",
        parent_code=f"GX{TOWN}",
        place_code=VILLAGE,
        address="衢州市柯城区白云街道回龙村",
        lat=28.95,
        lon=118.85,
        opening_hours={"mon": ["09:00-11:30"], "sat": ["09:00-12:00"]},
        dispute_types=("family", "neighbor"),
        phone="0570-0000000",
        director="张主任",
        judge="李法官",
        staff=(StaffRecord("王调解", "mediator", 2), StaffRecord("张主任", "director", 1, "", "ding1")),
    )


async def test_cli_import_lists_bad_rows_and_exits_1(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cli.csv"
    write_csv([new_site("T-CLI"), replace(new_site("T-CLI-BAD"), level="x")], path)
    code = await _in_thread(sites_import_main, [str(path), "--database-url", database_url])
    assert code == 1
    err = capsys.readouterr().err
    assert "导入失败" in err and "第3行（T-CLI-BAD）" in err
    ok = tmp_path / "ok.csv"
    write_csv([new_site("T-CLI")], ok)
    code = await _in_thread(sites_import_main, [str(ok), "--database-url", database_url, "--dry-run"])
    assert code == 0
    assert "仅检查" in capsys.readouterr().out


async def _in_thread(fn: Callable[[Sequence[str]], int], argv: list[str]) -> int:
    return await asyncio.to_thread(fn, argv)


def test_site_qr_scenes_lists_every_default_site_by_its_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert site_qr_scenes_main(["--default"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    expected = SiteRegistry.default()
    assert len(rows) == len(expected)
    assert all(expected.get(r["scene"]) is not None and len(r["scene"]) <= 64 for r in rows)
    village = next(r for r in rows if r["scene"] == f"GX{VILLAGE}")
    assert village["name"] == expected.sites[f"GX{VILLAGE}"].name and village["level"] == "village"


async def test_site_qr_scenes_reads_the_database(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    await asyncio.to_thread(site_qr_scenes_main, ["--database-url", database_url])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert f"GX{VILLAGE}" in {r["scene"] for r in rows}
