"""Sites detached from any session: what the registry, the CSV format and the bot work with."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.site import WEEKDAYS, Site, SiteStaff
from sharedcourt.sites.places import CITY_CODE

DEFAULT_HOURS: dict[str, list[str]] = {d: ["08:30-12:00", "14:00-17:30"] for d in WEEKDAYS[:5]}
LEVEL_RANK = {
    "high_court": -1,
    "intermediate_court": 0,
    "special_court": 0,
    "county_court": 1,
    "special": 2,
    "town": 3,
    "village": 4,
}
LEVEL_ZH = {
    "village": "村（社区）共享法庭",
    "town": "乡镇（街道）共享法庭",
    "county_court": "县（市、区）人民法院",
    "intermediate_court": "中级人民法院",
    "high_court": "高级人民法院",
    "special_court": "专门人民法院",
    "special": "专门共享法庭",
}


@dataclass(frozen=True)
class StaffRecord:
    """One person who works at a site (their role and how many cases at once they take)."""

    name: str
    role: str
    capacity: int = 1
    phone: str = ""
    dingtalk_user_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the CSV `staff` column (empty phone and DingTalk ID left out)."""
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

    def covers(self, place_code: str | None, home: str = CITY_CODE) -> bool:
        """True when the resident's place lies in the area this site serves (codes nest by prefix); with the place
        unknown, only the sites covering all of `home` (the one city served, or 33 for several)."""
        if not self.place_code:
            return True
        if place_code is None:
            return self.place_code == home
        return place_code.startswith(self.place_code)

    @property
    def has_coords(self) -> bool:
        """True when the site has both latitude and longitude."""
        return self.lat is not None and self.lon is not None

    @classmethod
    def from_model(cls, site: Site, staff: Iterable[SiteStaff] | None = None) -> SiteRecord:
        """The record of a database site, with its active staff (`staff` overrides the site's own list)."""
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
        """The site as one CSV row of the import/export format."""
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


async def load_records(session: AsyncSession, *, active_only: bool = False) -> list[SiteRecord]:
    """Every site in the database (only the active ones if asked), courts first, then by code.

    Plain rows, not ORM objects: at the province's 27,000 sites, loading `Site` objects with their `staff`
    (selectin) made each registry refresh take 3-4 s (docs/BENCHMARKS.md, bench/bench_startup.py)."""
    staff: dict[str, list[StaffRecord]] = {}
    people = select(
        SiteStaff.site_code, SiteStaff.name, SiteStaff.role, SiteStaff.capacity, SiteStaff.phone,
        SiteStaff.dingtalk_user_id,
    ).where(SiteStaff.active.is_(True)).order_by(SiteStaff.id)  # fmt: skip
    for code, name, role, capacity, phone, dingtalk in (await session.execute(people)).tuples():
        staff.setdefault(code, []).append(StaffRecord(name, role, capacity, phone, dingtalk))
    # The JSON columns as text, parsed once per distinct value: the province's sites share a handful.
    as_text = {Site.opening_hours.key, Site.dispute_types.key}
    columns = [cast(c, Text).label(c.key) if c.key in as_text else c for c in Site.__table__.columns]
    stmt = select(*columns)
    if active_only:
        stmt = stmt.where(Site.active.is_(True))
    parse = functools.lru_cache(maxsize=1024)(_json)
    rows = (await session.execute(stmt)).all()
    records = [_record(row, staff.get(row.code, ()), parse) for row in rows]
    records.sort(key=lambda r: (LEVEL_RANK.get(r.level, 9), r.code))
    return records


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _record(row: Any, staff: Iterable[StaffRecord], parse: Callable[[str | None], Any]) -> SiteRecord:
    """The record of one `sites` row and its active staff; each record gets its own opening-hours lists."""
    hours = parse(row.opening_hours) or {}
    return SiteRecord(
        code=row.code,
        name=row.name,
        level=row.level,
        parent_code=row.parent_code,
        place_code=row.place_code,
        address=row.address,
        lat=row.latitude,
        lon=row.longitude,
        opening_hours={day: list(spans) for day, spans in hours.items()},
        dispute_types=tuple(parse(row.dispute_types) or ()),
        phone=row.phone,
        director=row.director,
        judge=row.judge,
        staff=tuple(staff),
        active=row.active,
    )
