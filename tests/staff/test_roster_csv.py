"""Roster CSV: seeded from the sample YAML once, export → import is a no-op, an import replaces the roster, and
any bad row changes nothing while every bad row is listed."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sharedcourt.db.staff import RosterEntry
from sharedcourt.staff.accounts import create_account
from sharedcourt.staff.roster import COLUMNS, rows_from_yaml
from sharedcourt.staff.roster_csv import export_csv, import_csv, seed, write_rows

SAMPLE = len(rows_from_yaml())  # people in the sample roster.yml
OFFICE = '{"mon": ["08:30-12:00"]}'


def _row(key: str, **values: str) -> dict[str, str]:
    base = {c: "" for c in COLUMNS}
    base.update(key=key, site_code="GX330802009", county="330802", role="mediator", name=f"调解员{key}", hours=OFFICE)
    base.update(values)
    return base


async def _keys(sessions: Any) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(RosterEntry.key).order_by(RosterEntry.position)))


async def test_seed_once_then_export_import_changes_nothing(sessions: Any, tmp_path: Path) -> None:
    async with sessions() as session, session.begin():
        seeded = await seed(session)
        assert seeded is not None and seeded.ok and seeded.created == SAMPLE
    async with sessions() as session, session.begin():
        assert await seed(session) is None, "a roster with rows is not seeded again"
        assert await export_csv(session, tmp_path / "r.csv") == SAMPLE
    before = await _keys(sessions)
    async with sessions() as session, session.begin():
        again = await import_csv(session, tmp_path / "r.csv")
    assert again.ok and (again.created, again.updated, again.removed) == (0, SAMPLE, 0)
    assert await _keys(sessions) == before
    async with sessions() as session, session.begin():
        assert await export_csv(session, tmp_path / "r2.csv") == SAMPLE
    assert (tmp_path / "r.csv").read_text() == (tmp_path / "r2.csv").read_text()


async def test_an_import_replaces_the_roster_and_links_accounts(sessions: Any, tmp_path: Path) -> None:
    async with sessions() as session, session.begin():
        account = await create_account(session, "wangwu", "Qz7!court-desk")
        await seed(session)
    path = tmp_path / "new.csv"
    write_rows([_row("b", account="WangWu", dingtalk="ding-b"), _row("a", active="0")], path)
    async with sessions() as session, session.begin():
        result = await import_csv(session, path)
    assert result.ok and (result.created, result.removed) == (2, SAMPLE)
    assert await _keys(sessions) == ["b", "a"]
    async with sessions() as session:
        b = await session.get(RosterEntry, "b")
        a = await session.get(RosterEntry, "a")
    assert b is not None and b.account_id == account.id and b.dingtalk_user_id == "ding-b" and b.active
    assert a is not None and not a.active and a.hours == {"mon": ["08:30-12:00"]}


async def test_every_bad_row_is_listed_and_nothing_changes(sessions: Any, tmp_path: Path) -> None:
    async with sessions() as session, session.begin():
        await seed(session)
    rows = [
        _row("ok"),
        _row("", role="boss"),
        _row("d1", role="dispatch"),
        _row("m1", site_code=""),
        _row("c1", county="999999"),
        _row("h1", hours='{"mon": ["9-12"]}'),
        _row("x1", account="nobody", active="maybe"),
        _row("ok", dingtalk="dup"),
        _row("y1", dingtalk="dup", name=""),
    ]
    path = tmp_path / "bad.csv"
    write_rows(rows, path)
    async with sessions() as session, session.begin():
        result = await import_csv(session, path)
    reasons = [(e.line, e.reason) for e in result.errors]
    text = "\n".join(f"{line} {why}" for line, why in reasons)
    for line, part in [
        (3, "缺少 key"), (3, "role boss"), (4, "不填 site_code"), (5, "必须填写 site_code"), (6, "county 999999"),
        (7, "HH:MM"), (8, "account nobody"), (8, "active"), (9, "key ok 与第2行重复"), (10, "dingtalk_user_id dup"),
        (10, "缺少 name"),
    ]:  # fmt: skip
        assert any(at == line and part in why for at, why in reasons), f"line {line}: {part} not in\n{text}"
    assert not any(line == 2 for line, _ in reasons)
    assert "导入失败，共" in result.summary_zh()
    assert len(await _keys(sessions)) == SAMPLE, "nothing changed"


async def test_a_bad_header_or_file_is_one_clear_error(sessions: Any, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    with wrong.open("w", newline="") as fh:
        csv.writer(fh).writerows([["key", "name", "colour"], ["a", "b", "c"]])
    async with sessions() as session:
        result = await import_csv(session, wrong)
        assert [e.reason for e in result.errors] == ["表头缺少 role, county, site_code"]
        missing = await import_csv(session, tmp_path / "absent.csv")
        assert "无法读取文件" in missing.errors[0].reason
