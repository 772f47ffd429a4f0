"""Roster commands: seed once from the sample, export, an import with bad rows lists them (exit 1, nothing
changed), --dry-run only checks; the Makefile targets exist and call them."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sharedcourt.cli import main as cli
from sharedcourt.db.staff import RosterEntry
from sharedcourt.staff.roster import rows_from_yaml
from sharedcourt.staff.roster_csv import write_rows


async def _cli(argv: list[str]) -> int:
    return await asyncio.to_thread(cli.main, argv)


async def _count(sessions: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(RosterEntry)) or 0)


async def test_seed_export_and_import_from_the_command_line(
    database_url: str, sessions: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--database-url", database_url]
    sample = len(rows_from_yaml())
    assert await _cli(["roster-seed", *url]) == 0
    assert f"新增{sample}人" in capsys.readouterr().out
    assert await _cli(["roster-seed", *url]) == 0
    assert "未做修改" in capsys.readouterr().out
    exported = tmp_path / "roster.csv"
    assert await _cli(["roster-export", str(exported), *url]) == 0
    assert f"已导出{sample}人" in capsys.readouterr().out
    rows = rows_from_yaml()[:2]
    rows[1]["role"] = "boss"
    bad = tmp_path / "bad.csv"
    write_rows(rows, bad)
    assert await _cli(["roster-import", str(bad), *url]) == 1
    err = capsys.readouterr().err
    assert "导入失败" in err and "第3行（baiyun-mediator-1）：role boss" in err
    assert await _count(sessions) == sample
    good = tmp_path / "good.csv"
    write_rows(rows_from_yaml()[:2], good)
    assert await _cli(["roster-import", str(good), *url, "--dry-run"]) == 0
    assert "（仅检查）导入成功" in capsys.readouterr().out and await _count(sessions) == sample
    assert await _cli(["roster-import", str(good), *url]) == 0
    assert await _count(sessions) == 2


def test_the_makefile_has_the_roster_targets(repo_root: Path) -> None:
    makefile = (repo_root / "Makefile").read_text()
    for target in ("roster-import", "roster-export", "roster-seed"):
        recipe = re.search(rf"^{target}: \$\(APP_STAMP\).*\n((?:\t.*\n)+)", makefile, re.M)
        assert recipe and f"$(CLI) {target}" in recipe.group(1), target
