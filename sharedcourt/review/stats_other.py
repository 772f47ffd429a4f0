"""Figures from cases, bookings, ratings and conversations (the rest of the analytics page).

- Disputes: cases by the day they were opened, by dispute type x county (of the case's site) x month.
- Booking utilisation per site: seats offered = the capacity of the open slots starting in the range; seats booked =
  bookings starting in the range that still hold their seat or were used (confirmed, attended, no_show).
- Satisfaction: ratings by the day given (county of the rated ticket's site); comments are masked like transcripts.
- Channel mix: conversations by the day they started and their channel; a conversation's county is that of the
  resident's site, else of the place the resident named. Staff members' own conversations are left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.booking import Booking, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.site import Site
from sharedcourt.db.ticket import Rating, Ticket
from sharedcourt.domain.values.masking import mask_text
from sharedcourt.review.stats_window import Window, county_name, county_of, day_of, dispute_label, month_of, share

HOLDS_SEAT = ("confirmed", "attended", "no_show")
CHANNELS = {"wechat": "微信公众号", "webchat": "网页聊天", "wecom": "企业微信", "dingtalk": "钉钉"}
MAX_COMMENTS = 50


async def disputes(session: AsyncSession, window: Window) -> list[dict[str, Any]]:
    """Cases opened in the range by month, county and dispute type."""
    start, end = window.bounds
    rows = await session.execute(
        select(Case.dispute_code, Case.site_code, Case.created_at).where(
            Case.created_at >= start, Case.created_at < end
        )
    )
    counted = Counter(
        (month_of(at), county_of(site), dispute_label(code)) for code, site, at in rows.tuples() if window.holds(site)
    )
    return [
        {"month": m, "county": c, "county_name": county_name(c), "dispute": d, "count": n}
        for (m, c, d), n in sorted(counted.items())
    ]


async def site_names(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    """The registry's names of these sites (a code the registry lacks is missing from the answer)."""
    if not codes:
        return {}
    rows = await session.execute(select(Site.code, Site.name).where(Site.code.in_(sorted(codes))))
    return dict(rows.tuples().all())


async def utilisation(session: AsyncSession, window: Window) -> list[dict[str, Any]]:
    """Per site: seats offered, seats booked and booked / offered."""
    start, end = window.bounds
    slots = await session.execute(
        select(Slot.site_code, Slot.capacity).where(
            Slot.starts_at >= start, Slot.starts_at < end, Slot.status == "open"
        )
    )
    offered: dict[str, int] = defaultdict(int)
    for site, capacity in slots.tuples():
        if window.holds(site):
            offered[site] += capacity
    booked_rows = await session.execute(
        select(Booking.site_code).where(
            Booking.starts_at >= start, Booking.starts_at < end, Booking.status.in_(HOLDS_SEAT)
        )
    )
    booked = Counter(site for (site,) in booked_rows.tuples() if window.holds(site))
    codes = set(offered) | set(booked)
    names = await site_names(session, codes)
    return [
        {
            "site": code,
            "site_name": names.get(code, code),
            "offered": offered.get(code, 0),
            "booked": booked.get(code, 0),
            "utilisation": share(booked.get(code, 0), offered.get(code, 0)),
        }
        for code in sorted(codes)
    ]


async def ratings(session: AsyncSession, window: Window) -> dict[str, Any]:
    """Scores 1-5, their average, and the newest comments masked (the resident's own name too)."""
    start, end = window.bounds
    rows = await session.execute(
        select(Rating.score, Rating.comment, Rating.created_at, Ticket.site_code, Ticket.site_name, Resident.name)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .join(Resident, Resident.id == Ticket.resident_id)
        .where(Rating.created_at >= start, Rating.created_at < end)
        .order_by(Rating.created_at.desc(), Rating.id.desc())
    )
    kept = [r for r in rows.tuples() if window.holds(r[3])]
    scores = [r[0] for r in kept]
    comments = [
        {
            "day": day_of(at),
            "score": score,
            "site": name or site or "",
            "comment": mask_text(text, [who] if who else []),
        }
        for score, text, at, site, name, who in kept
        if text.strip()
    ]
    return {
        "count": len(scores),
        "average": round(sum(scores) / len(scores), 2) if scores else None,
        "by_score": {str(s): scores.count(s) for s in range(1, 6)},
        "comments": comments[:MAX_COMMENTS],
    }


def _resident_county(site_code: str | None, place_code: str | None) -> str:
    found = county_of(site_code)
    if found:
        return found
    place = place_code or ""
    return place[:6] if len(place) >= 6 and place[:6].isdigit() else ""


async def channels(session: AsyncSession, window: Window) -> list[dict[str, Any]]:
    """Conversations started in the range, by channel."""
    start, end = window.bounds
    rows = await session.execute(
        select(Conversation.channel, Resident.site_code, Resident.place_code)
        .join(Resident, Resident.id == Conversation.resident_id)
        .where(Conversation.created_at >= start, Conversation.created_at < end, Resident.is_staff.is_(False))
    )
    counted = Counter(
        channel
        for channel, site, place in rows.tuples()
        if not window.county or _resident_county(site, place) == window.county
    )
    return [{"channel": c, "label": CHANNELS.get(c, c), "count": n} for c, n in sorted(counted.items())]
