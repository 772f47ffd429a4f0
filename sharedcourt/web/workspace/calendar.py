"""A site's week calendar (/console/sites/{key}/calendar?week=YYYY-Www): bookings against capacity per window,
with move, cancel and closing a day or a window.

Open to an admin and to the mediators, judges and dispatchers whose grants cover the site (its key or its county);
any other site answers 404. Every change goes through the booking service's staff functions, so the residents
affected are told on their own channel (the same notices as the staff JSON API), and each is audited.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from sharedcourt.booking.calendar import ensure_slots, format_time, local_today
from sharedcourt.booking.staff import staff_cancel, staff_move
from sharedcourt.booking.week import WEEK_DAYS, booking_at, close_day, close_window, monday_of, move_targets, week_of
from sharedcourt.db.booking import Slot
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.domain.clock import TZ, WEEKDAY_ZH
from sharedcourt.errors import BadRequest, Conflict, NotFound
from sharedcourt.staff import audit
from sharedcourt.staff.roles import ADMIN, Caller
from sharedcourt.web.auth import client_address
from sharedcourt.web.review import error_page, form_caller, page_caller
from sharedcourt.web.scope import PLACE_ROLES, visibility_of
from sharedcourt.web.workspace.pages import service_of

NO_SITE = "没有这个站点，或不在您的负责范围内"
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
VERBS = ("move", "cancel", "close_day", "close_slot")
MAX_REASON = 200


def parse_week(raw: str, today: dt.date) -> dt.date:
    """The Monday of ISO week 'YYYY-Www' (today's week when empty); BadRequest otherwise."""
    if not raw:
        return monday_of(today)
    found = WEEK.match(raw)
    try:
        if found is None:
            raise ValueError(raw)
        return dt.date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
    except ValueError:
        raise BadRequest("周次格式应为 年-W周，例如 2026-W49") from None


def week_key(monday: dt.date) -> str:
    """'2026-W49' of a Monday."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


async def site_in_scope(session: AsyncSession, caller: Caller, key: str) -> Site | None:
    """The site if the caller's admin, mediator, judge or dispatcher grants cover it (its key or its county)."""
    site = await session.get(Site, key[:32])
    if site is None:
        return None
    grants = [g for g in caller.grants if g.role in (ADMIN, *PLACE_ROLES)]
    if not grants:
        return None
    seen = await visibility_of(session, caller, grants)
    if seen.everything or site.code in seen.sites:
        return site
    return site if any((site.place_code or "").startswith(c) for c in seen.counties) else None


def _reason(form: FormData) -> str:
    reason = str(form.get("reason") or "").strip()
    if len(reason) > MAX_REASON:
        raise BadRequest(f"原因不能超过 {MAX_REASON} 字")
    return reason


def _int(form: FormData, key: str) -> int:
    raw = str(form.get(key) or "")
    if not raw.isdigit() or len(raw) > 12:
        raise BadRequest("请选择要操作的预约或时段")
    return int(raw)


async def _change(session: AsyncSession, site: Site, verb: str, form: FormData, staff: str, now: dt.datetime) -> str:
    """Do one calendar change; what the page then says."""
    reason = _reason(form)
    if verb in ("move", "cancel"):
        booking = await booking_at(session, site.code, _int(form, "booking_id"))
        if verb == "cancel":
            await staff_cancel(session, booking.id, staff=staff, reason=reason, now=now)
            return "已取消预约，并已通知当事人。"
        target = await session.get(Slot, _int(form, "slot_id"))
        if target is None or target.site_code != site.code:
            raise NotFound("这个站点没有这个时段")
        moved = await staff_move(session, booking.id, target.id, staff=staff, reason=reason, now=now)
        return f"已改到{format_time(moved.starts_at, moved.ends_at)}，并已通知当事人。"
    if verb == "close_day":
        try:
            day = dt.date.fromisoformat(str(form.get("day") or ""))
        except ValueError:
            raise BadRequest("请选择要闭庭的日期") from None
        cancelled = await close_day(session, site.code, day, staff=staff, reason=reason, now=now)
        return f"{day.month}月{day.day}日已闭庭，取消预约 {len(cancelled)} 个并已通知当事人。"
    try:
        starts = dt.datetime.fromisoformat(str(form.get("starts_at") or ""))
    except ValueError:
        raise BadRequest("请选择要关闭的时段") from None
    if starts.tzinfo is None:
        raise BadRequest("请选择要关闭的时段")
    cancelled = await close_window(session, site.code, starts, staff=staff, reason=reason, now=now)
    return f"{format_time(starts)} 时段已关闭，取消预约 {len(cancelled)} 个并已通知当事人。"


class CalendarPages:
    """The calendar's page and forms."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def calendar(self, request: Request) -> Response:
        """GET: the week, its windows against capacity, the bookings in them, and the forms."""
        caller = await page_caller(self.templates, request, ADMIN, *PLACE_ROLES)
        if isinstance(caller, Response):
            return caller
        now = service_of(request).clock()
        try:
            monday = parse_week(request.query_params.get("week", "")[:10], local_today(now))
        except BadRequest as exc:
            return error_page(self.templates, request, exc)
        async with unit_of_work(request.app.state.sessions) as session:
            site = await site_in_scope(session, caller, str(request.path_params["key"]))
            if site is None:
                return error_page(self.templates, request, NotFound(NO_SITE))
            if monday + dt.timedelta(days=WEEK_DAYS) > local_today(now):
                await ensure_slots(session, site, now)  # idempotent: the coming weeks' slots exist before shown
            days = await week_of(session, site.code, monday)
            targets = await move_targets(session, site.code, now)
        context: dict[str, Any] = {
            "site": site,
            "week": week_key(monday),
            "prev": week_key(monday - dt.timedelta(days=7)),
            "next": week_key(monday + dt.timedelta(days=7)),
            "days": days,
            "weekday_zh": WEEKDAY_ZH,
            "today": local_today(now),
            "now": now,
            "tz": TZ,
            "targets": [(s.id, f"{format_time(s.starts_at, s.ends_at)} {s.mediator}") for s in targets],
            "notice": request.query_params.get("done", "")[:200],
        }
        return self.templates.TemplateResponse(request, "workspace/calendar.html", context)

    async def change(self, request: Request) -> Response:
        """POST move / cancel / close_day / close_slot; CSRF first, then role, scope; audited."""
        checked = await form_caller(self.templates, request, ADMIN, *PLACE_ROLES)
        if isinstance(checked, Response):
            return checked
        caller, form = checked
        verb = str(request.path_params["verb"])
        if verb not in VERBS:
            return error_page(self.templates, request, NotFound("没有这个操作"))
        now = service_of(request).clock()
        key = str(request.path_params["key"])
        try:
            async with unit_of_work(request.app.state.sessions) as session:
                site = await site_in_scope(session, caller, key)
                if site is None:
                    raise NotFound(NO_SITE)
                said = await _change(session, site, verb, form, caller.name, now)
                await audit.record(
                    session,
                    f"calendar_{verb}",
                    caller=caller,
                    target_kind="site",
                    target_id=site.code,
                    reason=f"{said} {_reason(form)}"[:255],
                    address=client_address(request),
                )
        except (BadRequest, NotFound) as exc:
            return error_page(self.templates, request, exc)
        except Conflict as exc:
            return self.templates.TemplateResponse(request, "refused.html", {"message": str(exc)}, status_code=409)
        week = str(form.get("week") or "")
        back = f"/console/sites/{quote(site.code)}/calendar?week={quote(week if WEEK.match(week) else '')}"
        return RedirectResponse(f"{back}&done={quote(said)}", status_code=303)
