"""The places of the gazetteer and what resolving a text gives: Place, Match, Resolution and the form weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sharedcourt.sites.places import Gazetteer

LEVELS = ("city", "county", "town", "village")
LEVEL_ZH = {"city": "市", "county": "县（市、区）", "town": "乡镇（街道）", "village": "村（社区）"}

# Weights of the kinds of surface form. A town's short form ("贺村", "白云") outweighs a village's ("万安") so that
# a bare short name prefers the larger unit; ties and near-ties between places off one chain are ambiguous.
W_NAME = 3.0  # official name: 柯城区, 白云街道, 万安村, 书香社区, 万安村委会
W_COUNTY_SHORT = 2.5  # 柯城, 江山
W_ALIAS = 2.5  # an older name from jionlp: 塘岭一村
W_TOWN_SHORT = 2.2  # 白云, 贺村, 杜泽
W_VILLAGE_SHORT = 2.0  # 万安
W_ALIAS_SHORT = 1.5
W_CITY_ABBREV = 2.5  # 杭, 甬: only right before a place of that city ("杭西湖区", "甬鄞州")
AMBIGUITY_MARGIN = 0.1


@dataclass(frozen=True)
class Place:
    """A city, county, town (street) or village (community) of Zhejiang, with its statistical code and names."""

    code: str
    name: str
    short_name: str
    level: str  # city, county, town, village
    parent_code: str
    county_code: str
    full_name: str  # 柯城区白云街道某某村 (without the city)
    aliases: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None

    @property
    def town_code(self) -> str | None:
        """The code of the town the place is in (a town's own), None for a county or city."""
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
