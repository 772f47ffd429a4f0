"""`make roster-import` / `make roster-export` / `make roster-seed`: the duty roster in and out of the database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work
from sharedcourt.settings import Settings
from sharedcourt.staff.roster import ROSTER_YAML
from sharedcourt.staff.roster_csv import RosterImport, export_csv, import_csv, seed


def _database_url(arg: str | None) -> str:
    return arg or Settings.from_env().database_url


async def _import(url: str, path: str, dry_run: bool) -> RosterImport:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            result = await import_csv(session, path)
            if result.ok and not dry_run:
                await session.commit()
            else:
                await session.rollback()
            return result
    finally:
        await engine.dispose()


async def _export(url: str, path: str) -> int:
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            return await export_csv(session, path)
    finally:
        await engine.dispose()


async def _seed(url: str, path: Path) -> RosterImport | None:
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            result = await seed(session, path)
            if result is not None and not result.ok:
                await session.rollback()
            return result
    finally:
        await engine.dispose()


def _report(result: RosterImport, prefix: str = "") -> int:
    if not result.ok:
        print(result.summary_zh(), file=sys.stderr)
        for err in result.errors:
            print(f"  {err}", file=sys.stderr)
        return 1
    print(prefix + result.summary_zh())
    return 0


def roster_import_main(argv: Sequence[str] | None = None) -> int:
    """`make roster-import FILE=...`: replaces the roster, all or nothing; every bad row is listed (exit 1)."""
    parser = argparse.ArgumentParser(prog="roster-import", description="导入值班名册（CSV，整体替换）")
    parser.add_argument("file")
    parser.add_argument("--database-url")
    parser.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    args = parser.parse_args(argv)
    result = asyncio.run(_import(_database_url(args.database_url), args.file, args.dry_run))
    return _report(result, "（仅检查）" if args.dry_run else "")


def roster_export_main(argv: Sequence[str] | None = None) -> int:
    """`make roster-export FILE=...`: one row per person on the roster, in the import format."""
    parser = argparse.ArgumentParser(prog="roster-export", description="导出值班名册（CSV）")
    parser.add_argument("file")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    n = asyncio.run(_export(_database_url(args.database_url), args.file))
    print(f"已导出{n}人到 {args.file}")
    return 0


def roster_seed_main(argv: Sequence[str] | None = None) -> int:
    """`make roster-seed`: an empty roster table is filled from the roster file (the sample YAML by default)."""
    parser = argparse.ArgumentParser(prog="roster-seed", description="用名册文件（默认为示例）填充空的值班名册")
    parser.add_argument("--file", default=str(ROSTER_YAML))
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    result = asyncio.run(_seed(_database_url(args.database_url), Path(args.file)))
    if result is None:
        print("值班名册已有数据，未做修改（the roster is not empty; nothing changed）")
        return 0
    return _report(result)
