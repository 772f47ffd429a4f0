"""The duty roster as data: who serves which site (or county dispatch centre) in which role and hours.

The sample `sharedcourt/data/roster.yml` is what a fresh database is seeded from (`rows_from_yaml`); after that
`make roster-import` / `make roster-export` move it as CSV (sharedcourt.staff.roster_csv). A roster row may name
the console account of its person, which maps DingTalk and WeCom identities to accounts (`account_for_identity`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.data import DATA_DIR, read_mapping
from sharedcourt.db.staff import RosterEntry, StaffAccount

ROSTER_YAML = DATA_DIR / "roster.yml"
ROSTER_ROLES = ("director", "mediator", "judge", "lawyer", "police", "family_mediator", "dispatch")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")
COLUMNS = ("key", "site_code", "site_name", "county", "role", "name", "dingtalk", "wecom", "hours", "account", "active")
_SPAN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


def parse_hours(text: str) -> tuple[dict[str, list[str]], str]:
    """Working hours from their JSON text: ({"mon": ["08:30-12:00"], ...}, '') or ({}, why it is bad)."""
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}, "hours 不是合法的 JSON"
    if not isinstance(data, dict):
        return {}, 'hours 应为 {"mon": ["08:30-12:00"], …}'
    hours: dict[str, list[str]] = {}
    for day, spans in data.items():
        if day not in DAYS:
            return {}, f"hours 中的 {day} 不是星期（mon…sun 或 holiday）"
        if not isinstance(spans, list) or not all(isinstance(s, str) for s in spans):
            return {}, f"hours 中 {day} 应为时段列表"
        for span in spans:
            found = _SPAN.fullmatch(span)
            if not found or found.group(1, 2) >= found.group(3, 4):
                return {}, f"时段 {span} 应为 HH:MM-HH:MM 且开始早于结束"
        hours[day] = list(spans)
    return hours, ""


def _row(entry: Mapping[str, Any], schedules: Mapping[str, Any], site: tuple[str, str, str]) -> dict[str, str]:
    hours = entry.get("hours", "office")
    spans = hours if isinstance(hours, dict) else schedules.get(str(hours), {})
    code, name, county = site
    return {
        "key": str(entry.get("id", "")),
        "site_code": code,
        "site_name": name,
        "county": county,
        "role": str(entry.get("role", "")),
        "name": str(entry.get("name", "")),
        "dingtalk": str(entry.get("dingtalk") or ""),
        "wecom": str(entry.get("wecom") or ""),
        "hours": json.dumps(spans, ensure_ascii=False),
        "account": str(entry.get("account") or ""),
        "active": "1",
    }


def rows_from_yaml(path: Path = ROSTER_YAML) -> list[dict[str, str]]:
    """The roster file as CSV rows (in roster order), to be validated and imported like any CSV."""
    data = read_mapping(path)
    schedules = data.get("schedules") or {}
    rows = []
    for code, spec in (data.get("sites") or {}).items():
        site = (str(code), str(spec.get("name", "")), str(spec.get("county", "")))
        rows += [_row(entry, schedules, site) for entry in spec.get("staff") or []]
    for county, entry in (data.get("dispatch_centres") or {}).items():
        rows.append(_row(entry, schedules, ("", "", str(county))))
    return rows


async def account_for_identity(session: AsyncSession, *, dingtalk: str = "", wecom: str = "") -> StaffAccount | None:
    """The console account of a DingTalk or WeCom user: set on the account itself, else named by the roster."""
    if not (dingtalk or wecom):
        return None
    own = [StaffAccount.dingtalk_user_id == dingtalk] if dingtalk else []
    own += [StaffAccount.wecom_user_id == wecom] if wecom else []
    account: StaffAccount | None = await session.scalar(select(StaffAccount).where(or_(*own)))
    if account is not None:
        return account
    listed = [RosterEntry.dingtalk_user_id == dingtalk] if dingtalk else []
    listed += [RosterEntry.wecom_user_id == wecom] if wecom else []
    query = (
        select(StaffAccount)
        .join(RosterEntry, RosterEntry.account_id == StaffAccount.id)
        .where(or_(*listed))
        .order_by(RosterEntry.position)
        .limit(1)
    )
    account = await session.scalar(query)
    return account
