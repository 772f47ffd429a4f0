"""The dispatcher's county board (/console/board): open tickets by site with their age and state, oldest first.

A dispatcher sees the counties of their dispatcher grants (a county code, or the county of a granted site); an
admin sees every county and may pick one with `?county=`. Other roles are refused (403); a county outside the
dispatcher's grants answers 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from sharedcourt.db.site import Site
from sharedcourt.db.ticket import Ticket
from sharedcourt.domain.clock import local_minute
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.errors import NotFound
from sharedcourt.handoff.staff_routing import Roster
from sharedcourt.sites.places import Gazetteer
from sharedcourt.staff.roles import ADMIN, Caller
from sharedcourt.web.review import error_page, page_caller
from sharedcourt.web.workspace.pages import service_of
from sharedcourt.web.workspace.views import STATE_ZH

BOARD_STATES = ("offered", "escalated", "accepted")
BOARD_LIMIT = 2000  # open tickets read per board; a city has far fewer open at once
NOT_YOURS = "这个县（市、区）不在您的调度范围内"


@dataclass
class SiteRow:
    """One site's open tickets, oldest first."""

    code: str
    name: str
    tickets: list[dict[str, Any]] = field(default_factory=list)


def county_of(site_code: str | None, place_code: str | None) -> str:
    """A ticket's county: its site's place code, else the county digits of the site code (GX330802…)."""
    if place_code:
        return place_code[:6]
    digits = (site_code or "").lstrip("GXFYTS")
    return digits[:6] if digits[:6].isdigit() else ""


def age_zh(seconds: float) -> str:
    """'2 小时 5 分', '12 分', '不到 1 分'."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "不到 1 分"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时 {minutes} 分" if hours else f"{minutes} 分"


async def dispatcher_counties(session: AsyncSession, caller: Caller) -> frozenset[str] | None:
    """The counties the caller dispatches for; None for an admin (every county)."""
    if caller.is_admin:
        return None
    scopes = caller.scopes_for("dispatcher")
    sites = [s for s in scopes if not s.isdigit()]
    places: list[str | None] = list(await session.scalars(select(Site.place_code).where(Site.code.in_(sites))))
    return frozenset({s for s in scopes if s.isdigit()} | {p[:6] for p in places if p})


async def board_rows(
    session: AsyncSession, counties: frozenset[str] | None, roster: Roster, now: dt.datetime
) -> list[SiteRow]:
    """Open tickets in `counties` (None: all), grouped by site; sites ordered by their oldest ticket."""
    rows = await session.execute(
        select(Ticket, Site.place_code)
        .outerjoin(Site, Site.code == Ticket.site_code)
        .where(Ticket.state.in_(BOARD_STATES))
        .order_by(Ticket.requested_at, Ticket.id)
        .limit(BOARD_LIMIT)
    )
    names = {k: p.name for k, p in roster.by_id.items()}
    sites: dict[str, SiteRow] = {}
    for ticket, place in rows.tuples():
        if counties is not None and county_of(ticket.site_code, place) not in counties:
            continue
        code = ticket.site_code or ""
        row = sites.setdefault(code, SiteRow(code, ticket.site_name or code or "未定站点"))
        dispute = BY_CODE.get(ticket.dispute_code or "")
        who = ticket.holder if ticket.state == "accepted" else ticket.assignee
        row.tickets.append(
            {
                "number": ticket.number,
                "state": ticket.state,
                "state_zh": STATE_ZH.get(ticket.state, ticket.state),
                "age": age_zh((now - ticket.requested_at).total_seconds()),
                "requested": local_minute(ticket.requested_at),
                "dispute": dispute.label if dispute else "未识别",
                "urgent": ticket.urgent,
                "who": names.get(who or "", who or "—"),
                "case_id": ticket.case_id,
            }
        )
    return list(sites.values())  # insertion order: the site of the oldest ticket first


class BoardPages:
    """The county board page."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def board(self, request: Request) -> Response:
        """GET /console/board[?county=]: the board for the caller's counties (or the chosen one)."""
        caller = await page_caller(self.templates, request, ADMIN, "dispatcher")
        if isinstance(caller, Response):
            return caller
        chosen = request.query_params.get("county", "").strip()[:6]
        service = service_of(request)
        async with request.app.state.sessions() as session:
            mine = await dispatcher_counties(session, caller)
            if chosen and mine is not None and chosen not in mine:
                return error_page(self.templates, request, NotFound(NOT_YOURS))
            counties = frozenset({chosen}) if chosen else mine
            sites = await board_rows(session, counties, service.roster, service.clock())
        known = {p.code: p.name for p in Gazetteer.load().counties()}
        choices = sorted(known) if mine is None else sorted(mine)
        context = {
            "sites": sites,
            "total": sum(len(s.tickets) for s in sites),
            "county": chosen,
            "counties": [(c, known.get(c, c)) for c in choices],
            "scope": "、".join(known.get(c, c) for c in sorted(counties)) if counties else "全部县（市、区）",
        }
        return self.templates.TemplateResponse(request, "workspace/board.html", context)
