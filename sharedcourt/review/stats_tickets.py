"""Figures from handoff tickets: acceptance time, escalations and 有呼无应 over time, outcomes, headline counts.

A ticket belongs to the range by the day it was requested; an escalation or expiry by the day it happened.
- Acceptance time: seconds from the request to the acceptance. "Within the window" means accepted no later than
  the acceptance window (`HANDOFF_ACCEPT_SECONDS`, the first person's time to answer) after the request; the share is
  of every request, so a ticket nobody took counts against it.
- Escalation: an offer that timed out and passed to the next person (event `escalated`); 有呼无应: a ticket whose
  last offer timed out with nobody left to ask (event `expired`, a callback is owed).
- Headline counts, as the Shared Courts report them (共享法庭 在线立案 / 调解 / 指导调解):
  在线立案 = tickets closed with the outcome 转立案 (the site helped the resident file the case);
  调解 = tickets closed with 调解成功 or 调解不成 (a mediation was held), of which 成功 = 调解成功;
  指导调解 = those mediations routed by a rule whose mode is 指导调 or 邀请调 in routing.yml (a judge guided or joined).
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sharedcourt.data import DATA_DIR, read_mapping
from sharedcourt.db.ticket import Ticket
from sharedcourt.review.stats_window import (
    UNKNOWN,
    Window,
    county_name,
    county_of,
    day_of,
    dispute_label,
    percentile,
    share,
)

# Upper bounds (seconds) of the acceptance-time buckets, with their labels; the last bucket is open.
BUCKETS = ((30, "30秒内"), (60, "31秒-1分钟"), (120, "1-2分钟"), (180, "2-3分钟"), (300, "3-5分钟"), (600, "5-10分钟"))
OVER = "10分钟以上"
NOT_ACCEPTED = "未接单"
GUIDED_MODES = ("指导调", "邀请调")
MEDIATED = ("调解成功", "调解不成")


@functools.lru_cache(maxsize=1)
def guided_rules() -> frozenset[str]:
    """The routing rules (routing.yml) under which a judge guides or joins the mediation."""
    rules = read_mapping(DATA_DIR / "routing.yml").get("rules") or []
    return frozenset(str(r["name"]) for r in rules if r.get("mode") in GUIDED_MODES)


def seconds_to_accept(ticket: Ticket) -> float | None:
    """Seconds from request to acceptance; None when nobody accepted."""
    if ticket.accepted_at is None:
        return None
    return (ticket.accepted_at - ticket.requested_at).total_seconds()


def bucket_of(seconds: float | None) -> str:
    """The distribution bucket of an acceptance time."""
    if seconds is None:
        return NOT_ACCEPTED
    return next((name for top, name in BUCKETS if seconds <= top), OVER)


def _group_row(name: str, tickets: Sequence[Ticket], limit: int) -> dict[str, Any]:
    seconds = [s for s in map(seconds_to_accept, tickets) if s is not None]
    within = sum(1 for s in seconds if s <= limit)
    return {
        "name": name,
        "requests": len(tickets),
        "accepted": len(seconds),
        "within_window": within,
        "share_within": share(within, len(tickets)),
        "p50_seconds": percentile(seconds, 0.5),
        "p90_seconds": percentile(seconds, 0.9),
    }


def acceptance(tickets: Sequence[Ticket], limit: int) -> dict[str, Any]:
    """Acceptance time overall, per site and per county: requests, accepted, share within `limit` s, p50/p90."""
    by_site: dict[str, list[Ticket]] = defaultdict(list)
    by_county: dict[str, list[Ticket]] = defaultdict(list)
    for t in tickets:
        by_site[t.site_name or t.site_code or UNKNOWN].append(t)
        by_county[county_of(t.site_code) or UNKNOWN].append(t)
    counties = [{**_group_row(c, ts, limit), "county_name": county_name(c if c != UNKNOWN else "")}
                for c, ts in sorted(by_county.items())]  # fmt: skip
    counted = Counter(bucket_of(seconds_to_accept(t)) for t in tickets)
    names = [name for _, name in BUCKETS] + [OVER, NOT_ACCEPTED]
    return {
        "window_seconds": limit,
        "overall": _group_row("全部", tickets, limit),
        "by_site": [_group_row(s, ts, limit) for s, ts in sorted(by_site.items())],
        "by_county": counties,
        "distribution": [{"bucket": name, "count": counted.get(name, 0)} for name in names],
    }


def escalation(tickets: Sequence[Ticket]) -> dict[str, Any]:
    """Requests, those passed on at least once (escalated), those nobody took (expired: 有呼无应), callbacks."""
    total = len(tickets)
    escalated = sum(1 for t in tickets if t.escalated_at is not None)
    expired = sum(1 for t in tickets if t.expired_at is not None)
    return {
        "requests": total,
        "escalated": escalated,
        "expired": expired,
        "callbacks": sum(1 for t in tickets if t.callback_after is not None),
        "escalation_rate": share(escalated, total),
        "unanswered_rate": share(expired, total),
    }


def timeline(window: Window, tickets: Sequence[Ticket], events: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Per day of the range: requests, escalations (offers timed out and passed on) and 有呼无应 (expired).

    ``events`` are (kind, day) pairs of the escalated/expired events of tickets in the county filter."""
    requests = Counter(day_of(t.requested_at) for t in tickets)
    counted = Counter(events)
    return [
        {
            "day": d,
            "requests": requests.get(d, 0),
            "escalated": counted.get(("escalated", d), 0),
            "expired": counted.get(("expired", d), 0),
        }
        for d in (day.isoformat() for day in window.days())
    ]


def outcomes(tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
    """Closed tickets with an outcome, counted by dispute type and outcome."""
    counted = Counter((dispute_label(t.dispute_code), t.outcome) for t in tickets if t.outcome)
    return [{"dispute": d, "outcome": o, "count": n} for (d, o), n in sorted(counted.items())]


def headline(tickets: Sequence[Ticket]) -> dict[str, int]:
    """The headline cards: online filings, mediations (and successes), guided mediations (see the module doc)."""
    mediated = [t for t in tickets if t.outcome in MEDIATED]
    guided = guided_rules()
    return {
        "online_filings": sum(1 for t in tickets if t.outcome == "转立案"),
        "mediations": len(mediated),
        "mediations_succeeded": sum(1 for t in mediated if t.outcome == "调解成功"),
        "guided_mediations": sum(1 for t in mediated if t.rule in guided),
    }
