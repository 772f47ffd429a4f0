"""`make sites-import` / `make sites-export`: the site registry CSV in and out of the database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work
from sharedcourt.settings import Settings
from sharedcourt.sites.csv_format import ImportResult, export_csv, import_csv
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
