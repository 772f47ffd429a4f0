"""`make roster-import` / `make roster-export`: the duty roster as CSV, all or nothing, every bad row listed.

An import replaces the whole roster (rows not in the file are removed), so export → edit → import is the way to
change it. Columns: key, site_code, site_name, county, role, name, dingtalk, wecom, hours (JSON), account (a
console login name, optional), active.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.staff import RosterEntry, StaffAccount
from sharedcourt.sites.csv_format import RowError, read_rows
from sharedcourt.staff.roster import COLUMNS, ROSTER_ROLES, ROSTER_YAML, parse_hours, rows_from_yaml
from sharedcourt.staff.scopes import county_codes

TRUE, FALSE = ("", "1", "true", "yes", "是"), ("0", "false", "no", "否")


@dataclass
class RosterImport:
    """What an import did, or (with errors) why it changed nothing."""

    created: int = 0
    updated: int = 0
    removed: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row was bad."""
        return not self.errors

    def summary_zh(self) -> str:
        """One sentence for the operator."""
        if self.errors:
            return f"导入失败，共{len(self.errors)}处错误，未做任何修改："
        return f"导入成功：新增{self.created}人，更新{self.updated}人，移除{self.removed}人。"


def _check(row: dict[str, str], counties: frozenset[str], accounts: dict[str, int]) -> tuple[dict[str, Any], list[str]]:
    """One row's values for the table, and every reason it is bad."""
    why: list[str] = []
    for column, limit in (("key", 64), ("name", 64), ("dingtalk", 64), ("wecom", 64), ("site_name", 128)):
        if len(row.get(column, "")) > limit:
            why.append(f"{column} 超过 {limit} 个字符")
    if not row.get("key"):
        why.append("缺少 key")
    if not row.get("name"):
        why.append("缺少 name")
    role, site = row.get("role", ""), row.get("site_code", "")
    if role not in ROSTER_ROLES:
        why.append(f"role {role or '（空）'} 不是 {'/'.join(ROSTER_ROLES)} 之一")
    if (role == "dispatch") == bool(site):
        why.append("指挥中心（dispatch）不填 site_code，其他角色必须填写 site_code")
    if row.get("county", "") not in counties:
        why.append(f"county {row.get('county') or '（空）'} 不是县（市、区）代码")
    hours, bad_hours = parse_hours(row.get("hours", ""))
    if bad_hours:
        why.append(bad_hours)
    account = row.get("account", "").lower()
    if account and account not in accounts:
        why.append(f"account {account} 不是已有的工作人员账号")
    active = row.get("active", "").lower()
    if active not in TRUE + FALSE:
        why.append("active 应为 1 或 0")
    values = {
        "key": row.get("key", ""),
        "site_code": site,
        "site_name": row.get("site_name", ""),
        "county": row.get("county", ""),
        "role": role,
        "name": row.get("name", ""),
        "dingtalk_user_id": row.get("dingtalk", ""),
        "wecom_user_id": row.get("wecom", ""),
        "hours": hours,
        "account_id": accounts.get(account),
        "active": active in TRUE,
    }
    return values, why


def _duplicates(rows: list[tuple[int, dict[str, Any]]], errors: list[RowError]) -> None:
    """A key, DingTalk id or WeCom id may appear once in the file."""
    for column in ("key", "dingtalk_user_id", "wecom_user_id"):
        seen: dict[str, int] = {}
        for line, values in rows:
            value = values[column]
            if value and value in seen:
                errors.append(RowError(line, values["key"], f"{column} {value} 与第{seen[value]}行重复"))
            seen.setdefault(value, line)


async def validate_rows(
    session: AsyncSession, rows: Iterable[tuple[int, dict[str, str]]]
) -> tuple[RosterImport, list[dict[str, Any]]]:
    """Check every row (nothing is written): the result with every error, and each row's values for the table."""
    result = RosterImport()
    accounts = dict((await session.execute(select(StaffAccount.username, StaffAccount.id))).tuples().all())
    counties = county_codes()
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, row in rows:
        values, why = _check(row, counties, accounts)
        result.errors += [RowError(line, row.get("key", ""), reason) for reason in why]
        parsed.append((line, values))
    _duplicates(parsed, result.errors)
    result.errors.sort(key=lambda e: e.line)
    return result, [values for _, values in parsed]


async def import_rows(session: AsyncSession, rows: list[tuple[int, dict[str, str]]]) -> RosterImport:
    """Validate every row, then replace the roster with them; with any bad row nothing is written."""
    result, parsed = await validate_rows(session, rows)
    if result.errors:
        return result
    existing = {e.key: e for e in (await session.scalars(select(RosterEntry))).all()}
    for position, values in enumerate(parsed):
        entry = existing.pop(values["key"], None)
        if entry is None:
            session.add(RosterEntry(position=position, **values))
            result.created += 1
            continue
        for name, value in {**values, "position": position}.items():
            setattr(entry, name, value)
        result.updated += 1
    if existing:
        await session.execute(delete(RosterEntry).where(RosterEntry.key.in_(list(existing))))
        result.removed = len(existing)
    await session.flush()
    return result


async def import_csv(session: AsyncSession, path: Path | str) -> RosterImport:
    """The roster from a CSV file (header required, see COLUMNS); all or nothing."""
    try:
        header, rows = read_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return RosterImport(errors=[RowError(1, "", f"无法读取文件：{exc}")])
    missing = [c for c in ("key", "role", "name", "county", "site_code") if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        reason = f"表头缺少 {', '.join(missing)}" if missing else f"表头有未知列 {', '.join(unknown)}"
        return RosterImport(errors=[RowError(1, "", reason)])
    return await import_rows(session, rows)


async def export_csv(session: AsyncSession, path: Path | str) -> int:
    """Write the roster in import format and roster order; returns the number of rows."""
    entries = (await session.scalars(select(RosterEntry).order_by(RosterEntry.position, RosterEntry.key))).all()
    names = dict((await session.execute(select(StaffAccount.id, StaffAccount.username))).tuples().all())
    rows = [
        {
            "key": e.key,
            "site_code": e.site_code,
            "site_name": e.site_name,
            "county": e.county,
            "role": e.role,
            "name": e.name,
            "dingtalk": e.dingtalk_user_id,
            "wecom": e.wecom_user_id,
            "hours": json.dumps(e.hours, ensure_ascii=False),
            "account": names.get(e.account_id, "") if e.account_id else "",
            "active": "1" if e.active else "0",
        }
        for e in entries
    ]
    write_rows(rows, path)
    return len(rows)


def write_rows(rows: Iterable[dict[str, str]], path: Path | str) -> None:
    """Write roster rows as CSV with the import header."""
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


async def seed(session: AsyncSession, path: Path = ROSTER_YAML) -> RosterImport | None:
    """Load the roster file (the sample by default) into an empty roster table; None when it holds rows already."""
    if await session.scalar(select(RosterEntry.key).limit(1)) is not None:
        return None
    # An entry's "line" is its place in the file's roster order, counted like CSV lines (header = 1).
    return await import_rows(session, list(enumerate(rows_from_yaml(path), start=2)))
