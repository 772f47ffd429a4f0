"""The audit log for admins and auditors: `/console/audit` (page) and `GET /console/api/audit` (JSON).

Filters: `action`, `account` (login name), `since`/`until` (China's calendar days, both included); newest first,
paged by the last row's id (`before`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.db.staff import AuditEvent
from sharedcourt.domain.clock import TZ, local_minute
from sharedcourt.errors import AuthError, BadRequest
from sharedcourt.review.transcript import FIELDS
from sharedcourt.staff.audit import ACTIONS
from sharedcourt.staff.roles import ADMIN, AUDITOR
from sharedcourt.web.auth import require_api_caller
from sharedcourt.web.review import page_caller

PAGE = 50
ACTION_ZH = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "account_created": "创建账号",
    "role_granted": "授予角色",
    "account_deactivated": "停用账号",
    "token_created": "创建接口令牌",
    "token_revoked": "撤销接口令牌",
    "reveal": "查看未脱敏信息",
    "export": "导出",
    "faq_entry_added": "新增普法条目",
    "faq_entry_edited": "修改普法条目",
    "faq_question_covered": "标记未答问题已解答",
}


@dataclass(frozen=True)
class AuditQuery:
    """What the audit page asks for."""

    action: str = ""
    account: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before: int | None = None
    limit: int = PAGE


def _day(value: str, name: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(0), tzinfo=TZ)
    except ValueError as exc:
        raise BadRequest(f"{name}格式应为 年-月-日，例如 2026-12-01") from exc


def audit_query(params: Mapping[str, str]) -> AuditQuery:
    """The audit filters from query parameters; BadRequest with a Chinese message for bad ones."""
    get = {k: params.get(k, "").strip() for k in ("action", "account", "since", "until", "before")}
    if get["action"] and get["action"] not in (*ACTIONS, *ACTION_ZH):
        raise BadRequest(f"没有这种操作：{get['action']}")
    if get["before"] and not get["before"].isdigit():
        raise BadRequest("翻页参数无效，请回到第一页重新查询")
    return AuditQuery(
        action=get["action"],
        account=get["account"].lower()[:64],
        since=_day(get["since"], "开始日期") if get["since"] else None,
        until=_day(get["until"], "结束日期") + dt.timedelta(days=1) if get["until"] else None,
        before=int(get["before"]) if get["before"] else None,
    )


async def audit_rows(session: AsyncSession, query: AuditQuery) -> tuple[list[dict[str, Any]], int | None]:
    """One page of audit rows, newest first, and the `before` of the next page (None on the last)."""
    statement = select(AuditEvent)
    if query.action:
        statement = statement.where(AuditEvent.action == query.action)
    if query.account:
        statement = statement.where(AuditEvent.actor == query.account)
    if query.since is not None:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEvent.at < query.until)
    if query.before is not None:
        statement = statement.where(AuditEvent.id < query.before)
    found = list(await session.scalars(statement.order_by(AuditEvent.id.desc()).limit(query.limit + 1)))
    rows = [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "time": local_minute(e.at),
            "actor": e.actor,
            "action": e.action,
            "action_zh": ACTION_ZH.get(e.action, e.action),
            "target_kind": e.target_kind,
            "target_id": e.target_id,
            "field": e.field,
            "field_zh": FIELDS.get(e.field, e.field),
            "reason": e.reason,
            "address": e.address,
        }
        for e in found[: query.limit]
    ]
    return rows, found[query.limit - 1].id if len(found) > query.limit else None


class AuditPages:
    """The audit page and its JSON."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def page(self, request: Request) -> Response:
        """The audit log page (admin, auditor)."""
        caller = await page_caller(self.templates, request, ADMIN, AUDITOR)
        if isinstance(caller, Response):
            return caller
        params = dict(request.query_params)
        context: dict[str, Any] = {"params": params, "actions": ACTION_ZH, "rows": [], "next": None, "error": ""}
        status = 200
        try:
            async with request.app.state.sessions() as session:
                context["rows"], context["next"] = await audit_rows(session, audit_query(params))
        except BadRequest as exc:
            context["error"], status = str(exc), 400
        keep = {k: v for k, v in params.items() if k in ("action", "account", "since", "until") and v}
        context["filters"] = "&".join(f"{k}={v}" for k, v in keep.items())
        return self.templates.TemplateResponse(request, "audit.html", context, status_code=status)

    async def api(self, request: Request) -> Response:
        """`GET /console/api/audit` (admin, auditor): filters `action`, `account`, `since`, `until`; `before`."""
        caller = await require_api_caller(request)
        if not (caller.can(ADMIN) or caller.can(AUDITOR)):
            raise AuthError("admin or auditor required")
        async with request.app.state.sessions() as session:
            rows, before = await audit_rows(session, audit_query(request.query_params))
        return JSONResponse({"items": rows, "next_before": before}, headers={"Cache-Control": "no-store"})


def routes(templates: Jinja2Templates) -> list[BaseRoute]:
    """The audit routes."""
    pages = AuditPages(templates)
    return [
        Route("/console/audit", pages.page, methods=["GET"]),
        Route("/console/api/audit", pages.api, methods=["GET"]),
    ]
