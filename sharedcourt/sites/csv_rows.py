"""Validation of one row of the site registry CSV: one small check per column group, every reason collected.

`parse_row` returns the values of the columns present (named as the `Site` model names them) and the reasons the
row is bad, in Chinese, in column order; a column absent from the header is neither read nor checked.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sharedcourt.db.site import SITE_LEVELS, STAFF_ROLES, WEEKDAYS
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.sites.places import CITY_CODE, Gazetteer
from sharedcourt.sites.records import DEFAULT_HOURS, StaffRecord

# Latitude/longitude of mainland China, loosely: catches swapped or mistyped coordinates.
LAT_RANGE = (3.0, 54.0)
LON_RANGE = (73.0, 136.0)

_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_PLACE_RE = re.compile(r"^\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?$")
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_TRUE = {"1", "true", "yes", "y", "是", "启用", ""}
_FALSE = {"0", "false", "no", "n", "否", "停用"}


@dataclass
class _Row:
    """One row under validation: its cells, the values read so far and the reasons it is bad."""

    cells: dict[str, str]
    columns: set[str]
    gazetteer: Gazetteer | None
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def cell(self, column: str) -> str:
        return self.cells.get(column, "")


def parse_row(row: dict[str, str], columns: set[str], gazetteer: Gazetteer | None) -> tuple[dict[str, Any], list[str]]:
    """Validate one row; returns the values of the columns present and the reasons it is bad (Chinese)."""
    checked = _Row(row, columns, gazetteer)
    _check_identity(checked)
    for needed, check in _OPTIONAL_CHECKS:
        if needed & columns:
            check(checked)
    return checked.values, checked.errors


def _check_identity(r: _Row) -> None:
    code, name, level = r.cell("code"), r.cell("name"), r.cell("level")
    if not _CODE_RE.match(code):
        r.errors.append("编码（code）必填，只能用字母、数字、-、_，最长32位")
    if not name or len(name) > 128:
        r.errors.append("名称（name）必填，最长128字")
    if level not in SITE_LEVELS:
        r.errors.append(f"级别（level）应为 {'/'.join(SITE_LEVELS)} 之一，而不是“{level}”")
    r.values.update(code=code, name=name, level=level)


def _check_parent(r: _Row) -> None:
    parent = r.cell("parent_code")
    if parent and not _CODE_RE.match(parent):
        r.errors.append("上级编码（parent_code）格式不对")
    if parent and parent == r.values["code"]:
        r.errors.append("上级编码不能是自己")
    r.values["parent_code"] = parent or None


def _check_place(r: _Row) -> None:
    place = r.cell("place_code")
    if place and not _PLACE_RE.match(place):
        r.errors.append("地点编码（place_code）应为4、6、9或12位统计区划代码（全省为33）")
    elif place and r.gazetteer is not None and place[:4] in r.gazetteer.cities and len(place) > 4:
        if r.gazetteer.get(place) is None:
            area = "衢州" if r.gazetteer.cities == (CITY_CODE,) else "本系统服务地区的"
            r.errors.append(f"地点编码 {place} 不在{area}区划代码表中")
    if not place and r.values["level"] in ("village", "town", "county_court"):
        r.errors.append("村（社区）、乡镇（街道）和法院站点必须填写地点编码（place_code）")
    r.values["place_code"] = place or None


def _check_address(r: _Row) -> None:
    address = r.cell("address")
    if len(address) > 255:
        r.errors.append("地址最长255字")
    r.values["address"] = address


def _check_coords(r: _Row) -> None:
    lat_s, lon_s = r.cell("lat"), r.cell("lon")
    if bool(lat_s) != bool(lon_s):
        r.errors.append("纬度（lat）和经度（lon）要么都填，要么都不填")
    lat = lon = None
    if lat_s and lon_s:
        try:
            lat, lon = float(lat_s), float(lon_s)
        except ValueError:
            r.errors.append("经纬度必须是数字")
        else:
            if not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]):
                r.errors.append(f"经纬度超出范围（纬度{lat}、经度{lon}），是否填反了？")
    r.values["latitude"], r.values["longitude"] = lat, lon


def _check_disputes(r: _Row) -> None:
    codes = [c.strip() for c in r.cell("dispute_types").split("|") if c.strip()]
    bad = [c for c in codes if c not in BY_CODE or not BY_CODE[c].mediable]
    if bad:
        r.errors.append(f"纠纷类型（dispute_types）无效或不可调解：{'|'.join(bad)}")
    if r.values["level"] == "special" and not codes:
        r.errors.append("专门共享法庭（special）必须填写受理的纠纷类型")
    r.values["dispute_types"] = list(dict.fromkeys(codes))


def _check_contacts(r: _Row) -> None:
    for col in ("phone", "director", "judge"):
        if col in r.columns:
            v = r.cell(col)
            if len(v) > 64:
                r.errors.append(f"{col} 最长64字")
            r.values[col] = v


def _check_json(
    column: str, parse: Callable[[str], tuple[Any, str]], copy: Callable[[Any], Any]
) -> Callable[[_Row], None]:
    """The check of a JSON column (opening_hours, staff): its parser gives the value or the reason it is bad.

    Parsed once per distinct text (the province's 27,000 rows share a handful), each row getting its own copy."""
    cached = functools.lru_cache(maxsize=1024)(parse)

    def check(r: _Row) -> None:
        value, problem = cached(r.cell(column))
        if problem:
            r.errors.append(problem)
        r.values[column] = copy(value)

    return check


def _check_active(r: _Row) -> None:
    flag = r.cell("active").lower()
    if flag not in _TRUE and flag not in _FALSE:
        r.errors.append("是否启用（active）应为 1 或 0")
    r.values["active"] = flag not in _FALSE


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
        person, problem = _parse_person(i, p)
        if person is None:
            return [], problem
        people.append(person)
    return people, ""


def _parse_person(i: int, p: object) -> tuple[StaffRecord | None, str]:
    """The i-th (from 1) entry of the staff list, or the reason it is bad."""
    if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
        return None, f"人员第{i}项缺少姓名（name）"
    role = p.get("role")
    if role not in STAFF_ROLES:
        return None, f"人员第{i}项的角色（role）应为 {'/'.join(STAFF_ROLES)} 之一"
    capacity = p.get("capacity", 1)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 0 <= capacity <= 100:
        return None, f"人员第{i}项的容量（capacity）应为0到100的整数"
    phone = p.get("phone", "") or ""
    ding = p.get("dingtalk_user_id") or None
    if not isinstance(phone, str) or (ding is not None and not isinstance(ding, str)):
        return None, f"人员第{i}项的电话或钉钉ID格式不对"
    return StaffRecord(p["name"].strip()[:64], role, capacity, phone[:64], ding), ""


# In column order, so that a row's reasons read left to right; each runs when any of its columns is present.
_OPTIONAL_CHECKS: tuple[tuple[frozenset[str], Callable[[_Row], None]], ...] = (
    (frozenset({"parent_code"}), _check_parent),
    (frozenset({"place_code"}), _check_place),
    (frozenset({"address"}), _check_address),
    (frozenset({"lat", "lon"}), _check_coords),
    (
        frozenset({"opening_hours"}),
        _check_json("opening_hours", _parse_hours, lambda h: {d: list(s) for d, s in h.items()}),
    ),
    (frozenset({"dispute_types"}), _check_disputes),
    (frozenset({"phone", "director", "judge"}), _check_contacts),
    (frozenset({"staff"}), _check_json("staff", _parse_staff, list)),
    (frozenset({"active"}), _check_active),
)
