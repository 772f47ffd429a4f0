"""Staff console: transcripts with personal data masked, and charts of what is happening (signed-in accounts)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.db.base import utcnow
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.domain.clock import local
from sharedcourt.errors import AuthError
from sharedcourt.review.search import SearchQuery, scope_clause
from sharedcourt.review.transcript import type_label
from sharedcourt.settings import Settings
from sharedcourt.staff.roles import ROLES, Caller
from sharedcourt.web import accounts, audit, faq_console, review, review_api
from sharedcourt.web.auth import require_caller, require_role
from sharedcourt.web.console_login import LoginPages, console_context, refused_page
from sharedcourt.web.review_common import search_rows
from sharedcourt.web.scope import Visibility, visibility_of

TEMPLATES = Path(__file__).resolve().parent / "templates"


def bar_chart(data: list[tuple[str, int]], *, width: int = 560, bar: int = 22) -> dict[str, Any]:
    """Geometry for a horizontal SVG bar chart (rendered by the template, no JS)."""
    top = max((v for _, v in data), default=0) or 1
    label_w = 150
    rows = [
        {"label": label, "value": value, "y": i * (bar + 8), "w": round((width - label_w - 50) * value / top)}
        for i, (label, value) in enumerate(data)
    ]
    return {"rows": rows, "height": max(len(rows) * (bar + 8), bar), "width": width, "label_w": label_w, "bar": bar}


def _within(visibility: Visibility, column: Any) -> list[ColumnElement[bool]]:
    """``column`` (a conversation id) restricted to the conversations ``visibility`` opens; [] for everything."""
    clause = scope_clause(visibility.restrict(SearchQuery()))
    if clause is None:
        return []
    return [column.in_(select(Conversation.id).where(clause))]


async def stats(
    session: AsyncSession, visibility: Visibility, now: dt.datetime | None = None, days: int = 14
) -> dict[str, Any]:
    """Counts for the dashboard and `/console/api/dashboard`, over the conversations ``visibility`` opens."""
    now = now or utcnow()
    since = now - dt.timedelta(days=days)
    cases = _within(visibility, Case.conversation_id)
    messages = _within(visibility, Message.conversation_id)
    conversations = _within(visibility, Conversation.id)
    by_type = dict(
        (await session.execute(select(Case.dispute_code, func.count()).where(*cases).group_by(Case.dispute_code)))
        .tuples()
        .all()
    )
    by_status = dict(
        (await session.execute(select(Case.status, func.count()).where(*cases).group_by(Case.status))).tuples().all()
    )
    urgent = await session.scalar(select(func.count()).select_from(Case).where(Case.urgent.is_(True), *cases))
    recent = await session.scalars(
        select(Message.created_at).where(Message.direction == "in", Message.created_at >= since, *messages)
    )
    per_day = Counter(local(ts).date().isoformat() for ts in recent)
    day_list = [local(now - dt.timedelta(days=i)).date().isoformat() for i in range(days - 1, -1, -1)]
    total = await session.scalar(select(func.count()).select_from(Conversation).where(*conversations))
    human = await session.scalar(
        select(func.count()).select_from(Conversation).where(Conversation.mode == "human", *conversations)
    )
    pending = await session.scalar(
        select(func.count()).select_from(Message).where(Message.status == "pending", *messages)
    )
    return {
        "conversations": total or 0,
        "in_human_hands": human or 0,
        "pending_messages": pending or 0,
        "urgent_cases": urgent or 0,
        "cases_by_type": {str(k or "unknown"): v for k, v in by_type.items()},
        "cases_by_status": {str(k): v for k, v in by_status.items()},
        "messages_per_day": {d: per_day.get(d, 0) for d in day_list},
    }


NO_ROLE = "您的账号尚未分配角色，请联系管理员。"


class ConsolePages:
    """The console's HTTP handlers; built once per app by `routes`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.templates = Jinja2Templates(directory=str(TEMPLATES), context_processors=[console_context])
        self.login = LoginPages(settings, self.templates)

    async def _caller(self, request: Request) -> Caller | Response:
        """The signed-in person holding some role; else a redirect to sign-in (or 403 when they hold none)."""
        try:
            caller = await require_caller(request)
        except AuthError:
            return RedirectResponse("/console/login", status_code=303)
        if not any(caller.can(role) for role in ROLES):
            return refused_page(self.templates, request, NO_ROLE)
        return caller

    async def dashboard(self, request: Request) -> Response:
        """Counts, two charts and the latest conversations, all within the caller's scope."""
        caller = await self._caller(request)
        if isinstance(caller, Response):
            return caller
        async with request.app.state.sessions() as session:
            data = await stats(session, await visibility_of(session, caller))
            conversations, _ = await search_rows(session, caller, SearchQuery(limit=50))
        types = sorted(data["cases_by_type"].items(), key=lambda kv: -kv[1])
        type_chart = bar_chart([(type_label(k), v) for k, v in types])
        day_chart = bar_chart([(d[5:], v) for d, v in data["messages_per_day"].items()], bar=14)
        context = {"stats": data, "type_chart": type_chart, "day_chart": day_chart, "conversations": conversations}
        return self.templates.TemplateResponse(request, "dashboard.html", context)

    async def dashboard_api(self, request: Request) -> Response:
        """The dashboard's counts as JSON (a signed-in account holding some role), within the caller's scope."""
        caller = await require_role(request, *ROLES)
        async with request.app.state.sessions() as session:
            return JSONResponse(await stats(session, await visibility_of(session, caller)))


def routes(settings: Settings) -> list[BaseRoute]:
    """The console's routes: sign-in and sign-out, dashboard, transcripts (the stats API is in web.analytics)."""
    pages = ConsolePages(settings)
    return [
        Route("/console/login", pages.login.login_form, methods=["GET"]),
        Route("/console/login", pages.login.login, methods=["POST"]),
        Route("/console/logout", pages.login.logout, methods=["POST"]),
        Route("/console", pages.dashboard, methods=["GET"]),
        Route("/console/api/dashboard", pages.dashboard_api, methods=["GET"]),
        *review.routes(settings, pages.templates),
        *review_api.routes(),
        *audit.routes(pages.templates),
        *accounts.routes(pages.templates),
        *faq_console.routes(pages.templates),
    ]
