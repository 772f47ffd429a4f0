"""The court president's analytics page (`/console/analytics`), its JSON (`/console/api/stats`, also at the older
`/console/api/analytics`) and each chart's CSV (`/console/api/export/stats?chart=…`).

Dispatchers, judges and admins see the figures of the counties their grants cover (a site grant covers its
county); an admin or an unscoped grant sees every county. The JSON and CSV take a console session or the account's
own API token (`Bearer sc_…`). Every filter is `from`, `to` (YYYY-MM-DD, China's days) and `county` (six digits).
CSV is UTF-8 with a BOM, masked (comments), and each download is audited with its filter. Charts are drawn by
ECharts served from the app's own static files (`/console/static/echarts.min.js`): no CDN on a court intranet.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.db.base import utcnow
from sharedcourt.domain.clock import local
from sharedcourt.errors import AuthError, BadRequest
from sharedcourt.review.analytics import Window, figures
from sharedcourt.review.export import CSV_TYPE, to_csv
from sharedcourt.review.stats_tables import TABLES
from sharedcourt.review.stats_window import county_name, county_of
from sharedcourt.settings import Settings
from sharedcourt.staff import audit
from sharedcourt.staff.roles import Caller
from sharedcourt.web.auth import client_address, require_api_caller, require_caller
from sharedcourt.web.console_login import console_context

TEMPLATES = Path(__file__).resolve().parent / "templates"
ECHARTS = Path(__file__).resolve().parent / "static" / "vendor" / "echarts.min.js"
ANALYTICS_ROLES = ("dispatcher", "judge")
DEFAULT_DAYS = 30
MAX_DAYS = 366
NO_ROLE = "统计分析仅供院领导、法官和指挥中心调度使用。"
OUT_OF_SCOPE = "该县（市、区）不在您的负责范围内。"
NO_STORE = {"Cache-Control": "no-store"}
_COUNTY = re.compile(r"\d{6}")


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
        raise BadRequest(f"{name} 应为日期，格式 YYYY-MM-DD，例如 2026-12-01") from None


def window_of(request: Request, caller: Caller) -> Window:
    """The date range and county asked for, checked against the caller's counties (BadRequest / AuthError)."""
    today = local(utcnow()).date()
    params = request.query_params
    end = _day(params.get("to"), today, "to")
    start = _day(params.get("from"), end - dt.timedelta(days=DEFAULT_DAYS - 1), "from")
    if start > end or (end - start).days >= MAX_DAYS:
        raise BadRequest(f"日期范围应为开始不晚于结束、不超过 {MAX_DAYS} 天")
    county = params.get("county", "").strip()
    if county and not _COUNTY.fullmatch(county):
        raise BadRequest("county 应为六位县（市、区）代码，例如 330802")
    allowed = counties_of(caller)
    if allowed is not None:
        if not county and allowed:
            county = sorted(allowed)[0]
        if county not in allowed:
            raise AuthError("county outside the caller's scope")
    return Window(start, end, county)


async def _analyst(request: Request) -> Caller:
    """The JSON/CSV caller (session or API token), who must hold an analytics role."""
    caller = await require_api_caller(request)
    if not any(caller.can(role) for role in ANALYTICS_ROLES):
        raise AuthError("analytics role required")
    return caller


async def _figures(request: Request, caller: Caller) -> dict[str, Any]:
    window = window_of(request, caller)
    settings: Settings = request.app.state.settings
    async with request.app.state.sessions() as session:
        return await figures(session, window, settings.handoff_accept_seconds)


class AnalyticsPages:
    """The page, its JSON, the CSV downloads and the vendored chart library."""

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

    async def page(self, request: Request) -> Response:
        """Charts and tables; a bad range is a 400 page, a county outside the scope a 403 page."""
        caller = await self._caller(request)
        if isinstance(caller, Response):
            return caller
        try:
            data = await _figures(request, caller)
        except BadRequest as exc:
            return self._refused(request, str(exc), 400)
        except AuthError:
            return self._refused(request, OUT_OF_SCOPE, 403)
        allowed = counties_of(caller)
        choices = [(c, county_name(c)) for c in sorted(allowed)] if allowed is not None else None
        context = {"data": data, "counties": choices, "tables": TABLES, "county_label": county_name(data["county"])}
        return self.templates.TemplateResponse(request, "analytics.html", context)

    async def api(self, request: Request) -> Response:
        """The same figures as JSON (400 with a Chinese message for a bad date or county)."""
        caller = await _analyst(request)
        return JSONResponse(await _figures(request, caller), headers=NO_STORE)

    async def export(self, request: Request) -> Response:
        """One chart's data as CSV (UTF-8 with a BOM), audited with the chart and the filter."""
        caller = await _analyst(request)
        name = request.query_params.get("chart", "")
        table = TABLES.get(name)
        if table is None:
            raise BadRequest(f"chart 应为以下之一：{'、'.join(TABLES)}")
        data = await _figures(request, caller)
        rows = table.rows(data)
        summary = (
            f"{table.title}；{data['from']} 至 {data['to']}；县（市、区）{data['county'] or '全部'}；{len(rows)} 行"
        )
        async with request.app.state.sessions() as session, session.begin():
            await audit.record(session, "export", caller=caller, target_kind="stats", target_id=name, field="csv",
                               reason=summary, address=client_address(request))  # fmt: skip
        filename = f"stats-{name}-{data['from']}-{data['to']}{'-' + data['county'] if data['county'] else ''}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE}
        return Response(to_csv(rows, table.columns), media_type=CSV_TYPE, headers=headers)

    async def echarts(self, request: Request) -> Response:
        """The vendored ECharts build (public: a library, no data)."""
        return FileResponse(ECHARTS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


def routes(settings: Settings) -> list[BaseRoute]:
    """The analytics page, its JSON (two paths), the CSV downloads and the chart library."""
    pages = AnalyticsPages()
    return [
        Route("/console/analytics", pages.page, methods=["GET"]),
        Route("/console/api/stats", pages.api, methods=["GET"]),
        Route("/console/api/analytics", pages.api, methods=["GET"]),
        Route("/console/api/export/stats", pages.export, methods=["GET"]),
        Route("/console/static/echarts.min.js", pages.echarts, methods=["GET"]),
    ]
