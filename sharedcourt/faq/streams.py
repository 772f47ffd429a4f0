"""The 普法 live-stream schedule (data/pufa_streams.yml, edited by operators) and what residents are told."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sharedcourt.data import DATA_DIR
from sharedcourt.domain.clock import TZ
from sharedcourt.errors import ConfigError
from sharedcourt.messaging.replies import Reply

STREAMS_FILE = DATA_DIR / "pufa_streams.yml"
EVERYONE = "全市"
SHOWN = 5
_WEEKDAYS = "一二三四五六日"
_SUFFIXES = ("市", "县", "区")


@dataclass(frozen=True)
class Stream:
    """One scheduled live stream: for which county, what, when, and where to watch it."""

    county: str
    title: str
    start: dt.datetime  # aware, Asia/Shanghai
    link: str | None = None
    place: str | None = None


def _stream(raw: Mapping[str, Any], n: int) -> Stream:
    try:
        start = dt.datetime.strptime(str(raw["start"]), "%Y-%m-%d %H:%M").replace(tzinfo=TZ)
        county, title = str(raw["county"]).strip(), str(raw["title"]).strip()
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"pufa_streams.yml item {n}: needs county, title and start YYYY-MM-DD HH:MM ({exc})") from exc
    link, place = raw.get("link"), raw.get("place")
    if not county or not title or not (link or place):
        raise ConfigError(f"pufa_streams.yml item {n}: county, title and a link or a place are required")
    return Stream(county, title, start, str(link) if link else None, str(place) if place else None)


def load(path: Path = STREAMS_FILE) -> list[Stream]:
    """Every stream of the schedule file, in time order; ConfigError naming the first bad item."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = data.get("streams") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError("pufa_streams.yml needs a list `streams:` of mappings")
    return sorted((_stream(raw, n) for n, raw in enumerate(items, 1)), key=lambda s: s.start)


def _short(county: str) -> str:
    return county[:-1] if county.endswith(_SUFFIXES) and len(county) > 2 else county


def county_named(text: str, streams: Sequence[Stream]) -> str | None:
    """The schedule's county that a message names ("江山" or "江山市"), if any."""
    for county in sorted({s.county for s in streams if s.county != EVERYONE}, key=len, reverse=True):
        if _short(county) in text:
            return county
    return None


def upcoming(streams: Sequence[Stream], now: dt.datetime, county: str | None = None) -> list[Stream]:
    """Streams not yet started, for one county (and everyone) or for all, soonest first."""
    return [s for s in streams if s.start >= now and (county is None or s.county in (county, EVERYONE))][:SHOWN]


def describe(stream: Stream) -> str:
    """One line: when, where for, what, and how to watch."""
    when = f"{stream.start.month}月{stream.start.day}日（周{_WEEKDAYS[stream.start.weekday()]}）{stream.start:%H:%M}"
    how = "；".join(x for x in (f"观看：{stream.link}" if stream.link else "", stream.place or "") if x)
    return f"{when} {stream.county}《{stream.title}》 {how}"


def schedule_reply(text: str, now: dt.datetime, streams: Sequence[Stream] | None = None) -> Reply:
    """What the resident is told: the next streams for the county named (or all), or that none is planned."""
    streams = load() if streams is None else streams
    county = county_named(text, streams)
    found = upcoming(streams, now, county)
    where = county or "各地"
    if not found:
        return Reply(f"{where}近期还没有安排普法直播。有法律问题可以直接问我，或者问问共享律师。")
    lines = "\n".join(f"{i}. {describe(s)}" for i, s in enumerate(found, 1))
    return Reply(f"{where}近期的普法直播：\n{lines}\n直播开始前请留意公众号通知。")
