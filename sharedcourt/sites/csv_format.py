"""The site registry CSV: reading and writing the file, and its all-or-nothing import into the database.

Format (one row per site, UTF-8, header required; `code`, `name`, `level` are required columns):

    code, name, level, parent_code, place_code, address, lat, lon, opening_hours (JSON), dispute_types (`|`),
    phone, director, judge, staff (JSON list of {name, role, capacity, phone, dingtalk_user_id}), active (1/0)

An import validates every row first (`sharedcourt.sites.csv_rows`) and writes nothing if any row is bad; the result
lists every bad row (its line number in the file and the reason). Rows are upserts by code; sites not in the file
are left as they are. A column absent from the header keeps the stored value (or the default for a new site).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.errors import SharedCourtError
from sharedcourt.sites.csv_rows import parse_row
from sharedcourt.sites.places import Gazetteer
from sharedcourt.sites.records import DEFAULT_HOURS, SiteRecord, StaffRecord, load_records
from sharedcourt.sites.served import PROVINCE_CODE, in_cities

COLUMNS = (
    "code",
    "name",
    "level",
    "parent_code",
    "place_code",
    "address",
    "lat",
    "lon",
    "opening_hours",
    "dispute_types",
    "phone",
    "director",
    "judge",
    "staff",
    "active",
)
REQUIRED_COLUMNS = ("code", "name", "level")


@dataclass(frozen=True)
class RowError:
    """One reason a row is bad, with its line number in the file and the site code it names."""

    line: int  # line number in the file (the header is line 1)
    code: str
    reason: str

    def __str__(self) -> str:
        who = f"（{self.code}）" if self.code else ""
        return f"第{self.line}行{who}：{self.reason}"


@dataclass
class ImportResult:
    """What an import did (sites created, updated, unchanged) or, with errors, why it changed nothing."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row was bad."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise SiteImportError listing the bad rows, if there are any."""
        if self.errors:
            raise SiteImportError(self.errors)

    def summary_zh(self) -> str:
        """One sentence for the operator: the counts, or that the import failed and changed nothing."""
        if self.errors:
            return f"导入失败，共{len(self.errors)}处错误，未做任何修改："
        return f"导入成功：新增{self.created}个，更新{self.updated}个，未变{self.unchanged}个。"


class SiteImportError(SharedCourtError):
    """A registry import had bad rows; nothing was changed."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:20]) + (" …" if len(errors) > 20 else ""))
        self.errors = errors


def read_rows(path: Path | str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs; the BOM that spreadsheet programs write is accepted, and a file whose
    name ends in .gz is read through gzip (the province's default registry)."""
    path = Path(path)
    opened = gzip.open(path, "rt", encoding="utf-8-sig", newline="") if path.suffix == ".gz" else None
    with opened or path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        rows = []
        for row in reader:
            clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if not any(clean.values()):
                continue
            rows.append((reader.line_num, clean))
    return header, rows


async def import_csv(
    session: AsyncSession, path: Path | str, gazetteer: Gazetteer | None = None, cities: tuple[str, ...] | None = None
) -> ImportResult:
    """Validate the whole file, then upsert every row; with any bad row nothing is written. `cities` imports only
    the rows in those cities (the province file into a deployment serving some of them)."""
    gaz = gazetteer or Gazetteer.load()
    result = ImportResult()
    try:
        header, rows = read_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        result.errors.append(RowError(1, "", f"无法读取文件：{exc}"))
        return result
    bad_header = _header_error(header)
    if bad_header is not None:
        result.errors.append(bad_header)
        return result
    if cities is not None:
        rows = [(n, r) for n, r in rows if in_cities(r.get("place_code") or PROVINCE_CODE, cities)]
    existing: dict[str, Site] = {s.code: s for s in (await session.scalars(select(Site))).all()}
    parsed = _validate(rows, set(header), gaz, set(existing), result.errors)
    if result.errors:
        result.errors.sort(key=lambda e: e.line)
        return result
    for values in parsed:
        _upsert(session, existing.get(values["code"]), values, result)
    await session.flush()
    return result


def _header_error(header: list[str]) -> RowError | None:
    """Missing required columns and unknown columns, as the error of line 1."""
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if not missing and not unknown:
        return None
    reason = []
    if missing:
        reason.append(f"缺少必需的列：{', '.join(missing)}")
    if unknown:
        reason.append(f"不认识的列：{', '.join(unknown)}")
    return RowError(1, "", "；".join(reason))


def _validate(
    rows: list[tuple[int, dict[str, str]]],
    columns: set[str],
    gazetteer: Gazetteer,
    existing: set[str],
    errors: list[RowError],
) -> list[dict[str, Any]]:
    """The values of every row; bad rows, repeated codes and unknown parents are added to `errors`."""
    file_codes: dict[str, int] = {}
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, row in rows:
        values, reasons = parse_row(row, columns, gazetteer)
        code = values["code"]
        if code in file_codes:
            reasons.append(f"编码重复（已在第{file_codes[code]}行出现）")
        elif code:
            file_codes[code] = line
        for why in reasons:
            errors.append(RowError(line, code, why))
        parsed.append((line, values))
    known = existing | set(file_codes)
    for line, values in parsed:
        parent = values.get("parent_code")
        if parent and parent not in known:
            errors.append(RowError(line, values["code"], f"上级编码 {parent} 在文件和现有登记中都不存在"))
    return [values for _line, values in parsed]


def _upsert(session: AsyncSession, site: Site | None, values: dict[str, Any], result: ImportResult) -> None:
    """Create the site or update the stored one from a valid row, and count which it was."""
    staff: list[StaffRecord] | None = values.pop("staff", None)
    if site is None:
        site = Site(**{**_new_site_defaults(), **values})
        session.add(site)
        _set_staff(site, staff or [])
        result.created += 1
        return
    changed = False
    for key, value in values.items():
        if getattr(site, key) != value:
            setattr(site, key, value)
            changed = True
    if staff is not None and _staff_key(site.staff) != [s.to_json() for s in staff]:
        _set_staff(site, staff)
        changed = True
    if changed:
        result.updated += 1
    else:
        result.unchanged += 1


def _new_site_defaults() -> dict[str, Any]:
    return {
        "parent_code": None,
        "place_code": None,
        "address": "",
        "latitude": None,
        "longitude": None,
        "opening_hours": dict(DEFAULT_HOURS),
        "dispute_types": [],
        "phone": "",
        "director": "",
        "judge": "",
        "active": True,
    }


def _staff_key(staff: Iterable[SiteStaff]) -> list[dict[str, Any]]:
    return [StaffRecord(p.name, p.role, p.capacity, p.phone, p.dingtalk_user_id).to_json() for p in staff if p.active]


def _set_staff(site: Site, staff: list[StaffRecord]) -> None:
    site.staff = [
        SiteStaff(name=s.name, role=s.role, capacity=s.capacity, phone=s.phone, dingtalk_user_id=s.dingtalk_user_id)
        for s in staff
    ]


async def export_csv(session: AsyncSession, path: Path | str) -> int:
    """Write every site (one row each) in the import format; returns the number of rows."""
    records = await load_records(session)
    write_csv(records, path)
    return len(records)


def write_csv(records: Iterable[SiteRecord], path: Path | str) -> None:
    """Write the records, one row each, in the import format."""
    # utf-8-sig: spreadsheet programs then open the Chinese text correctly; the import accepts both.
    with Path(path).open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow(r.to_row())


def read_csv_records(path: Path | str, cities: tuple[str, ...] | None = None) -> list[SiteRecord]:
    """Sites from a registry CSV without a database (the committed default, benchmarks); raises on bad rows.

    `cities` keeps only the sites in those cities (`sharedcourt.sites.served.in_cities`)."""
    header, rows = read_rows(path)
    if cities is not None:
        rows = [(n, r) for n, r in rows if in_cities(r.get("place_code") or PROVINCE_CODE, cities)]
    columns = set(header)
    out: list[SiteRecord] = []
    errors: list[RowError] = []
    for line, row in rows:
        values, reasons = parse_row(row, columns, None)
        errors.extend(RowError(line, values["code"], r) for r in reasons)
        out.append(
            SiteRecord(
                code=values["code"],
                name=values["name"],
                level=values["level"],
                parent_code=values.get("parent_code"),
                place_code=values.get("place_code"),
                address=values.get("address", ""),
                lat=values.get("latitude"),
                lon=values.get("longitude"),
                opening_hours=values.get("opening_hours", dict(DEFAULT_HOURS)),
                dispute_types=tuple(values.get("dispute_types", ())),
                phone=values.get("phone", ""),
                director=values.get("director", ""),
                judge=values.get("judge", ""),
                staff=tuple(values.get("staff", ())),
                active=values.get("active", True),
            )
        )
    if errors:
        raise SiteImportError(errors)
    return out
