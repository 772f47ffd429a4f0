"""Where is the resident? Resolve free text to places of the gazetteer of the cities a deployment serves.

The gazetteer (built by scripts/build_gazetteer.py) holds Zhejiang's counties, towns/streets and
villages/communities with their 2023 statistical codes, short forms and older names: Quzhou alone from
sharedcourt/data/gazetteer.csv (six counties, 100 towns, 1,664 villages), any other choice of cities
(`sharedcourt.sites.served`) from the province's file, then with one place per city as the top level.

`Gazetteer.load()` builds an Aho-Corasick automaton over every surface form once (cached); `resolve(text)` finds
all forms in one pass over the text, keeps the longest at each position, and scores each candidate place by its own
form plus every ancestor (city, county, town) named elsewhere in the text. When the best candidates do not lie on
one city → county → town → village chain the resolution is ambiguous and `choices()` gives the next level to ask
about, the resident's own county and the nearest counties first when it is known.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from sharedcourt.sites.automaton import Automaton, outermost
from sharedcourt.sites.place_model import (
    AMBIGUITY_MARGIN,
    LEVEL_ZH,
    LEVELS,
    W_ALIAS,
    W_ALIAS_SHORT,
    W_CITY_ABBREV,
    W_COUNTY_SHORT,
    W_NAME,
    W_TOWN_SHORT,
    W_VILLAGE_SHORT,
    Match,
    Place,
    Resolution,
)
from sharedcourt.sites.place_names import COMMON_WORDS, normalize, strip_suffix
from sharedcourt.sites.served import CITIES, QUZHOU, QUZHOU_GAZETTEER, gazetteer_rows, served_cities
from sharedcourt.sites.spatial import distance_km

__all__ = [
    "AMBIGUITY_MARGIN",
    "CITY_CODE",
    "CITY_NAME",
    "COMMON_WORDS",
    "GAZETTEER_CSV",
    "LEVELS",
    "LEVEL_ZH",
    "Gazetteer",
    "Match",
    "Place",
    "Resolution",
    "choices",
    "distance_km",
    "format_choices",
    "normalize",
]

GAZETTEER_CSV = QUZHOU_GAZETTEER
CITY_CODE = QUZHOU
CITY_NAME = "衢州市"
_SHORT_WEIGHT = {"county": W_COUNTY_SHORT, "city": W_COUNTY_SHORT, "town": W_TOWN_SHORT}


class Gazetteer:
    """The served cities' places, indexed for resolution. Build with `Gazetteer.load()`."""

    def __init__(self, places: Iterable[Place], cities: tuple[str, ...] | None = None) -> None:
        self.places: dict[str, Place] = {p.code: p for p in places}
        counties = {p.code[:4] for p in self.places.values() if p.level == "county"}
        self.cities: tuple[str, ...] = cities or tuple(sorted(counties)) or (CITY_CODE,)
        # One city: its name is dropped from texts (as Quzhou's always was); several: cities are places to name.
        name = CITIES.get(self.cities[0], ("", ""))[0]
        self._drop = (name, name[:-1]) if len(self.cities) == 1 and name else ()
        self._abbrev = {CITIES[c][1]: c for c in self.cities if c in self.places and c in CITIES}
        self._children: dict[str, list[Place]] = {}
        for p in self.places.values():
            self._children.setdefault(p.parent_code, []).append(p)
        self._forms: dict[str, list[tuple[str, float, bool]]] = {}
        for p in self.places.values():
            for form, weight, weak in self._surfaces(p):
                self._add_form(form, p.code, weight, weak)
        self._automaton = Automaton()
        for form in self._forms:
            self._automaton.add(form)
        self._automaton.build()

    # ------------------------------------------------------------ construction

    @classmethod
    def load(cls, path: Path | str | None = None, cities: tuple[str, ...] | None = None) -> Gazetteer:
        """The gazetteer from a CSV (cached per path), else the committed one of these or the served cities."""
        if path:
            return _load(str(Path(path)))
        wanted = cities or served_cities()
        return _load(str(GAZETTEER_CSV)) if wanted == (CITY_CODE,) else _load_cities(wanted)

    @classmethod
    def from_csv(cls, path: Path | str) -> Gazetteer:
        """The gazetteer from a CSV in the format of sharedcourt/data/gazetteer.csv (not cached)."""
        with Path(path).open(encoding="utf-8-sig", newline="") as fh:
            return cls.from_rows(list(csv.DictReader(fh)))

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]], cities: tuple[str, ...] | None = None) -> Gazetteer:
        """The gazetteer from rows in the columns of sharedcourt/data/gazetteer.csv."""
        names = {r["code"]: r["name"] for r in rows}
        places = []
        for r in rows:
            level = r["level"]
            if level == "village":
                chain = [names.get(r["county_code"], ""), names.get(r["parent_code"], ""), r["name"]]
            elif level == "town":
                chain = [names.get(r["county_code"], ""), r["name"]]
            else:
                chain = [r["name"]]
            places.append(
                Place(
                    code=r["code"],
                    name=r["name"],
                    short_name=r["short_name"] or r["name"],
                    level=level,
                    parent_code=r["parent_code"],
                    county_code=r["county_code"],
                    full_name="".join(chain),
                    aliases=tuple(a for a in r["aliases"].split("|") if a),
                    lat=float(r["lat"]) if r.get("lat") else None,
                    lon=float(r["lon"]) if r.get("lon") else None,
                )
            )
        return cls(places, cities)

    def normalize(self, text: str) -> str:
        """The text as the automaton reads it (`place_names.normalize`, this gazetteer's city names dropped)."""
        return normalize(text, self._drop)

    def _surfaces(self, p: Place) -> Iterator[tuple[str, float, bool]]:
        """(form, weight, weak) for every way a resident may name the place."""
        yield p.name, W_NAME, False
        if p.short_name != p.name and len(p.short_name) >= 2:
            weight = _SHORT_WEIGHT.get(p.level, W_VILLAGE_SHORT)
            yield p.short_name, weight, p.level not in ("county", "city") and p.short_name in COMMON_WORDS
        for alias in p.aliases:
            norm = self.normalize(alias)
            yield norm, W_NAME if alias.endswith(("委会", "委员会")) else W_ALIAS, False
            short = strip_suffix(norm, ("社区", "村"))
            if short != norm:
                yield short, W_ALIAS_SHORT, short in COMMON_WORDS

    def _add_form(self, form: str, code: str, weight: float, weak: bool) -> None:
        if len(form) < 2:
            return
        entries = self._forms.setdefault(form, [])
        for i, (c, w, k) in enumerate(entries):
            if c == code:
                entries[i] = (c, max(w, weight), k and weak)
                return
        entries.append((code, weight, weak))

    # ------------------------------------------------------------ navigation

    def get(self, code: str) -> Place | None:
        """The place with this code, if any."""
        return self.places.get(code)

    def __getitem__(self, code: str) -> Place:
        return self.places[code]

    def __len__(self) -> int:
        return len(self.places)

    def counties(self) -> list[Place]:
        """The counties (county-level cities, districts)."""
        return [p for p in self.places.values() if p.level == "county"]

    def top(self) -> list[Place]:
        """The first level to ask about: the cities when several are served, else the counties (in code order)."""
        cities = [p for p in self.places.values() if p.level == "city"]
        return sorted(cities or self.counties(), key=lambda p: p.code)

    def children(self, code: str) -> list[Place]:
        """The places directly under `code`: a county's towns, a town's villages."""
        return list(self._children.get(code, []))

    def parent(self, place: Place) -> Place | None:
        """The place directly above (None for a county)."""
        return self.places.get(place.parent_code)

    def ancestors(self, place: Place) -> list[Place]:
        """Parents from the nearest up: a village's town, then its county."""
        out = []
        p = self.parent(place)
        while p is not None:
            out.append(p)
            p = self.parent(p)
        return out

    def chain(self, place: Place) -> list[Place]:
        """County first, the place last."""
        return [*reversed(self.ancestors(place)), place]

    def nearest_county(self, lat: float, lon: float, max_km: float = math.inf) -> Place | None:
        """The county whose seat is nearest (the only coordinates the public data has: a rough guess)."""
        best: tuple[float, Place] | None = None
        for p in self.counties():
            if p.lat is None or p.lon is None:
                continue
            d = distance_km(lat, lon, p.lat, p.lon)
            if best is None or d < best[0]:
                best = (d, p)
        return best[1] if best and best[0] <= max_km else None

    # ------------------------------------------------------------ resolution

    def find(self, text: str) -> list[Match]:
        """Every place form in the text, without forms inside a longer form."""
        norm = self.normalize(text)
        spans = list(self._automaton.find(norm))
        # Only a county's, town's or city's form splits a longer one: those are what residents put in front.
        splitters = [s for s in spans if any(self.places[c].level != "village" for c, _w, _k in self._forms[s[2]])]
        kept = outermost(spans, splitters)
        matches = [
            Match(self.places[code], form, start, end, weight, weak)
            for start, end, form in kept
            for code, weight, weak in self._forms[form]
        ]
        if self._abbrev:
            matches.extend(self._abbreviations(norm, kept))
        # A weak form counts only when its parent is named in another part of the text (county before town
        # before village, so "柯城花园花园" can make 花园街道 and then its 花园村 count).
        matches.sort(key=lambda m: (LEVELS.index(m.place.level), m.start))
        valid: list[Match] = []
        named: dict[str, list[Match]] = {}
        for m in matches:
            if m.weak and not any(o.end <= m.start or o.start >= m.end for o in named.get(m.place.parent_code, ())):
                continue
            valid.append(m)
            named.setdefault(m.place.code, []).append(m)
        return valid

    def _abbreviations(self, norm: str, kept: list[tuple[int, int, str]]) -> list[Match]:
        """A city's one-character abbreviation (杭, 甬) right before a form of a place in that city, on no other
        form: "杭西湖区", "甬鄞州" ("湖" inside "西湖" is not Huzhou)."""
        covered = {i for start, end, _f in kept for i in range(start, end)}
        out: dict[int, Match] = {}
        for start, _end, form in kept:
            city = self._abbrev.get(norm[start - 1]) if start and start - 1 not in covered else None
            if city is not None and any(code.startswith(city) for code, _w, _k in self._forms[form]):
                out[start - 1] = Match(self.places[city], norm[start - 1], start - 1, start, W_CITY_ABBREV)
        return list(out.values())

    def resolve(self, text: str, within: str | None = None) -> Resolution:
        """Where the text says the resident is; `within` limits candidates to a place already known."""
        matches = self.find(text)
        if within:
            matches = [m for m in matches if m.place.is_within(within) or within.startswith(m.place.code)]
        by_code: dict[str, list[Match]] = {}
        for m in matches:
            by_code.setdefault(m.place.code, []).append(m)
        best: dict[str, tuple[float, Match]] = {}
        lifted: dict[str, float] = {}
        for m in matches:
            if within and within.startswith(m.place.code) and m.place.code != within:
                continue  # the known county of a place inside it adds nothing
            score = m.weight
            shared: str | None = None
            used: set[int] = set()  # one span names one ancestor: "南浔" is 南浔区 or 南浔镇, not both
            for a in self.ancestors(m.place):
                others = by_code.get(a.code, [])
                separate = [o for o in others if (o.end <= m.start or o.start >= m.end) and o.start not in used]
                if separate:
                    top = max(separate, key=lambda o: o.weight)
                    used.add(top.start)
                    score += top.weight
                elif any(o.surface == a.short_name for o in others):
                    shared = a.code
                elif within and a.code == within:
                    score += W_NAME
            if shared is not None:
                # "江山贺村": 贺村 is both the town's short form and a village in it. Prefer the town, at the
                # village's own score (so that a 芳村 elsewhere ties with 芳村镇 and is asked about); the village
                # stays a candidate and choices() lists the town's villages.
                lifted[shared] = max(lifted.get(shared, 0.0), score)
                score -= 1.0
            if m.place.code not in best or best[m.place.code][0] < score:
                best[m.place.code] = (score, m)
        for code, score in lifted.items():
            if code in best and best[code][0] < score:
                best[code] = (score, best[code][1])
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -LEVELS.index(self.places[kv[0]].level), kv[0]))
        places = [self.places[code] for code, _ in ranked]
        scores = [round(s, 3) for _, (s, _m) in ranked]
        if within and not places and within in self.places:
            places, scores = [self.places[within]], [W_NAME]
        res = Resolution(text, places, False, scores, self)
        return replace(res, ambiguous=self._is_ambiguous(res.tied()))

    def _is_ambiguous(self, tied: list[Place]) -> bool:
        """Tied candidates are fine when they lie on one chain (a county and a town in it)."""
        if len(tied) < 2:
            return False
        deepest = max(tied, key=lambda p: LEVELS.index(p.level))
        return not all(deepest.is_within(p.code) for p in tied)

    def choices(self, resolution: Resolution, near: str | None = None) -> list[Place]:
        """The places to offer next, as numbered choices: city → county → town → village.

        Nothing found: the cities (one city served: its counties). Ambiguous: the highest level at which the tied
        candidates differ, the resident's own county first and then the nearest when `near` (a place code of
        where the resident is known to be) is given. Resolved to a city, county or town: its counties, towns or
        villages. Resolved to a village: nothing more to ask."""
        if not resolution.matches:
            return self.top()
        if resolution.ambiguous:
            tied = resolution.tied()
            for level in ("city", "county", "town"):
                keys = _unique(self._at_level(p, level) for p in tied)
                if len(keys) > 1:
                    return self._nearest_first([self.places[k] for k in keys if k in self.places], near)
            return self._nearest_first(_unique_places(tied), near)
        best = resolution.matches[0]
        if best.level == "village":
            return []
        return sorted(self.children(best.code), key=lambda p: p.code)

    def _nearest_first(self, places: list[Place], near: str | None) -> list[Place]:
        """Places in `near`'s county first, then its city's, then by distance between county seats."""
        home = self.places.get(near[:6]) if near else None
        if home is None or home.lat is None or home.lon is None:
            return places
        lat, lon = home.lat, home.lon

        def key(p: Place) -> tuple[int, int, float]:
            seat = self.places.get(p.county_code or p.code)
            far = distance_km(lat, lon, seat.lat, seat.lon) if seat and seat.lat and seat.lon else math.inf
            return (p.code[:6] != home.code and not home.code.startswith(p.code), p.code[:4] != home.code[:4], far)

        return sorted(places, key=key)

    def narrow(self, resolution: Resolution, chosen: Place | str) -> Resolution:
        """Apply the resident's choice: keep the candidates under it (or resolve to it)."""
        place = chosen if isinstance(chosen, Place) else self.places[chosen]
        return self.resolve(resolution.text, within=place.code)

    @staticmethod
    def _at_level(p: Place, level: str) -> str:
        if level == "city":
            return p.code[:4]
        if level == "county":
            return p.county_code or p.code
        return p.town_code or p.code


def choices(resolution: Resolution, near: str | None = None) -> list[Place]:
    """The next level to ask about (see `Gazetteer.choices`)."""
    gaz = resolution.gazetteer or Gazetteer.load()
    return gaz.choices(resolution, near)


def format_choices(places: list[Place]) -> str:
    """Numbered choices as the bot writes them: '1. 柯城区\\n2. 衢江区'."""
    return "\n".join(f"{i}. {p.full_name}" for i, p in enumerate(places, 1))


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for i in items:
        seen.setdefault(i, None)
    return list(seen)


def _unique_places(items: Iterable[Place]) -> list[Place]:
    seen: dict[str, Place] = {}
    for p in items:
        seen.setdefault(p.code, p)
    return list(seen.values())


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Gazetteer:
    return Gazetteer.from_csv(path)


@functools.lru_cache(maxsize=4)
def _load_cities(cities: tuple[str, ...]) -> Gazetteer:
    return Gazetteer.from_rows(gazetteer_rows(cities), cities)
