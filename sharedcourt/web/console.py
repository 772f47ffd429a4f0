"""Staff console: transcripts with personal data masked, and charts of what is happening."""

from __future__ import annotations

import datetime as dt
import hmac
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
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.domain.values import mask_personal_data
from sharedcourt.errors import AuthError, NotFound
from sharedcourt.settings import Settings
from sharedcourt.web.auth import COOKIE, cookie_value, require_staff

TEMPLATES = Path(__file__).resolve().parent / "templates"
CHINA = dt.timezone(dt.timedelta(hours=8))


def _local(ts: dt.datetime) -> str:
    return ts.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


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
    per_day = Counter(ts.astimezone(CHINA).date().isoformat() for ts in recent)
    day_list = [(now - dt.timedelta(days=i)).astimezone(CHINA).date().isoformat() for i in range(days - 1, -1, -1)]
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


def routes(settings: Settings) -> list[BaseRoute]:
    templates = Jinja2Templates(directory=str(TEMPLATES))

    async def login_form(request: Request) -> Response:
        return templates.TemplateResponse(request, "login.html", {"error": None})

    async def login(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token", ""))
        if not hmac.compare_digest(token.encode(), settings.staff_token.encode()):
            return templates.TemplateResponse(request, "login.html", {"error": "口令不正确"}, status_code=403)
        response = RedirectResponse("/console", status_code=303)
        response.set_cookie(COOKIE, cookie_value(settings), httponly=True, samesite="strict", max_age=12 * 3600)
        return response

    async def dashboard(request: Request) -> Response:
        try:
            require_staff(request)
        except AuthError:
            return RedirectResponse("/console/login", status_code=303)
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
        type_chart = bar_chart([(BY_CODE[k].label if k in BY_CODE else "未分类", v) for k, v in types])
        day_chart = bar_chart([(d[5:], v) for d, v in data["messages_per_day"].items()], bar=14)
        conversations = [
            {"id": c.id, "channel": c.channel, "mode": c.mode, "updated": _local(c.updated_at), "staff": r.is_staff}
            for c, r in rows
        ]
        context = {"stats": data, "type_chart": type_chart, "day_chart": day_chart, "conversations": conversations}
        return templates.TemplateResponse(request, "dashboard.html", context)

    async def transcript(request: Request) -> Response:
        try:
            require_staff(request)
        except AuthError:
            return RedirectResponse("/console/login", status_code=303)
        conversation_id = request.path_params["conversation_id"]
        async with request.app.state.sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound("没有这个会话")
            messages = await session.scalars(
                select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
            )
            cases = await session.scalars(select(Case).where(Case.conversation_id == conversation_id))
            lines = [
                {
                    "time": _local(m.created_at),
                    "direction": m.direction,
                    "author": {"resident": "居民", "bot": "机器人", "system": "系统"}.get(
                        m.author.split(":", 1)[0], "工作人员"
                    ),
                    "kind": m.kind,
                    "text": mask_personal_data(m.text),
                }
                for m in messages
            ]
            case_rows = [
                {
                    "number": c.number or f"#{c.id}",
                    "type": BY_CODE[c.dispute_code].label if c.dispute_code in BY_CODE else "未分类",
                    "status": c.status,
                    "urgent": c.urgent,
                    "facts": {k: mask_personal_data(str(v)) for k, v in c.facts.items()},
                }
                for c in cases
            ]
        context = {"conversation": conversation, "lines": lines, "cases": case_rows}
        return templates.TemplateResponse(request, "transcript.html", context)

    async def stats_api(request: Request) -> Response:
        require_staff(request)
        async with request.app.state.sessions() as session:
            return JSONResponse(await stats(session))

    return [
        Route("/console/login", login_form, methods=["GET"]),
        Route("/console/login", login, methods=["POST"]),
        Route("/console", dashboard, methods=["GET"]),
        Route("/console/conversations/{conversation_id}", transcript, methods=["GET"]),
        Route("/console/api/stats", stats_api, methods=["GET"]),
    ]
