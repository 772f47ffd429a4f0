"""The court president's analytics page (`/console/analytics`) and its JSON (`/console/api/analytics`).

Dispatchers, judges and admins see the figures of the counties their grants cover (a site grant covers its
county); an admin or an unscoped grant sees every county. Charts are drawn by ECharts served from the app's own
static files (`/console/static/echarts.min.js`, vendored with its licence): no CDN on a court intranet.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.db.base import utcnow
from sharedcourt.domain.clock import local
from sharedcourt.errors import AuthError, BadRequest
from sharedcourt.review.analytics import Window, county_of, figures
from sharedcourt.settings import Settings
from sharedcourt.staff.roles import Caller
from sharedcourt.web.auth import require_caller
from sharedcourt.web.console_login import console_context

TEMPLATES = Path(__file__).resolve().parent / "templates"
ECHARTS = Path(__file__).resolve().parent / "static" / "vendor" / "echarts.min.js"
ANALYTICS_ROLES = ("dispatcher", "judge")
DEFAULT_DAYS = 30
MAX_DAYS = 366
NO_ROLE = "统计分析仅供院领导、法官和指挥中心调度使用。"


def counties_of(caller: Caller) -> frozenset[str] | None:
    """The counties the caller may look at; None means every county."""
    scopes = {s for role in ANALYTICS_ROLES for s in caller.scopes_for(role)}
    if "" in scopes:
        return None
    return frozenset(s if s.isdigit() else county_of(s) for s in scopes) - {""}


def _day(text: str | None, default: dt.date, name: str) -> dt.date:
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name} 应为日期，例如 2026-12-01") from None


def window_of(request: Request, caller: Caller) -> Window:
    """The date range and county asked for, checked against the caller's counties (BadRequest / AuthError)."""
    today = local(utcnow()).date()
    params = request.query_params
    end = _day(params.get("to"), today, "to")
    start = _day(params.get("from"), end - dt.timedelta(days=DEFAULT_DAYS - 1), "from")
    if start > end or (end - start).days >= MAX_DAYS:
        raise BadRequest(f"日期范围应为开始不晚于结束、不超过 {MAX_DAYS} 天")
    allowed = counties_of(caller)
    county = params.get("county", "").strip()
    if allowed is not None:
        if not county and allowed:
            county = sorted(allowed)[0]
        if county not in allowed:
            raise AuthError("county outside the caller's scope")
    return Window(start, end, county)


class AnalyticsPages:
    """The page, its JSON and the vendored chart library."""

    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(TEMPLATES), context_processors=[console_context])

    async def _caller(self, request: Request) -> Caller | Response:
        try:
            caller = await require_caller(request)
        except AuthError:
            return RedirectResponse("/console/login", status_code=303)
        if not any(caller.can(role) for role in ANALYTICS_ROLES):
            return self._refused(request, NO_ROLE, 403)
        return caller

    def _refused(self, request: Request, message: str, status: int) -> Response:
        return self.templates.TemplateResponse(request, "refused.html", {"message": message}, status_code=status)

    async def _figures(self, request: Request, caller: Caller) -> dict[str, Any]:
        window = window_of(request, caller)
        async with request.app.state.sessions() as session:
            return await figures(session, window)

    async def page(self, request: Request) -> Response:
        """Charts and tables; a bad range is a 400 page, a county outside the scope a 403 page."""
        caller = await self._caller(request)
        if isinstance(caller, Response):
            return caller
        try:
            data = await self._figures(request, caller)
        except BadRequest as exc:
            return self._refused(request, str(exc), 400)
        except AuthError:
            return self._refused(request, "该县（市、区）不在您的负责范围内。", 403)
        allowed = counties_of(caller)
        context = {"data": data, "counties": sorted(allowed) if allowed is not None else None}
        return self.templates.TemplateResponse(request, "analytics.html", context)

    async def api(self, request: Request) -> Response:
        """The same figures as JSON."""
        caller = await self._caller(request)
        if isinstance(caller, Response):
            raise AuthError("analytics role required")
        return JSONResponse(await self._figures(request, caller))

    async def echarts(self, request: Request) -> Response:
        """The vendored ECharts build (public: a library, no data)."""
        return FileResponse(ECHARTS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


def routes(settings: Settings) -> list[BaseRoute]:
    """The analytics page, its JSON and the chart library."""
    pages = AnalyticsPages()
    return [
        Route("/console/analytics", pages.page, methods=["GET"]),
        Route("/console/api/analytics", pages.api, methods=["GET"]),
        Route("/console/static/echarts.min.js", pages.echarts, methods=["GET"]),
    ]
