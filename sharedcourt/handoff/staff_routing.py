"""Who serves a resident who asks for a person: routing rules (data/routing.yml) over a duty roster (data/roster.yml).

`Routing.route(request, now)` picks the first matching rule, the site that serves it, and the escalation chain:
the rule's roles at that site (people on duty first, in roster order), then the county dispatch centre (指挥中心).
When nobody on the chain is on duty the route is a callback: `callback_after` is when the first of them starts.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sharedcourt.data import DATA_DIR, read_mapping
from sharedcourt.domain.clock import TZ, WEEKDAY_ZH_BY_KEY, WEEKDAYS
from sharedcourt.domain.holidays import HolidayCalendar
from sharedcourt.errors import ConfigError

ROUTING_FILE = DATA_DIR / "routing.yml"
ROSTER_FILE = DATA_DIR / "roster.yml"
ROLE_ZH = {
    "director": "庭务主任",
    "mediator": "调解员",
    "judge": "法官",
    "lawyer": "共享律师",
    "police": "警务站民警",
    "family_mediator": "三衢和姐家事调解员",
    "dispatch": "矛调中心指挥中心",
}
CONDITIONS = ("dispute_types", "litigation", "complex", "legal_question")
# The roster's key for hours kept on public holidays (a schedule without it is off duty on them).
HOLIDAY = "holiday"


@dataclass(frozen=True)
class Schedule:
    """Weekly working hours in China Standard Time: {"mon": [(start, end), ...]} as minutes after midnight.

    The holiday calendar booking uses decides the day: on a public holiday only the optional `holiday` hours hold
    (none: off duty), and a 调休 working weekend day runs on the day's own hours, else the first weekday's."""

    spans: Mapping[str, tuple[tuple[int, int], ...]]
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar.load, compare=False, repr=False)

    @classmethod
    def parse(cls, data: Mapping[str, Sequence[str]], calendar: HolidayCalendar | None = None) -> Schedule:
        """Read {"mon": ["08:30-12:00", ...], "holiday": [...]} from the roster file."""
        spans: dict[str, tuple[tuple[int, int], ...]] = {}
        for day, ranges in data.items():
            if day not in WEEKDAYS and day != HOLIDAY:
                raise ConfigError(f"unknown weekday {day!r}")
            parsed = []
            for text in ranges:
                start, end = (part.strip() for part in str(text).split("-"))
                parsed.append((_minutes(start), _minutes(end)))
            spans[day] = tuple(sorted(parsed))
        return cls(spans, calendar or HolidayCalendar.load())

    def spans_on(self, day: dt.date) -> Sequence[tuple[int, int]]:
        """The working spans on that local date, after public holidays and 调休."""
        if self.calendar.holiday(day):
            return self.spans.get(HOLIDAY, ())
        return self.calendar.hours_on(self.spans, day)

    def on_duty(self, when: dt.datetime) -> bool:
        """Whether `when` falls inside one of the working spans of its day."""
        local = when.astimezone(TZ)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.spans_on(local.date()))

    def next_start(self, when: dt.datetime) -> dt.datetime | None:
        """The next moment (at or after `when`) this schedule is on duty, within two weeks."""
        if self.on_duty(when):
            return when
        local = when.astimezone(TZ)
        for offset in range(15):
            day = (local + dt.timedelta(days=offset)).date()
            for start, _end in self.spans_on(day):
                moment = dt.datetime.combine(day, dt.time(start // 60, start % 60), TZ)
                if moment > local:
                    return moment.astimezone(dt.timezone.utc)
        return None

    def describe(self) -> str:
        """'周一至周五 08:30-12:00、14:00-17:30' style text for residents."""
        groups: list[tuple[list[str], tuple[tuple[int, int], ...]]] = []
        for day in WEEKDAYS:
            spans = self.spans.get(day)
            if not spans:
                continue
            if groups and groups[-1][1] == spans and WEEKDAYS.index(groups[-1][0][-1]) == WEEKDAYS.index(day) - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], spans))
        parts = []
        for days, spans in groups:
            first, last = WEEKDAY_ZH_BY_KEY[days[0]], WEEKDAY_ZH_BY_KEY[days[-1]]
            label = first if len(days) == 1 else f"{first}至{last}"
            parts.append(label + " " + "、".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in spans))
        return "；".join(parts)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def when_zh(moment: dt.datetime, now: dt.datetime) -> str:
    """'今天 14:00', '明天 08:30', '周一（12月1日）08:30' in China Standard Time."""
    local, today = moment.astimezone(TZ), now.astimezone(TZ).date()
    days = (local.date() - today).days
    clock = f"{local:%H:%M}"
    if days == 0:
        return f"今天 {clock}"
    if days == 1:
        return f"明天 {clock}"
    return f"{WEEKDAY_ZH_BY_KEY[WEEKDAYS[local.weekday()]]}（{local.month}月{local.day}日）{clock}"


@dataclass(frozen=True)
class Staffer:
    """One person (or duty post) on the roster."""

    id: str
    name: str
    role: str
    site: str
    dingtalk: str
    schedule: Schedule

    @property
    def role_zh(self) -> str:
        """The post in Chinese, as residents read it."""
        return ROLE_ZH.get(self.role, self.role)


@dataclass(frozen=True)
class RosterSite:
    """One site's roster: its code, name, county and people."""

    code: str
    name: str
    county: str
    staff: tuple[Staffer, ...]


@dataclass(frozen=True)
class Roster:
    """Everyone on duty: the sites' people and the county dispatch centres, with lookups by id."""

    sites: Mapping[str, RosterSite]
    dispatch: Mapping[str, Staffer]  # by county code
    default_site: str
    by_id: Mapping[str, Staffer] = field(default_factory=dict)
    by_dingtalk: Mapping[str, Staffer] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = ROSTER_FILE) -> Roster:
        """Read the roster file."""
        return cls.from_dict(read_mapping(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Roster:
        """Build the roster from its parsed YAML; a missing field or a repeated id is a ConfigError."""
        schedules = {name: Schedule.parse(spec) for name, spec in (data.get("schedules") or {}).items()}

        def staffer(entry: Mapping[str, Any], site: str) -> Staffer:
            try:
                hours = entry.get("hours", "office")
                schedule = Schedule.parse(hours) if isinstance(hours, dict) else schedules[hours]
                return Staffer(
                    id=str(entry["id"]),
                    name=str(entry["name"]),
                    role=str(entry["role"]),
                    site=site,
                    dingtalk=str(entry.get("dingtalk") or entry["id"]),
                    schedule=schedule,
                )
            except KeyError as exc:
                raise ConfigError(f"roster entry {entry!r}: missing {exc}") from exc

        sites: dict[str, RosterSite] = {}
        for code, spec in (data.get("sites") or {}).items():
            staff = tuple(staffer(e, str(code)) for e in spec.get("staff") or [])
            sites[str(code)] = RosterSite(str(code), str(spec["name"]), str(spec.get("county", "")), staff)
        dispatch = {
            str(county): staffer(spec, f"dispatch:{county}")
            for county, spec in (data.get("dispatch_centres") or {}).items()
        }
        default_site = str(data.get("default_site") or next(iter(sites), ""))
        if default_site not in sites:
            raise ConfigError(f"roster default_site {default_site!r} is not a roster site")
        everyone = [s for site in sites.values() for s in site.staff] + list(dispatch.values())
        by_id: dict[str, Staffer] = {}
        for person in everyone:
            if person.id in by_id:
                raise ConfigError(f"roster id {person.id!r} appears twice")
            by_id[person.id] = person
        return cls(sites, dispatch, default_site, by_id, {p.dingtalk: p for p in everyone})

    def site(self, code: str | None) -> RosterSite:
        """The site's roster; a village site without its own roster uses its town's (GX + 9 digits). A site with
        none in the roster's own city uses the default site; in another city, its county's dispatch centre only
        (a roster site with no people), never a site of another city."""
        code = code or ""
        found = self.sites.get(code) or self.sites.get(code[:11])
        if found is not None:
            return found
        default = self.sites[self.default_site]
        area = _area_of(code)
        if area is None or area[:4] == default.county[:4]:
            return default
        return RosterSite(code, "所在县（市、区）矛调中心", area, ())

    def same_city(self, site: RosterSite, home: RosterSite) -> bool:
        """True when both sites lie in one city (a special site serves residents of its own city only)."""
        return site.county[:4] == home.county[:4] or not site.county or not home.county

    def find(self, key: str) -> Staffer | None:
        """A roster id or a DingTalk user id."""
        return self.by_id.get(key) or self.by_dingtalk.get(key)


@dataclass(frozen=True)
class RouteRequest:
    """What routing looks at: the dispute type, the resident's site and facts of the case."""

    dispute_code: str | None = None
    site_code: str | None = None
    amount: float | None = None
    text: str = ""
    litigation: bool = False
    complex: bool = False
    legal_question: bool = False
    urgent: bool = False


@dataclass(frozen=True)
class Rule:
    """One routing rule of routing.yml: when it matches and which roles it calls."""

    name: str
    label: str
    mode: str
    when: Mapping[str, Any]
    roles: tuple[str, ...]
    site: str = "resident"
    guidance: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Route:
    """Where a request goes: the rule, the site, the chain of people to offer it to, or a callback time."""

    rule: Rule
    site: RosterSite
    chain: tuple[Staffer, ...]  # on duty now, in order; the dispatch centre last
    guidance: tuple[Staffer, ...]
    callback_after: dt.datetime | None  # set when nobody is on duty now
    callback_to: Staffer | None

    @property
    def callback(self) -> bool:
        """Nobody is on duty now: a callback is owed."""
        return not self.chain


class Routing:
    """The routing rules over the roster."""

    def __init__(
        self, rules: Sequence[Rule], roster: Roster, *, complex_amount: float, litigation_keywords: Sequence[str]
    ) -> None:
        if not rules or rules[-1].when:
            raise ConfigError("routing.yml: the last rule must match everything (an empty `when`)")
        self.rules = tuple(rules)
        self.roster = roster
        self.complex_amount = complex_amount
        self.litigation_keywords = tuple(litigation_keywords)

    @classmethod
    def load(cls, path: Path = ROUTING_FILE, roster: Roster | None = None) -> Routing:
        """Read routing.yml (and the roster, unless given); an unknown condition or site is a ConfigError."""
        data = read_mapping(path)
        roster = roster or Roster.load()
        rules = []
        for spec in data.get("rules") or []:
            when = dict(spec.get("when") or {})
            unknown = set(when) - set(CONDITIONS)
            if unknown:
                raise ConfigError(f"routing rule {spec.get('name')!r}: unknown conditions {sorted(unknown)}")
            rule = Rule(
                name=str(spec["name"]),
                label=str(spec.get("label", spec["name"])),
                mode=str(spec.get("mode", "")),
                when=when,
                roles=tuple(spec.get("roles") or ()),
                site=str(spec.get("site", "resident")),
                guidance=spec.get("guidance"),
                reason=str(spec.get("reason", "")),
            )
            if rule.site != "resident" and rule.site not in roster.sites:
                raise ConfigError(f"routing rule {rule.name!r}: site {rule.site!r} is not in the roster")
            rules.append(rule)
        return cls(
            rules,
            roster,
            complex_amount=float(data.get("complex_amount", 100000)),
            litigation_keywords=data.get("litigation_keywords") or (),
        )

    def match(self, request: RouteRequest) -> Rule:
        """The first rule whose conditions all hold (the last rule matches everything)."""
        litigation = request.litigation or any(k in request.text for k in self.litigation_keywords)
        complex_ = request.complex or (request.amount is not None and request.amount >= self.complex_amount)
        facts = {"litigation": litigation, "complex": complex_, "legal_question": request.legal_question}
        for rule in self.rules:
            ok = True
            for key, wanted in rule.when.items():
                if key == "dispute_types":
                    ok = request.dispute_code in wanted
                else:
                    ok = bool(facts[key]) == bool(wanted)
                if not ok:
                    break
            if ok:
                return rule
        return self.rules[-1]  # pragma: no cover - the last rule matches everything

    def route(self, request: RouteRequest, now: dt.datetime) -> Route:
        """The matching rule's site and its on-duty chain at `now`, or who calls back and when."""
        rule = self.match(request)
        home = self.roster.site(request.site_code)
        site = self.roster.sites[rule.site] if rule.site != "resident" else home
        if not self.roster.same_city(site, home):
            site = home  # another city's special site never serves this resident: their own site or county
        candidates: list[Staffer] = []
        for role in rule.roles:
            candidates.extend(p for p in site.staff if p.role == role and p not in candidates)
        dispatch = self.roster.dispatch.get(site.county) or self.roster.dispatch.get(home.county)
        if dispatch is not None:
            candidates.append(dispatch)
        chain = tuple(p for p in candidates if p.schedule.on_duty(now))
        guidance = tuple(p for p in site.staff if rule.guidance and p.role == rule.guidance)
        callback_after: dt.datetime | None = None
        callback_to: Staffer | None = None
        if not chain:
            # The first person of the rule who will be on duty again calls back (the site's own people first).
            for person in candidates:
                start = person.schedule.next_start(now)
                if start is not None:
                    callback_after, callback_to = start, person
                    break
        return Route(rule, site, chain, guidance, callback_after, callback_to)


def _area_of(code: str) -> str | None:
    """The county (6 digits) or city (4) of a site code: GX + place, FY + county, TS + area; None if not one."""
    digits = code.lstrip("GXFYTS")
    for n in (6, 4):
        if len(digits) >= n and digits[:n].isdigit() and digits.startswith("33"):
            return digits[:n]
    return None


@functools.lru_cache(maxsize=4)
def load_default(roster_path: str = str(ROSTER_FILE), routing_path: str = str(ROUTING_FILE)) -> Routing:
    """The routing for these files, read once per pair of paths."""
    return Routing.load(Path(routing_path), Roster.load(Path(roster_path)))
