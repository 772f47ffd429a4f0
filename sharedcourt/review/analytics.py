"""Figures a court president looks at (issue 13), over a date range and a county: disputes by type, county and month;
how fast calls for a person are accepted; how often nobody answers (有呼无应); bookings against seats offered;
outcomes; satisfaction; channels; and the headline counts. Each figure's definition is in the module computing it
(stats_tickets, stats_other); the filter and shared helpers are in stats_window.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.ticket import Ticket, TicketEvent
from sharedcourt.review import stats_other, stats_tickets
from sharedcourt.review.stats_window import Window, county_of, day_of, percentile

__all__ = ["ACCEPT_SECONDS", "Window", "county_of", "figures", "percentile"]

ACCEPT_SECONDS = 180  # the settings' default acceptance window (HANDOFF_ACCEPT_SECONDS)


async def _tickets(session: AsyncSession, window: Window) -> list[Ticket]:
    start, end = window.bounds
    found = await session.scalars(
        select(Ticket).where(Ticket.requested_at >= start, Ticket.requested_at < end).order_by(Ticket.id)
    )
    return [t for t in found if window.holds(t.site_code)]


async def _events(session: AsyncSession, window: Window) -> list[tuple[str, str]]:
    start, end = window.bounds
    rows = await session.execute(
        select(TicketEvent.kind, TicketEvent.at, Ticket.site_code)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind.in_(("escalated", "expired")), TicketEvent.at >= start, TicketEvent.at < end)
    )
    return [(kind, day_of(at)) for kind, at, site in rows.tuples() if window.holds(site)]


async def figures(session: AsyncSession, window: Window, accept_seconds: int = ACCEPT_SECONDS) -> dict[str, Any]:
    """Every figure of the analytics page (and of `/console/api/stats`) for the window."""
    tickets = await _tickets(session, window)
    return {
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "county": window.county,
        "headline": stats_tickets.headline(tickets),
        "disputes": await stats_other.disputes(session, window),
        "acceptance": stats_tickets.acceptance(tickets, accept_seconds),
        "escalation": stats_tickets.escalation(tickets),
        "escalation_by_day": stats_tickets.timeline(window, tickets, await _events(session, window)),
        "bookings_by_site": await stats_other.utilisation(session, window),
        "outcomes_by_type": stats_tickets.outcomes(tickets),
        "ratings": await stats_other.ratings(session, window),
        "channels": await stats_other.channels(session, window),
    }
