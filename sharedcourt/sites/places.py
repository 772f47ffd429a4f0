"""Where is the resident? Resolve free text to places of the Quzhou gazetteer.

The gazetteer (sharedcourt/data/gazetteer.csv, built by scripts/build_gazetteer.py) holds the six counties, 100
towns/streets and 1,664 villages/communities with their 2023 statistical codes, short forms and older names.

`Gazetteer.load()` builds an Aho-Corasick automaton over every surface form once (cached); `resolve(text)` finds
all forms in one pass over the text, keeps the longest at each position, and scores each candidate place by its own
form plus every ancestor (county, town) named elsewhere in the text. When the best candidates do not lie on one
county → town → village chain the resolution is ambiguous and `choices()` gives the next level to ask about.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from sharedcourt.data import DATA_DIR
from sharedcourt.sites.automaton import Automaton
from sharedcourt.sites.place_names import COMMON_WORDS, normalize, strip_suffix
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

GAZETTEER_CSV = DATA_DIR / "gazetteer.csv"
CITY_CODE = "3308"
CITY_NAME = "衢州市"

LEVELS = ("county", "town", "village")
LEVEL_ZH = {"county": "县（市、区）", "town": "乡镇（街道）", "village": "村（社区）"}

# Weights of the kinds of surface form. A town's short form ("贺村", "白云") outweighs a village's ("万安") so that
# a bare short name prefers the larger unit; ties and near-ties between places off one chain are ambiguous.
W_NAME = 3.0  # official name: 柯城区, 白云街道, 万安村, 书香社区, 万安村委会
W_COUNTY_SHORT = 2.5  # 柯城, 江山
W_ALIAS = 2.5  # an older name from jionlp: 塘岭一村
W_TOWN_SHORT = 2.2  # 白云, 贺村, 杜泽
W_VILLAGE_SHORT = 2.0  # 万安
W_ALIAS_SHORT = 1.5
AMBIGUITY_MARGIN = 0.1


@dataclass(frozen=True)
class Place:
    """A county, town (street) or village (community) of Quzhou, with its statistical code and names."""

    code: str
    name: str
    short_name: str
    level: str  # county, town, village
    parent_code: str
    county_code: str
    full_name: str  # 柯城区白云街道某某村 (without the city)
    aliases: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None

    @property
    def town_code(self) -> str | None:
        """The code of the town the place is in (a town's own), None for a county."""
        if self.level == "village":
            return self.parent_code
        return self.code if self.level == "town" else None

    def is_within(self, code: str) -> bool:
        """True for the place itself and for every place under `code` (statistical codes nest by prefix)."""
        return self.code.startswith(code)


@dataclass(frozen=True)
class Match:
    """One surface form of a place found in a text, with its position and weight."""

    place: Place
    surface: str
    start: int
    end: int
    weight: float
    weak: bool = False  # an ordinary word: counts only when the parent place is named separately


@dataclass(frozen=True)
class Resolution:
    """Where a text says the resident is: the candidate places, best first, and whether it is ambiguous."""

    text: str
    matches: list[Place]  # best first
    ambiguous: bool
    scores: list[float] = field(default_factory=list)
    gazetteer: Gazetteer | None = field(default=None, repr=False, compare=False)

    @property
    def best(self) -> Place | None:
        """The best candidate, if any."""
        return self.matches[0] if self.matches else None

    @property
    def found(self) -> bool:
        """True when the text named some place."""
        return bool(self.matches)

    def tied(self) -> list[Place]:
        """The candidates the resident has to choose between (only the best one when not ambiguous)."""
        if not self.matches:
            return []
        top = self.scores[0] if self.scores else 0.0
        return [
            p for p, s in zip(self.matches, self.scores, strict=False) if s >= top - AMBIGUITY_MARGIN
        ] or self.matches[:1]


class Gazetteer:
    """The Quzhou places, indexed for resolution. Build with `Gazetteer.load()`."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.places: dict[str, Place] = {p.code: p for p in places}
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
    def load(cls, path: Path | str | None = None) -> Gazetteer:
        """The gazetteer from the committed CSV (cached per path)."""
        return _load(str(Path(path) if path else GAZETTEER_CSV))

    @classmethod
    def from_csv(cls, path: Path | str) -> Gazetteer:
        """The gazetteer from a CSV in the format of sharedcourt/data/gazetteer.csv (not cached)."""
        with Path(path).open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        names = {r["code"]: r["name"] for r in rows}
        places = []
        for r in rows:
            chain = []
            code = r["code"]
            level = r["level"]
            if level == "village":
                chain = [names.get(r["county_code"], ""), names.get(r["parent_code"], ""), r["name"]]
            elif level == "town":
                chain = [names.get(r["county_code"], ""), r["name"]]
            else:
                chain = [r["name"]]
            places.append(
                Place(
                    code=code,
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
        return cls(places)

    @staticmethod
    def _surfaces(p: Place) -> Iterator[tuple[str, float, bool]]:
        """(form, weight, weak) for every way a resident may name the place."""
        yield p.name, W_NAME, False
        if p.short_name != p.name and len(p.short_name) >= 2:
            weight = {"county": W_COUNTY_SHORT, "town": W_TOWN_SHORT}.get(p.level, W_VILLAGE_SHORT)
            yield p.short_name, weight, p.level != "county" and p.short_name in COMMON_WORDS
        for alias in p.aliases:
            norm = normalize(alias)
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
        """The six counties (cities, districts)."""
        return [p for p in self.places.values() if p.level == "county"]

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
        norm = normalize(text)
        spans = list(self._automaton.find(norm))
        # Drop a span that lies inside a longer one ("杜泽" inside "杜泽镇", "贺村" inside "贺村镇").
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        kept: list[tuple[int, int, str]] = []
        for s in spans:
            if any(k[0] <= s[0] and s[1] <= k[1] and (k[1] - k[0]) > (s[1] - s[0]) for k in kept):
                continue
            kept.append(s)
        matches = [
            Match(self.places[code], form, start, end, weight, weak)
            for start, end, form in kept
            for code, weight, weak in self._forms[form]
        ]
        # A weak form counts only when its parent is named in another part of the text (county before town
        # before village, so "柯城花园花园" can make 花园街道 and then its 花园村 count).
        matches.sort(key=lambda m: (LEVELS.index(m.place.level), m.start))
        valid: list[Match] = []
        for m in matches:
            if m.weak and not any(
                o.place.code == m.place.parent_code and (o.end <= m.start or o.start >= m.end) for o in valid
            ):
                continue
            valid.append(m)
        return valid

    def resolve(self, text: str, within: str | None = None) -> Resolution:
        """Where the text says the resident is; `within` limits candidates to a place already known."""
        matches = self.find(text)
        if within:
            matches = [m for m in matches if m.place.is_within(within) or within.startswith(m.place.code)]
        best: dict[str, tuple[float, Match]] = {}
        for m in matches:
            if within and within.startswith(m.place.code) and m.place.code != within:
                continue  # the known county of a place inside it adds nothing
            score = m.weight
            shared_ancestor = False
            for a in self.ancestors(m.place):
                others = [o for o in matches if o.place.code == a.code]
                separate = [o for o in others if o.end <= m.start or o.start >= m.end]
                if separate:
                    score += max(o.weight for o in separate)
                elif any(o.surface == a.short_name for o in others):
                    shared_ancestor = True
                elif within and a.code == within:
                    score += W_NAME
            if shared_ancestor:
                # "江山贺村": 贺村 is both the town's short form and a village in it. Prefer the town; the
                # village stays a candidate and choices() lists the town's villages.
                score -= 1.0
            if m.place.code not in best or best[m.place.code][0] < score:
                best[m.place.code] = (score, m)
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

    def choices(self, resolution: Resolution) -> list[Place]:
        """The places to offer next, as numbered choices: county → town → village.

        Nothing found: the counties. Ambiguous: the highest level at which the tied candidates differ. Resolved to a
        county or town: its towns or villages. Resolved to a village: nothing more to ask."""
        if not resolution.matches:
            return sorted(self.counties(), key=lambda p: p.code)
        if resolution.ambiguous:
            tied = resolution.tied()
            for level in ("county", "town"):
                keys = _unique(self._at_level(p, level) for p in tied)
                if len(keys) > 1:
                    return [self.places[k] for k in keys if k in self.places]
            return _unique_places(tied)
        best = resolution.matches[0]
        if best.level == "village":
            return []
        return sorted(self.children(best.code), key=lambda p: p.code)

    def narrow(self, resolution: Resolution, chosen: Place | str) -> Resolution:
        """Apply the resident's choice: keep the candidates under it (or resolve to it)."""
        place = chosen if isinstance(chosen, Place) else self.places[chosen]
        return self.resolve(resolution.text, within=place.code)

    @staticmethod
    def _at_level(p: Place, level: str) -> str:
        if level == "county":
            return p.county_code
        return p.town_code or p.code


def choices(resolution: Resolution) -> list[Place]:
    """The next level to ask about (see `Gazetteer.choices`)."""
    gaz = resolution.gazetteer or Gazetteer.load()
    return gaz.choices(resolution)


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
