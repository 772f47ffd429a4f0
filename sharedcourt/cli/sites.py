"""`make sites-import` / `make sites-export`: the site registry CSV in and out of the database."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Sequence
from typing import TextIO

from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work
from sharedcourt.settings import Settings
from sharedcourt.sites.csv_format import ImportResult, export_csv, import_csv
from sharedcourt.sites.records import SiteRecord, load_records
from sharedcourt.sites.registry import SiteRegistry
from sharedcourt.sites.served import served_cities


def _database_url(arg: str | None) -> str:
    if arg:
        return arg
    return Settings.from_env().database_url


async def _run_import(url: str, path: str, dry_run: bool, cities: tuple[str, ...] | None = None) -> ImportResult:
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            result = await import_csv(session, path, cities=cities)
            if result.ok and not dry_run:
                await session.commit()
            else:
                await session.rollback()
        return result
    finally:
        await engine.dispose()


async def _run_export(url: str, path: str) -> int:
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            return await export_csv(session, path)
    finally:
        await engine.dispose()


def sites_import_main(argv: Sequence[str] | None = None) -> int:
    """`make sites-import FILE=...`: all or nothing; every bad row is listed. Exit 0 ok, 1 bad rows."""
    parser = argparse.ArgumentParser(prog="sites-import", description="导入共享法庭站点登记表（CSV）")
    parser.add_argument("file")
    parser.add_argument("--database-url")
    parser.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    parser.add_argument("--served", action="store_true", help="只导入本系统服务城市（SERVED_CITIES）的站点")
    args = parser.parse_args(argv)
    cities = served_cities() if args.served else None
    result = asyncio.run(_run_import(_database_url(args.database_url), args.file, args.dry_run, cities))
    if not result.ok:
        print(result.summary_zh(), file=sys.stderr)
        for err in result.errors:
            print(f"  {err}", file=sys.stderr)
        return 1
    print(("（仅检查）" if args.dry_run else "") + result.summary_zh())
    return 0


def sites_export_main(argv: Sequence[str] | None = None) -> int:
    """`make sites-export FILE=...`: one row per site, in the import format."""
    parser = argparse.ArgumentParser(prog="sites-export", description="导出共享法庭站点登记表（CSV）")
    parser.add_argument("file")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    n = asyncio.run(_run_export(_database_url(args.database_url), args.file))
    print(f"已导出{n}个站点到 {args.file}")
    return 0


# WeChat's limit on a QR code's scene_str (the parameter of qrcode/create); every registry key fits.
SCENE_MAX = 64
SCENE_COLUMNS = ("scene", "name", "level", "address")


async def _active_sites(url: str) -> list[SiteRecord]:
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            return await load_records(session, active_only=True)
    finally:
        await engine.dispose()


def write_scenes(records: Sequence[SiteRecord], out: TextIO | None = None) -> int:
    """One CSV row per site: its QR scene value (the registry key), name, level and address."""
    writer = csv.writer(out or sys.stdout, lineterminator="\n")
    writer.writerow(SCENE_COLUMNS)
    for r in records:
        if len(r.code) > SCENE_MAX:
            raise SystemExit(f"site code {r.code!r} is longer than a QR scene value ({SCENE_MAX})")
        writer.writerow((r.code, r.name, r.level, r.address))
    return len(records)


def site_qr_scenes_main(argv: Sequence[str] | None = None) -> int:
    """`make site-qr-scenes`: every active site's QR scene value, as CSV on stdout, for printing the codes."""
    parser = argparse.ArgumentParser(prog="site-qr-scenes", description="列出各共享法庭站点二维码的场景值（CSV）")
    parser.add_argument("--database-url")
    parser.add_argument("--default", action="store_true", help="用内置默认登记表（SERVED_CITIES），不读数据库")
    args = parser.parse_args(argv)
    if args.default:
        records = sorted(SiteRegistry.default(served_cities()).sites.values(), key=lambda r: r.code)
    else:
        records = asyncio.run(_active_sites(_database_url(args.database_url)))
    write_scenes(records)
    return 0
