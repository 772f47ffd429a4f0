"""Staff console: transcripts with personal data masked, and charts of what is happening (signed-in accounts)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.db.base import utcnow
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.domain.clock import local, local_minute
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.domain.values.masking import known_names, mask_facts, mask_text
from sharedcourt.errors import AuthError, NotFound
from sharedcourt.settings import Settings
from sharedcourt.staff.roles import ROLES, Caller
from sharedcourt.web.auth import require_caller, require_role
from sharedcourt.web.console_login import LoginPages, console_context, refused_page

TEMPLATES = Path(__file__).resolve().parent / "templates"
AUTHORS = {"resident": "居民", "bot": "机器人", "system": "系统"}
UNCLASSIFIED = "未分类"


def bar_chart(data: list[tuple[str, int]], *, width: int = 560, bar: int = 22) -> dict[str, Any]:
    """Geometry for a horizontal SVG bar chart (rendered by the template, no JS)."""
    top = max((v for _, v in data), default=0) or 1
    label_w = 150
    rows = [
        {"label": label, "value": value, "y": i * (bar + 8), "w": round((width - label_w - 50) * value / top)}
        for i, (label, value) in enumerate(data)
    ]
    return {"rows": rows, "height": max(len(rows) * (bar + 8), bar), "width": width, "label_w": label_w, "bar": bar}


async def stats(session: AsyncSession, now: dt.datetime | None = None, days: int = 14) -> dict[str, Any]:
    """Counts for the dashboard and its JSON API."""
    now = now or utcnow()
    since = now - dt.timedelta(days=days)
    by_type = dict(
        (await session.execute(select(Case.dispute_code, func.count()).group_by(Case.dispute_code))).tuples().all()
    )
    by_status = dict((await session.execute(select(Case.status, func.count()).group_by(Case.status))).tuples().all())
    urgent = await session.scalar(select(func.count()).select_from(Case).where(Case.urgent.is_(True))) or 0
    recent = await session.scalars(
        select(Message.created_at).where(Message.direction == "in", Message.created_at >= since)
    )
    per_day = Counter(local(ts).date().isoformat() for ts in recent)
    day_list = [local(now - dt.timedelta(days=i)).date().isoformat() for i in range(days - 1, -1, -1)]
    conversations = await session.scalar(select(func.count()).select_from(Conversation)) or 0
    human = await session.scalar(select(func.count()).select_from(Conversation).where(Conversation.mode == "human"))
    pending = await session.scalar(select(func.count()).select_from(Message).where(Message.status == "pending"))
    return {
        "conversations": conversations,
        "in_human_hands": human or 0,
        "pending_messages": pending or 0,
        "urgent_cases": urgent,
        "cases_by_type": {str(k or "unknown"): v for k, v in by_type.items()},
        "cases_by_status": {str(k): v for k, v in by_status.items()},
        "messages_per_day": {d: per_day.get(d, 0) for d in day_list},
    }


def _type_label(code: str | None) -> str:
    return BY_CODE[code].label if code in BY_CODE else UNCLASSIFIED


def _line(message: Message, names: list[str]) -> dict[str, Any]:
    """One transcript line as staff read it: local time, who, and the text with personal data masked."""
    return {
        "time": local_minute(message.created_at),
        "direction": message.direction,
        "author": AUTHORS.get(message.author.split(":", 1)[0], "工作人员"),
        "kind": message.kind,
        "text": mask_text(message.text, names),
    }


def _case_row(case: Case, names: list[str]) -> dict[str, Any]:
    return {
        "number": case.number or f"#{case.id}",
        "type": _type_label(case.dispute_code),
        "status": case.status,
        "urgent": case.urgent,
        "facts": mask_facts(case.facts, names),
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
        """Counts, two charts and the latest conversations."""
        caller = await self._caller(request)
        if isinstance(caller, Response):
            return caller
        async with request.app.state.sessions() as session:
            data = await stats(session)
            rows = (
                await session.execute(
                    select(Conversation, Resident)
                    .join(Resident, Resident.id == Conversation.resident_id)
                    .order_by(Conversation.updated_at.desc())
                    .limit(50)
                )
            ).all()
        types = sorted(data["cases_by_type"].items(), key=lambda kv: -kv[1])
        type_chart = bar_chart([(_type_label(k), v) for k, v in types])
        day_chart = bar_chart([(d[5:], v) for d, v in data["messages_per_day"].items()], bar=14)
        conversations = [
            {
                "id": c.id,
                "channel": c.channel,
                "mode": c.mode,
                "updated": local_minute(c.updated_at),
                "staff": r.is_staff,
            }
            for c, r in rows
        ]
        context = {"stats": data, "type_chart": type_chart, "day_chart": day_chart, "conversations": conversations}
        return self.templates.TemplateResponse(request, "dashboard.html", context)

    async def transcript(self, request: Request) -> Response:
        """One conversation's messages and cases, personal data masked."""
        caller = await self._caller(request)
        if isinstance(caller, Response):
            return caller
        conversation_id = request.path_params["conversation_id"]
        async with request.app.state.sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound("没有这个会话")
            messages = await session.scalars(
                select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
            )
            cases = list(await session.scalars(select(Case).where(Case.conversation_id == conversation_id)))
            resident = await session.get(Resident, conversation.resident_id)
            names = [n for c in cases for n in known_names(c.facts)] + known_names({}, resident and resident.name)
            lines = [_line(m, names) for m in messages]
            case_rows = [_case_row(c, names) for c in cases]
        context = {"conversation": conversation, "lines": lines, "cases": case_rows}
        return self.templates.TemplateResponse(request, "transcript.html", context)

    async def stats_api(self, request: Request) -> Response:
        """The dashboard's counts as JSON (a signed-in account holding some role)."""
        await require_role(request, *ROLES)
        async with request.app.state.sessions() as session:
            return JSONResponse(await stats(session))


def routes(settings: Settings) -> list[BaseRoute]:
    """The console's routes: sign-in and sign-out, dashboard, transcripts and the stats API."""
    pages = ConsolePages(settings)
    return [
        Route("/console/login", pages.login.login_form, methods=["GET"]),
        Route("/console/login", pages.login.login, methods=["POST"]),
        Route("/console/logout", pages.login.logout, methods=["POST"]),
        Route("/console", pages.dashboard, methods=["GET"]),
        Route("/console/conversations/{conversation_id}", pages.transcript, methods=["GET"]),
        Route("/console/api/stats", pages.stats_api, methods=["GET"]),
    ]
