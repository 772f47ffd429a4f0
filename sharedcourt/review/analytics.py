"""Figures a court president looks at (issue 13): how fast calls for a person are accepted, how often nobody
answers (有呼无应), ratings, bookings per site and outcomes by dispute type, over a date range and a county.

Dates are China's calendar days; a range is [start, end] inclusive. A ticket belongs to the range by the day it
was requested, a booking by the day it is for, a rating by the day it was given. A ticket's county is the county
code inside its site key (GX330802009 -> 330802). Percentiles are nearest-rank (p90 of 10 values = the 9th).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.booking import CONFIRMED, Booking
from sharedcourt.db.ticket import Rating, Ticket
from sharedcourt.domain.clock import TZ
from sharedcourt.domain.disputes import BY_CODE


@dataclass(frozen=True)
class Window:
    """The figures' filter: local days [start, end] and an optional county code."""

    start: dt.date
    end: dt.date
    county: str = ""

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The UTC instants [from, to) covering the local days."""
        first = dt.datetime.combine(self.start, dt.time(), TZ)
        after = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), TZ)
        return first.astimezone(dt.timezone.utc), after.astimezone(dt.timezone.utc)

    def holds(self, site_code: str | None) -> bool:
        """Whether a site is in the county filter (every site without one)."""
        return not self.county or county_of(site_code) == self.county


def county_of(site_code: str | None) -> str:
    """The county code inside a site key ('' when the key carries none)."""
    code = site_code or ""
    return code[2:8] if len(code) >= 8 and code[2:8].isdigit() else ""


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of the values; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _accept_rows(groups: dict[str, list[float]]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "accepted": len(seconds),
            "p50_seconds": percentile(seconds, 0.5),
            "p90_seconds": percentile(seconds, 0.9),
        }
        for name, seconds in sorted(groups.items())
    ]


def acceptance(tickets: Sequence[Ticket]) -> dict[str, Any]:
    """Seconds from request to acceptance, p50/p90 per site and per county, and overall."""
    by_site: dict[str, list[float]] = defaultdict(list)
    by_county: dict[str, list[float]] = defaultdict(list)
    every: list[float] = []
    for t in tickets:
        if t.accepted_at is None:
            continue
        seconds = (t.accepted_at - t.requested_at).total_seconds()
        by_site[t.site_name or t.site_code or "未知"].append(seconds)
        by_county[county_of(t.site_code) or "未知"].append(seconds)
        every.append(seconds)
    overall = {"accepted": len(every), "p50_seconds": percentile(every, 0.5), "p90_seconds": percentile(every, 0.9)}
    return {"overall": overall, "by_site": _accept_rows(by_site), "by_county": _accept_rows(by_county)}


def escalation(tickets: Sequence[Ticket]) -> dict[str, Any]:
    """Requests, those passed on (escalated), those nobody took (expired: 有呼无应) and out-of-hours callbacks."""
    total = len(tickets)
    escalated = sum(1 for t in tickets if t.escalated_at is not None)
    expired = sum(1 for t in tickets if t.expired_at is not None)
    callbacks = sum(1 for t in tickets if t.callback_after is not None)
    return {
        "requests": total,
        "escalated": escalated,
        "expired": expired,
        "callbacks": callbacks,
        "escalation_rate": round(escalated / total, 4) if total else None,
        "unanswered_rate": round(expired / total, 4) if total else None,
    }


def outcomes(tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
    """Closed tickets with an outcome, counted by dispute type and outcome."""
    counted = Counter(
        (BY_CODE[t.dispute_code].label if t.dispute_code in BY_CODE else "未识别", t.outcome)
        for t in tickets
        if t.outcome
    )
    return [{"dispute": d, "outcome": o, "count": n} for (d, o), n in sorted(counted.items())]


async def figures(session: AsyncSession, window: Window) -> dict[str, Any]:
    """Every figure of the analytics page for the window."""
    start, end = window.bounds
    tickets = [
        t
        for t in await session.scalars(select(Ticket).where(Ticket.requested_at >= start, Ticket.requested_at < end))
        if window.holds(t.site_code)
    ]
    rated = await session.execute(
        select(Rating.score, Ticket.site_code)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(Rating.created_at >= start, Rating.created_at < end)
    )
    scores = [score for score, site in rated.tuples() if window.holds(site)]
    booked = await session.execute(
        select(Booking.site_code, Booking.status).where(Booking.starts_at >= start, Booking.starts_at < end)
    )
    per_site = Counter(site for site, status in booked.tuples() if status == CONFIRMED and window.holds(site))
    return {
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "county": window.county,
        "acceptance": acceptance(tickets),
        "escalation": escalation(tickets),
        "ratings": {
            "count": len(scores),
            "average": round(sum(scores) / len(scores), 2) if scores else None,
            "by_score": {str(s): scores.count(s) for s in range(1, 6)},
        },
        "bookings_by_site": [{"site": s, "bookings": n} for s, n in sorted(per_site.items())],
        "outcomes_by_type": outcomes(tickets),
    }
