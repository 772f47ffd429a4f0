"""The site registry: CSV import/export (all or nothing) and the choice of the resident's nearest site.

CSV format (one row per site, UTF-8, header required; `code`, `name`, `level` are required columns):

    code, name, level, parent_code, place_code, address, lat, lon, opening_hours (JSON), dispute_types (`|`),
    phone, director, judge, staff (JSON list of {name, role, capacity, phone, dingtalk_user_id}), active (1/0)

An import validates every row first and writes nothing if any row is bad; the result lists every bad row (its line
number in the file and the reason). Rows are upserts by code; sites not in the file are left as they are. A column
absent from the header keeps the stored value (or the default for a new site).

The nearest site: a special site that serves the dispute type and covers the resident's place wins; otherwise the
resident's own village/community site, else their town's, else the county court. Where the resident gave
coordinates and sites have them, distance decides among candidates through a grid index (`GridIndex`).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import functools
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.data import DATA_DIR
from sharedcourt.db.site import SITE_LEVELS, STAFF_ROLES, WEEKDAYS, Site, SiteStaff
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.errors import SharedCourtError
from sharedcourt.sites.places import CITY_CODE, Gazetteer, Place, distance_km

DEFAULT_SITES_CSV = DATA_DIR / "sites.csv"

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
DEFAULT_HOURS: dict[str, list[str]] = {d: ["08:30-12:00", "14:00-17:30"] for d in WEEKDAYS[:5]}
LEVEL_RANK = {"intermediate_court": 0, "county_court": 1, "special": 2, "town": 3, "village": 4}
LEVEL_ZH = {
    "village": "村（社区）共享法庭",
    "town": "乡镇（街道）共享法庭",
    "county_court": "县（市、区）人民法院",
    "intermediate_court": "中级人民法院",
    "special": "专门共享法庭",
}
# Latitude/longitude of mainland China, loosely: catches swapped or mistyped coordinates.
LAT_RANGE = (3.0, 54.0)
# A county is guessed from coordinates (nearest county seat) only this close to a seat.
GUESS_MAX_KM = 60.0
LON_RANGE = (73.0, 136.0)

_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_PLACE_RE = re.compile(r"^\d{4}(\d{2}(\d{3}(\d{3})?)?)?$")
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_TRUE = {"1", "true", "yes", "y", "是", "启用", ""}
_FALSE = {"0", "false", "no", "n", "否", "停用"}


# ====================================================================== records


@dataclass(frozen=True)
class StaffRecord:
    name: str
    role: str
    capacity: int = 1
    phone: str = ""
    dingtalk_user_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "role": self.role, "capacity": self.capacity}
        if self.phone:
            out["phone"] = self.phone
        if self.dingtalk_user_id:
            out["dingtalk_user_id"] = self.dingtalk_user_id
        return out


@dataclass(frozen=True)
class SiteRecord:
    """A site detached from any session (what the registry, the CSV and the bot work with)."""

    code: str
    name: str
    level: str
    parent_code: str | None = None
    place_code: str | None = None
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    opening_hours: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    dispute_types: tuple[str, ...] = ()
    phone: str = ""
    director: str = ""
    judge: str = ""
    staff: tuple[StaffRecord, ...] = ()
    active: bool = True

    def serves(self, dispute_code: str | None) -> bool:
        """Empty dispute types means every mediable type; a special site serves only its own."""
        if not self.dispute_types:
            return True
        return dispute_code is not None and dispute_code in self.dispute_types

    def covers(self, place_code: str | None) -> bool:
        """True when the resident's place lies in the area this site serves (codes nest by prefix)."""
        if not self.place_code:
            return True
        if place_code is None:
            return self.place_code == CITY_CODE  # place unknown: only city-wide sites
        return place_code.startswith(self.place_code)

    @property
    def has_coords(self) -> bool:
        return self.lat is not None and self.lon is not None

    @classmethod
    def from_model(cls, site: Site, staff: Iterable[SiteStaff] | None = None) -> SiteRecord:
        people = site.staff if staff is None else staff
        return cls(
            code=site.code,
            name=site.name,
            level=site.level,
            parent_code=site.parent_code,
            place_code=site.place_code,
            address=site.address,
            lat=site.latitude,
            lon=site.longitude,
            opening_hours=dict(site.opening_hours or {}),
            dispute_types=tuple(site.dispute_types or ()),
            phone=site.phone,
            director=site.director,
            judge=site.judge,
            staff=tuple(
                StaffRecord(p.name, p.role, p.capacity, p.phone, p.dingtalk_user_id) for p in people if p.active
            ),
            active=site.active,
        )

    def to_row(self) -> dict[str, str]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "parent_code": self.parent_code or "",
            "place_code": self.place_code or "",
            "address": self.address,
            "lat": _fmt_float(self.lat),
            "lon": _fmt_float(self.lon),
            "opening_hours": json.dumps(self.opening_hours, ensure_ascii=False, separators=(",", ":")),
            "dispute_types": "|".join(self.dispute_types),
            "phone": self.phone,
            "director": self.director,
            "judge": self.judge,
            "staff": json.dumps([s.to_json() for s in self.staff], ensure_ascii=False, separators=(",", ":")),
            "active": "1" if self.active else "0",
        }

    def describe_zh(self) -> str:
        """Name, address and phone, as the bot writes them."""
        parts = [self.name]
        if self.address:
            parts.append(f"地址：{self.address}")
        parts.append(f"电话：{self.phone}" if self.phone else "电话：待公布")
        return "，".join(parts)


def _fmt_float(v: float | None) -> str:
    return "" if v is None else repr(round(v, 7))


# ====================================================================== CSV import / export


@dataclass(frozen=True)
class RowError:
    line: int  # line number in the file (the header is line 1)
    code: str
    reason: str

    def __str__(self) -> str:
        who = f"（{self.code}）" if self.code else ""
        return f"第{self.line}行{who}：{self.reason}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise SiteImportError(self.errors)

    def summary_zh(self) -> str:
        if self.errors:
            return f"导入失败，共{len(self.errors)}处错误，未做任何修改："
        return f"导入成功：新增{self.created}个，更新{self.updated}个，未变{self.unchanged}个。"


class SiteImportError(SharedCourtError):
    """A registry import had bad rows; nothing was changed."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:20]) + (" …" if len(errors) > 20 else ""))
        self.errors = errors


def read_rows(path: Path | str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs; the BOM that spreadsheet programs write is accepted."""
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
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


def parse_row(row: dict[str, str], columns: set[str], gazetteer: Gazetteer | None) -> tuple[dict[str, Any], list[str]]:
    """Validate one row; returns the values of the columns present and the reasons it is bad (Chinese)."""
    errors: list[str] = []
    values: dict[str, Any] = {}
    code = row.get("code", "")
    if not _CODE_RE.match(code):
        errors.append("编码（code）必填，只能用字母、数字、-、_，最长32位")
    values["code"] = code
    name = row.get("name", "")
    if not name or len(name) > 128:
        errors.append("名称（name）必填，最长128字")
    values["name"] = name
    level = row.get("level", "")
    if level not in SITE_LEVELS:
        errors.append(f"级别（level）应为 {'/'.join(SITE_LEVELS)} 之一，而不是“{level}”")
    values["level"] = level
    if "parent_code" in columns:
        parent = row.get("parent_code", "")
        if parent and not _CODE_RE.match(parent):
            errors.append("上级编码（parent_code）格式不对")
        if parent and parent == code:
            errors.append("上级编码不能是自己")
        values["parent_code"] = parent or None
    if "place_code" in columns:
        place = row.get("place_code", "")
        if place and not _PLACE_RE.match(place):
            errors.append("地点编码（place_code）应为4、6、9或12位统计区划代码")
        elif place and gazetteer is not None and place.startswith(CITY_CODE) and place != CITY_CODE:
            if gazetteer.get(place) is None:
                errors.append(f"地点编码 {place} 不在衢州区划代码表中")
        if not place and level in ("village", "town", "county_court"):
            errors.append("村（社区）、乡镇（街道）和法院站点必须填写地点编码（place_code）")
        values["place_code"] = place or None
    if "address" in columns:
        address = row.get("address", "")
        if len(address) > 255:
            errors.append("地址最长255字")
        values["address"] = address
    if "lat" in columns or "lon" in columns:
        lat_s, lon_s = row.get("lat", ""), row.get("lon", "")
        if bool(lat_s) != bool(lon_s):
            errors.append("纬度（lat）和经度（lon）要么都填，要么都不填")
        lat = lon = None
        if lat_s and lon_s:
            try:
                lat, lon = float(lat_s), float(lon_s)
            except ValueError:
                errors.append("经纬度必须是数字")
            else:
                if not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]):
                    errors.append(f"经纬度超出范围（纬度{lat}、经度{lon}），是否填反了？")
        values["latitude"], values["longitude"] = lat, lon
    if "opening_hours" in columns:
        text = row.get("opening_hours", "")
        hours, problem = _parse_hours(text)
        if problem:
            errors.append(problem)
        values["opening_hours"] = hours
    if "dispute_types" in columns:
        codes = [c.strip() for c in row.get("dispute_types", "").split("|") if c.strip()]
        bad = [c for c in codes if c not in BY_CODE or not BY_CODE[c].mediable]
        if bad:
            errors.append(f"纠纷类型（dispute_types）无效或不可调解：{'|'.join(bad)}")
        if level == "special" and not codes:
            errors.append("专门共享法庭（special）必须填写受理的纠纷类型")
        values["dispute_types"] = list(dict.fromkeys(codes))
    for col in ("phone", "director", "judge"):
        if col in columns:
            v = row.get(col, "")
            if len(v) > 64:
                errors.append(f"{col} 最长64字")
            values[col] = v
    if "staff" in columns:
        staff, problem = _parse_staff(row.get("staff", ""))
        if problem:
            errors.append(problem)
        values["staff"] = staff
    if "active" in columns:
        flag = row.get("active", "").lower()
        if flag not in _TRUE and flag not in _FALSE:
            errors.append("是否启用（active）应为 1 或 0")
        values["active"] = flag not in _FALSE
    return values, errors


def _parse_hours(text: str) -> tuple[dict[str, list[str]], str]:
    if not text:
        return dict(DEFAULT_HOURS), ""
    try:
        data = json.loads(text)
    except ValueError:
        return {}, '开放时间（opening_hours）不是有效的JSON，例：{"mon":["08:30-12:00","14:00-17:30"]}'
    if not isinstance(data, dict):
        return {}, "开放时间（opening_hours）应为按星期的JSON对象"
    hours: dict[str, list[str]] = {}
    for day, spans in data.items():
        if day not in WEEKDAYS:
            return {}, f"开放时间中的“{day}”不是星期（mon…sun）"
        if not isinstance(spans, list) or not all(isinstance(s, str) for s in spans):
            return {}, f"开放时间 {day} 应为时段列表"
        for span in spans:
            m = _HOURS_RE.match(span)
            if not m or span[:5] >= span[6:]:
                return {}, f"开放时间 {day} 的时段“{span}”不对，应为 HH:MM-HH:MM"
        hours[day] = list(spans)
    return hours, ""


def _parse_staff(text: str) -> tuple[list[StaffRecord], str]:
    if not text:
        return [], ""
    try:
        data = json.loads(text)
    except ValueError:
        return [], '人员（staff）不是有效的JSON，例：[{"name":"张三","role":"mediator","capacity":2}]'
    if not isinstance(data, list):
        return [], "人员（staff）应为JSON列表"
    people = []
    for i, p in enumerate(data, 1):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
            return [], f"人员第{i}项缺少姓名（name）"
        role = p.get("role")
        if role not in STAFF_ROLES:
            return [], f"人员第{i}项的角色（role）应为 {'/'.join(STAFF_ROLES)} 之一"
        capacity = p.get("capacity", 1)
        if not isinstance(capacity, int) or isinstance(capacity, bool) or not 0 <= capacity <= 100:
            return [], f"人员第{i}项的容量（capacity）应为0到100的整数"
        phone = p.get("phone", "") or ""
        ding = p.get("dingtalk_user_id") or None
        if not isinstance(phone, str) or (ding is not None and not isinstance(ding, str)):
            return [], f"人员第{i}项的电话或钉钉ID格式不对"
        people.append(StaffRecord(p["name"].strip()[:64], role, capacity, phone[:64], ding))
    return people, ""


async def import_csv(session: AsyncSession, path: Path | str, gazetteer: Gazetteer | None = None) -> ImportResult:
    """Validate the whole file, then upsert every row; with any bad row nothing is written."""
    gaz = gazetteer or Gazetteer.load()
    result = ImportResult()
    try:
        header, rows = read_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        result.errors.append(RowError(1, "", f"无法读取文件：{exc}"))
        return result
    columns = set(header)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        reason = []
        if missing:
            reason.append(f"缺少必需的列：{', '.join(missing)}")
        if unknown:
            reason.append(f"不认识的列：{', '.join(unknown)}")
        result.errors.append(RowError(1, "", "；".join(reason)))
        return result
    existing: dict[str, Site] = {s.code: s for s in (await session.scalars(select(Site))).all()}
    file_codes: dict[str, int] = {}
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, row in rows:
        values, reasons = parse_row(row, columns, gaz)
        code = values["code"]
        if code in file_codes:
            reasons.append(f"编码重复（已在第{file_codes[code]}行出现）")
        elif code:
            file_codes[code] = line
        for why in reasons:
            result.errors.append(RowError(line, code, why))
        parsed.append((line, values))
    known = set(existing) | set(file_codes)
    for line, values in parsed:
        parent = values.get("parent_code")
        if parent and parent not in known:
            result.errors.append(RowError(line, values["code"], f"上级编码 {parent} 在文件和现有登记中都不存在"))
    if result.errors:
        result.errors.sort(key=lambda e: e.line)
        return result
    for _line, values in parsed:
        site = existing.get(values["code"])
        staff: list[StaffRecord] | None = values.pop("staff", None)
        if site is None:
            site = Site(**{**_new_site_defaults(), **values})
            session.add(site)
            _set_staff(site, staff or [])
            result.created += 1
            continue
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
    await session.flush()
    return result


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


async def load_records(session: AsyncSession, *, active_only: bool = False) -> list[SiteRecord]:
    stmt = select(Site)
    if active_only:
        stmt = stmt.where(Site.active.is_(True))
    sites = (await session.scalars(stmt)).all()
    records = [SiteRecord.from_model(s) for s in sites]
    records.sort(key=lambda r: (LEVEL_RANK.get(r.level, 9), r.code))
    return records


async def export_csv(session: AsyncSession, path: Path | str) -> int:
    """Write every site (one row each) in the import format; returns the number of rows."""
    records = await load_records(session)
    write_csv(records, path)
    return len(records)


def write_csv(records: Iterable[SiteRecord], path: Path | str) -> None:
    # utf-8-sig: spreadsheet programs then open the Chinese text correctly; the import accepts both.
    with Path(path).open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow(r.to_row())


def read_csv_records(path: Path | str) -> list[SiteRecord]:
    """Sites from a registry CSV without a database (the committed default, benchmarks); raises on bad rows."""
    header, rows = read_rows(path)
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


# ====================================================================== spatial index

T = TypeVar("T")
EARTH_KM = 6371.0088
KM_PER_DEG = math.pi * EARTH_KM / 180
# A prepared point: (latitude in radians, cos(latitude), longitude in radians, item).
_Prepared = tuple[float, float, float, T]


def _prepare(lat: float, lon: float, item: T) -> _Prepared[T]:
    phi = math.radians(lat)
    return phi, math.cos(phi), math.radians(lon), item


def _hav(qphi: float, qcos: float, qlam: float, p: _Prepared[T]) -> float:
    """The haversine term a (0..1) between the query and a prepared point; monotonic in the distance."""
    return math.sin((p[0] - qphi) / 2) ** 2 + qcos * p[1] * math.sin((p[2] - qlam) / 2) ** 2


def _km_from_hav(a: float) -> float:
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


class GridIndex(Generic[T]):
    """Points in square lat/lon cells; nearest-neighbour search rings outwards from the query's cell.

    Anything in ring r+1 or further is at least r cell widths away, so the search stops as soon as that bound
    exceeds the k-th best distance found: a few cells per query instead of a scan of every point. Distances are
    great-circle (haversine), the same as `distance_km`. The cell size defaults to about one point per cell."""

    def __init__(self, items: Iterable[tuple[float, float, T]], cell_deg: float | None = None) -> None:
        points = list(items)
        self.size = len(points)
        self.cell = cell_deg or _auto_cell(points)
        self.cells: dict[tuple[int, int], list[_Prepared[T]]] = {}
        for lat, lon, item in points:
            self.cells.setdefault(self._key(lat, lon), []).append(_prepare(lat, lon, item))
        if self.cells:
            rows = [k[0] for k in self.cells]
            cols = [k[1] for k in self.cells]
            self.bounds = (min(rows), max(rows), min(cols), max(cols))
        else:
            self.bounds = (0, -1, 0, -1)

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell), math.floor(lon / self.cell)

    def __len__(self) -> int:
        return self.size

    def nearest(
        self, lat: float, lon: float, k: int = 1, accept: Callable[[T], bool] | None = None
    ) -> list[tuple[float, T]]:
        """The k nearest accepted items as (distance in km, item), nearest first."""
        if not self.cells or k <= 0:
            return []
        qphi, qcos, qlam, _ = _prepare(lat, lon, None)
        ci, cj = self._key(lat, lon)
        rmin, rmax, cmin, cmax = self.bounds
        max_ring = max(abs(ci - rmin), abs(ci - rmax), abs(cj - cmin), abs(cj - cmax))
        cells = self.cells
        found: list[tuple[float, T]] = []
        r = 0
        while r <= max_ring:
            for key in _ring(ci, cj, r):
                for p in cells.get(key, ()):
                    if accept is None or accept(p[3]):
                        found.append((_hav(qphi, qcos, qlam, p), p[3]))
            if len(found) >= k:
                found.sort(key=lambda x: x[0])
                del found[k:]
                # The ring's cells are narrowest (in km) at its far edge from the equator.
                far_lat = min(89.0, abs(lat) + (r + 1) * self.cell)
                bound_km = r * self.cell * KM_PER_DEG * math.cos(math.radians(far_lat))
                if _km_from_hav(found[-1][0]) <= bound_km:
                    break
            r += 1
        found.sort(key=lambda x: x[0])
        return [(_km_from_hav(a), item) for a, item in found[:k]]


def _auto_cell(points: Sequence[tuple[float, float, object]]) -> float:
    if len(points) < 2:
        return 0.05
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    area = max(1e-6, (max(lats) - min(lats)) * (max(lons) - min(lons)))
    return min(1.0, max(0.005, math.sqrt(area / len(points))))


def _ring(ci: int, cj: int, r: int) -> Iterator[tuple[int, int]]:
    if r == 0:
        yield ci, cj
        return
    for dj in range(-r, r + 1):
        yield ci - r, cj + dj
        yield ci + r, cj + dj
    for di in range(-r + 1, r):
        yield ci + di, cj - r
        yield ci + di, cj + r


class LinearIndex(Generic[T]):
    """The baseline: the same prepared points and distance as GridIndex, scanned in full for every query."""

    def __init__(self, items: Iterable[tuple[float, float, T]]) -> None:
        self.points = [_prepare(lat, lon, item) for lat, lon, item in items]

    def nearest(
        self, lat: float, lon: float, k: int = 1, accept: Callable[[T], bool] | None = None
    ) -> list[tuple[float, T]]:
        qphi, qcos, qlam, _ = _prepare(lat, lon, None)
        scored = [(_hav(qphi, qcos, qlam, p), p[3]) for p in self.points if accept is None or accept(p[3])]
        scored.sort(key=lambda x: x[0])
        return [(_km_from_hav(a), item) for a, item in scored[:k]]


def linear_nearest(
    points: Sequence[tuple[float, float, T]],
    lat: float,
    lon: float,
    k: int = 1,
    accept: Callable[[T], bool] | None = None,
) -> list[tuple[float, T]]:
    """The same answer as GridIndex.nearest by scanning every point (reference for tests)."""
    return LinearIndex(points).nearest(lat, lon, k, accept)


# ====================================================================== nearest site


@dataclass(frozen=True)
class Location:
    """Where the resident is: a statistical place code, coordinates, or both."""

    place_code: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def has_coords(self) -> bool:
        return self.lat is not None and self.lon is not None

    @classmethod
    def from_label(
        cls, label: str, lat: float | None = None, lon: float | None = None, gazetteer: Gazetteer | None = None
    ) -> Location:
        """A WeChat location: its label ("浙江省衢州市柯城区白云街道回龙村委会附近") names the place when it is
        unambiguous; the coordinates are kept either way."""
        res = (gazetteer or Gazetteer.load()).resolve(label) if label else None
        code = res.best.code if res is not None and res.best is not None and not res.ambiguous else None
        return cls(place_code=code, lat=lat, lon=lon)


Where = str | tuple[float, float] | Location


@dataclass(frozen=True)
class SiteChoice:
    site: SiteRecord
    reason_zh: str  # the one sentence the bot says: which site and why
    alternatives: list[SiteRecord] = field(default_factory=list)
    rule: str = ""  # special, village, town, county_court, intermediate_court, nearest, county_guess
    distance_km: float | None = None

    def message_zh(self) -> str:
        """Reason, the site's address and phone, and another site to choose instead."""
        lines = [self.reason_zh, self.site.describe_zh() + "。"]
        if self.alternatives:
            other = "；".join(f"{i}. {s.name}" for i, s in enumerate(self.alternatives, 1))
            lines.append(f"如果想换一个地方，也可以选择：{other}。")
        return "\n".join(lines)


class SiteRegistry:
    """Active sites in memory with the indexes the nearest-site rules need."""

    def __init__(
        self, sites: Iterable[SiteRecord], gazetteer: Gazetteer | None = None, cell_deg: float | None = None
    ) -> None:
        self.gazetteer = gazetteer or Gazetteer.load()
        self.sites: dict[str, SiteRecord] = {s.code: s for s in sites if s.active}
        self.by_place: dict[str, list[SiteRecord]] = {}
        for s in self.sites.values():
            if s.place_code:
                self.by_place.setdefault(s.place_code, []).append(s)
        for group in self.by_place.values():
            group.sort(key=lambda s: s.code)
        self.specials = [s for s in self.sites.values() if s.level == "special"]
        # Two grids: general sites, and the (few, sparse) special sites, so that neither search wades through the
        # other's points.
        self.grid: GridIndex[SiteRecord] = GridIndex(
            (
                (s.lat, s.lon, s)
                for s in self.sites.values()
                if s.lat is not None and s.lon is not None and s.level != "special"
            ),
            cell_deg,
        )
        self.special_grid: GridIndex[SiteRecord] = GridIndex(
            (s.lat, s.lon, s) for s in self.specials if s.lat is not None and s.lon is not None
        )

    def __len__(self) -> int:
        return len(self.sites)

    def get(self, code: str) -> SiteRecord | None:
        return self.sites.get(code)

    @classmethod
    def default(cls) -> SiteRegistry:
        """The committed default registry (no database): for tests, benchmarks and tools."""
        return _default_registry()

    @classmethod
    async def from_session(cls, session: AsyncSession, gazetteer: Gazetteer | None = None) -> SiteRegistry:
        return cls(await load_records(session, active_only=True), gazetteer)

    # ------------------------------------------------------------ rules

    def nearest(self, where: Where, dispute_code: str | None = None) -> SiteChoice | None:
        loc = _location(where)
        place = self.gazetteer.get(loc.place_code) if loc.place_code else None
        guessed: Place | None = None
        if place is None and loc.place_code is None and loc.has_coords:
            assert loc.lat is not None and loc.lon is not None
            guessed = self.gazetteer.nearest_county(loc.lat, loc.lon, max_km=GUESS_MAX_KM)
        area_code = loc.place_code or (guessed.code if guessed else None)
        general = self._general(loc, place, dispute_code, guessed)
        special = self._special(loc, area_code, dispute_code)
        if special is not None:
            site, dist = special
            label = BY_CODE[dispute_code].label if dispute_code in BY_CODE else dispute_code
            reason = f"您的纠纷属于{label}，由专门受理这类纠纷的{site.name}办理，所以为您选择这里。"
            alts = [general.site] if general else []
            return SiteChoice(site, reason, alts, "special", dist)
        return general

    def _special(
        self, loc: Location, area_code: str | None, dispute_code: str | None
    ) -> tuple[SiteRecord, float | None] | None:
        if not dispute_code:
            return None
        cands = [s for s in self.specials if dispute_code in s.dispute_types and s.covers(area_code)]
        if not cands:
            return None
        # The most local coverage first (a county's special site before a city-wide one) ...
        depth = max(len(s.place_code or "") for s in cands)
        cands = [s for s in cands if len(s.place_code or "") == depth]
        # ... then, with coordinates, the nearest of those through the grid.
        if loc.lat is not None and loc.lon is not None and any(s.has_coords for s in cands):
            wanted = {s.code for s in cands}
            hit = self.special_grid.nearest(loc.lat, loc.lon, k=1, accept=lambda s: s.code in wanted)
            if hit:
                return hit[0][1], hit[0][0]
        best = min(cands, key=lambda s: s.code)
        return best, _dist(loc, best)

    def _general(
        self, loc: Location, place: Place | None, dispute_code: str | None, guessed: Place | None
    ) -> SiteChoice | None:
        def ok(s: SiteRecord) -> bool:
            return s.level != "special" and s.serves(dispute_code)

        if loc.place_code:
            chain = _code_chain(loc.place_code)
            found: list[tuple[str, list[SiteRecord]]] = []
            for code in chain:
                if code == CITY_CODE and found:
                    break  # the intermediate court only when nothing nearer exists
                cands = [s for s in self.by_place.get(code, []) if ok(s)]
                if cands:
                    found.append((code, self._by_distance(loc, cands)))
            if not found:
                return None
            code, cands = found[0]
            site = cands[0]
            alts = cands[1:2] + [c[1][0] for c in found[1:]]
            reason = self._reason(loc.place_code, place, code, site, dispute_code)
            return SiteChoice(site, reason, alts[:2], site.level, _dist(loc, site))
        if loc.has_coords:
            assert loc.lat is not None and loc.lon is not None
            near = self.grid.nearest(loc.lat, loc.lon, k=3, accept=ok)
            if near:
                dist, site = near[0]
                reason = f"根据您发送的位置，离您最近的共享法庭是{site.name}，直线距离约{_km(dist)}。"
                return SiteChoice(site, reason, [s for _d, s in near[1:]], "nearest", dist)
            if guessed is not None:
                court = next((s for s in self.by_place.get(guessed.code, []) if ok(s)), None)
                if court is not None:
                    reason = (
                        f"根据您发送的位置，您大约在{guessed.name}，先为您推荐{court.name}；"
                        f"告诉我您所在的乡镇（街道）和村（社区），可以为您找到更近的共享法庭。"
                    )
                    return SiteChoice(court, reason, [], "county_guess", None)
        return None

    def _by_distance(self, loc: Location, cands: list[SiteRecord]) -> list[SiteRecord]:
        if not loc.has_coords or len(cands) < 2 or not any(c.has_coords for c in cands):
            return cands
        if len(cands) > 32 and self.grid.size:
            # Many candidates: ask the grid for the nearest ones among them instead of measuring each.
            assert loc.lat is not None and loc.lon is not None
            wanted = {c.code for c in cands}
            hits = self.grid.nearest(loc.lat, loc.lon, k=len(wanted), accept=lambda s: s.code in wanted)
            near = [s for _d, s in hits]
            return near + [c for c in cands if not c.has_coords]
        return sorted(cands, key=lambda c: (_dist(loc, c) is None, _dist(loc, c) or 0.0))

    def _reason(
        self, resident_code: str, place: Place | None, site_place: str, site: SiteRecord, dispute_code: str | None
    ) -> str:
        here = place.full_name if place else "您所在的地方"
        if site_place == resident_code:
            if site.level == "village":
                return f"您在{here}，本村（社区）就有共享法庭，建议就近到{site.name}。"
            if site.level == "town":
                return f"您在{here}，为您选择本乡镇（街道）的{site.name}。"
            return f"您在{here}，为您选择{site.name}。"
        why = "暂未设共享法庭"
        if dispute_code and any(
            s.level != "special" and not s.serves(dispute_code) for s in self.by_place.get(resident_code, [])
        ):
            why = "的共享法庭不受理这类纠纷"
        if site.level == "town":
            return f"{here}{why}，为您选择所在乡镇（街道）的{site.name}。"
        return f"{here}{why}，为您选择{site.name}。"


def _km(d: float) -> str:
    return f"{d * 1000:.0f}米" if d < 1 else f"{d:.1f}公里"


def _location(where: Where) -> Location:
    if isinstance(where, Location):
        return where
    if isinstance(where, str):
        return Location(place_code=where)
    lat, lon = where
    return Location(lat=float(lat), lon=float(lon))


def _code_chain(code: str) -> list[str]:
    """'330802009201' -> the village, its town, its county, the city."""
    out = []
    for n in (12, 9, 6, 4):
        if len(code) >= n:
            out.append(code[:n])
    return list(dict.fromkeys(out))


def _dist(loc: Location, s: SiteRecord) -> float | None:
    if loc.lat is None or loc.lon is None or s.lat is None or s.lon is None:
        return None
    return distance_km(loc.lat, loc.lon, s.lat, s.lon)


@functools.lru_cache(maxsize=1)
def _default_registry() -> SiteRegistry:
    return SiteRegistry(read_csv_records(DEFAULT_SITES_CSV))


async def nearest_site(
    source: AsyncSession | SiteRegistry, where: Where, dispute_code: str | None = None
) -> SiteChoice | None:
    """The site for a resident (see the module docstring for the rules); None when the registry has nothing."""
    registry = source if isinstance(source, SiteRegistry) else await SiteRegistry.from_session(source)
    return registry.nearest(where, dispute_code)


# ====================================================================== CLI


def _database_url(arg: str | None) -> str:
    if arg:
        return arg
    from sharedcourt.settings import Settings

    return Settings.from_env().database_url


async def _run_import(url: str, path: str, dry_run: bool) -> ImportResult:
    from sharedcourt.db.session import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            result = await import_csv(session, path)
            if result.ok and not dry_run:
                await session.commit()
            else:
                await session.rollback()
        return result
    finally:
        await engine.dispose()


async def _run_export(url: str, path: str) -> int:
    from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work

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
    args = parser.parse_args(argv)
    result = asyncio.run(_run_import(_database_url(args.database_url), args.file, args.dry_run))
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
