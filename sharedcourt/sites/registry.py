"""The site registry: the active sites in memory and the choice of the resident's nearest site.

A special site that serves the dispute type and covers the resident's place wins; otherwise the resident's own
village/community site, else their town's, else the county court. Where the resident gave coordinates and sites
have them, distance decides among candidates through a grid index (`sharedcourt.sites.spatial.GridIndex`).
Sites come from the database (`SiteRegistry.from_session`) or the committed CSV (`SiteRegistry.default`); the CSV
format and its import live in `sharedcourt.sites.csv_format`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.data import DATA_DIR
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.sites.csv_format import read_csv_records
from sharedcourt.sites.places import Gazetteer, Place
from sharedcourt.sites.records import SiteRecord, load_records
from sharedcourt.sites.served import PROVINCE_CODE, PROVINCE_SITES, QUZHOU, served_cities
from sharedcourt.sites.spatial import GridIndex, distance_km

__all__ = [
    "DEFAULT_SITES_CSV",
    "GUESS_MAX_KM",
    "Location",
    "SiteChoice",
    "SiteRecord",
    "SiteRegistry",
    "Where",
    "load_records",
    "nearest_site",
]

DEFAULT_SITES_CSV = DATA_DIR / "sites.csv"
# Sites never chosen by place or distance: special sites go by dispute type, the high court and the special courts
# (internet, railway, maritime) are reached through routing only.
_NOT_BY_PLACE = frozenset({"special", "high_court", "special_court"})
# A county is guessed from coordinates (nearest county seat) only this close to a seat.
GUESS_MAX_KM = 60.0


@dataclass(frozen=True)
class Location:
    """Where the resident is: a statistical place code, coordinates, or both; and the site they chose, if any."""

    place_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    site_code: str | None = None  # a site the resident chose (its QR code scanned): it wins while it is active

    @property
    def has_coords(self) -> bool:
        """True when the resident's latitude and longitude are both known."""
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
    """The site chosen for a resident, why (in the bot's words), and other sites they may pick instead."""

    site: SiteRecord
    reason_zh: str  # the one sentence the bot says: which site and why
    alternatives: list[SiteRecord] = field(default_factory=list)
    rule: str = ""  # chosen, special, village, town, county_court, intermediate_court, nearest, county_guess
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
                if s.lat is not None and s.lon is not None and s.level not in _NOT_BY_PLACE
            ),
            cell_deg,
        )
        self.special_grid: GridIndex[SiteRecord] = GridIndex(
            (s.lat, s.lon, s) for s in self.specials if s.lat is not None and s.lon is not None
        )

    def __len__(self) -> int:
        return len(self.sites)

    def get(self, code: str) -> SiteRecord | None:
        """The active site with this code, if any."""
        return self.sites.get(code)

    @classmethod
    def default(cls, cities: tuple[str, ...] | None = None) -> SiteRegistry:
        """The committed default registry of these or the served cities (no database): tests, benchmarks, tools."""
        return _default_registry(cities or served_cities())

    @classmethod
    async def from_session(cls, session: AsyncSession, gazetteer: Gazetteer | None = None) -> SiteRegistry:
        """The active sites stored in the database."""
        return cls(await load_records(session, active_only=True), gazetteer)

    # ------------------------------------------------------------ rules

    def nearest(self, where: Where, dispute_code: str | None = None) -> SiteChoice | None:
        """The site for a resident at `where` with this dispute type (module docstring: the rules); None if none."""
        loc = _location(where)
        chosen = self.sites.get(loc.site_code) if loc.site_code else None
        if chosen is not None and chosen.serves(dispute_code):
            return self._chosen(chosen, replace(loc, site_code=None), dispute_code)
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

    def _chosen(self, site: SiteRecord, loc: Location, dispute_code: str | None) -> SiteChoice:
        """The site the resident chose; what the rules would choose for where they are comes as the alternative."""
        ruled = self.nearest(loc, dispute_code)
        others = [s for s in ([ruled.site, *ruled.alternatives] if ruled else []) if s.code != site.code]
        reason = f"您选定的共享法庭是{site.name}，为您安排在这里。"
        return SiteChoice(site, reason, others[:2], "chosen", _dist(loc, site))

    def _special(
        self, loc: Location, area_code: str | None, dispute_code: str | None
    ) -> tuple[SiteRecord, float | None] | None:
        if not dispute_code:
            return None
        cities = self.gazetteer.cities
        home = cities[0] if len(cities) == 1 else PROVINCE_CODE
        cands = [s for s in self.specials if dispute_code in s.dispute_types and s.covers(area_code, home)]
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
            return s.level not in _NOT_BY_PLACE and s.serves(dispute_code)

        if loc.place_code:
            chain = _code_chain(loc.place_code)
            found: list[tuple[str, list[SiteRecord]]] = []
            for code in chain:
                if len(code) == 4 and found:
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


@functools.lru_cache(maxsize=2)
def _default_registry(cities: tuple[str, ...]) -> SiteRegistry:
    if cities == (QUZHOU,):
        return SiteRegistry(read_csv_records(DEFAULT_SITES_CSV), Gazetteer.load(cities=cities))
    return SiteRegistry(read_csv_records(PROVINCE_SITES, cities), Gazetteer.load(cities=cities))


async def nearest_site(
    source: AsyncSession | SiteRegistry, where: Where, dispute_code: str | None = None
) -> SiteChoice | None:
    """The site for a resident (see the module docstring for the rules); None when the registry has nothing."""
    registry = source if isinstance(source, SiteRegistry) else await SiteRegistry.from_session(source)
    return registry.nearest(where, dispute_code)
