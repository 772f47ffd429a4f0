"""Transcript review pages: the searchable list, one conversation (masked), a reveal with a reason, evidence files.

Every handler checks the caller's scope (sharedcourt.web.scope); evidence is served by this route after that
check, never from a static path.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Message
from sharedcourt.db.ticket import OUTCOMES
from sharedcourt.domain.disputes import DISPUTE_TYPES
from sharedcourt.errors import AuthError, BadRequest, NotFound
from sharedcourt.review.transcript import FIELDS
from sharedcourt.settings import ROOT, Settings
from sharedcourt.staff.roles import ROLES, Caller
from sharedcourt.web.auth import client_address, csrf_ok, require_caller
from sharedcourt.web.console_login import refused_page
from sharedcourt.web.review_common import (
    CHANNELS,
    FILTERS,
    NOT_FOUND,
    query_from,
    reveal,
    search_rows,
    visible_transcript,
)

log = logging.getLogger(__name__)
NO_ROLE = "您的账号尚未分配角色，请联系管理员。"
NO_FILE = "该证据文件未保存在本系统"


def error_page(templates: Jinja2Templates, request: Request, exc: Exception) -> Response:
    """A Chinese page for a refused or bad request: 400, 403 or 404 (never data)."""
    status = 403 if isinstance(exc, AuthError) else 404 if isinstance(exc, NotFound) else 400
    if isinstance(exc, AuthError):
        message = str(exc) if any("\u4e00" <= ch <= "\u9fff" for ch in str(exc)) else "您无权执行此操作"
    else:
        message = str(exc)
    return templates.TemplateResponse(request, "refused.html", {"message": message}, status_code=status)


async def page_caller(templates: Jinja2Templates, request: Request, *roles: str) -> Caller | Response:
    """The signed-in person holding one of ``roles`` (any role when none given); a redirect or a 403 page else."""
    try:
        caller = await require_caller(request)
    except AuthError:
        return RedirectResponse("/console/login", status_code=303)
    if not any(caller.can(role) for role in roles or ROLES):
        return refused_page(templates, request, NO_ROLE if not roles else "您的角色无权查看此页面")
    return caller


async def form_caller(templates: Jinja2Templates, request: Request, *roles: str) -> tuple[Caller, FormData] | Response:
    """A form posted with this session's CSRF token by a person holding one of ``roles`` (any role when none given);
    a 403 page, or the sign-in redirect, otherwise."""
    await request.body()  # read whole whatever its type, so an oversized body is a 413 like on every route
    form = await request.form()
    if not csrf_ok(request, form):
        return refused_page(templates, request)
    caller = await page_caller(templates, request, *roles)
    if isinstance(caller, Response):
        return caller
    return caller, form


async def reveal_posted(request: Request, caller: Caller, conversation_id: str, form: FormData) -> dict[str, Any]:
    """The reveal form's field unmasked for its reason, audited in its own unit of work: what a page shows."""
    field, reason = str(form.get("field", "")), str(form.get("reason", ""))
    async with request.app.state.sessions() as session, session.begin():
        values = await reveal(session, caller, conversation_id, field, reason, client_address(request))
    return {"field": FIELDS[field], "values": values, "reason": reason.strip()}


def _stored_file(stored: str, evidence_dir: Path) -> Path:
    """The evidence file on disk, only inside the evidence directory; NotFound when it is not there."""
    path = Path(stored).resolve()
    if not path.is_relative_to(evidence_dir) or not path.is_file():
        raise NotFound(NO_FILE)
    return path


class ReviewPages:
    """The review pages' handlers."""

    def __init__(self, settings: Settings, templates: Jinja2Templates) -> None:
        self.settings = settings
        self.templates = templates
        self.evidence_dir = Path(settings.evidence_dir or ROOT / "var" / "evidence").resolve()

    async def conversations(self, request: Request) -> Response:
        """The list: search box, filters, newest first, cursor paging, each row masked."""
        caller = await page_caller(self.templates, request)
        if isinstance(caller, Response):
            return caller
        params = dict(request.query_params)
        context: dict[str, Any] = {
            "params": {name: params.get(name, "") for name in FILTERS},
            "types": DISPUTE_TYPES,
            "channels": CHANNELS,
            "outcomes": OUTCOMES,
            "rows": [],
            "next": "",
            "error": "",
            "first_page": not params.get("cursor"),
        }
        status = 200
        try:
            query = query_from(params)
            async with request.app.state.sessions() as session:
                context["rows"], context["next"] = await search_rows(session, caller, query)
        except BadRequest as exc:
            context["error"], status = str(exc), 400
        filters = "&".join(f"{k}={v}" for k, v in context["params"].items() if v)
        context["filters"] = filters
        return self.templates.TemplateResponse(request, "conversations.html", context, status_code=status)

    async def _transcript_page(
        self, request: Request, caller: Caller, revealed: dict[str, Any] | None = None, status: int = 200
    ) -> Response:
        conversation_id = request.path_params["conversation_id"]
        try:
            async with request.app.state.sessions() as session:
                view = await visible_transcript(session, caller, conversation_id)
        except NotFound as exc:
            return error_page(self.templates, request, exc)
        context = {
            "conversation": view.conversation,
            "timeline": view.timeline(),
            "cases": view.cases,
            "evidence": view.evidence,
            "fields": FIELDS,
            "revealed": revealed,
            "may_reveal": any(g.role != "auditor" for g in caller.grants),
        }
        return self.templates.TemplateResponse(request, "transcript.html", context, status_code=status)

    async def transcript(self, request: Request) -> Response:
        """One conversation: every message with its author, the events between them, facts and evidence, masked."""
        caller = await page_caller(self.templates, request)
        if isinstance(caller, Response):
            return caller
        return await self._transcript_page(request, caller)

    async def reveal_form(self, request: Request) -> Response:
        """The reveal form (CSRF, field, reason): the page again with the unmasked values, audited."""
        checked = await form_caller(self.templates, request)
        if isinstance(checked, Response):
            return checked
        caller, form = checked
        try:
            revealed = await reveal_posted(request, caller, request.path_params["conversation_id"], form)
        except (AuthError, BadRequest, NotFound) as exc:
            return error_page(self.templates, request, exc)
        response = await self._transcript_page(request, caller, revealed)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def evidence(self, request: Request) -> Response:
        """One evidence file of a conversation the caller may see (404 otherwise); never a static path."""
        caller = await page_caller(self.templates, request)
        if isinstance(caller, Response):
            return caller
        conversation_id = request.path_params["conversation_id"]
        evidence_id = request.path_params["evidence_id"]
        try:
            async with request.app.state.sessions() as session:
                await visible_transcript(session, caller, conversation_id)
                row = await session.get(Evidence, evidence_id)
                owners = set()
                if row is not None and row.case_id is not None:
                    owners.add(await session.scalar(select(Case.conversation_id).where(Case.id == row.case_id)))
                if row is not None and row.message_id is not None:
                    owners.add(
                        await session.scalar(select(Message.conversation_id).where(Message.id == row.message_id))
                    )
            if row is None or conversation_id not in owners:
                raise NotFound(NOT_FOUND)
            if not row.path:
                raise NotFound(NO_FILE)
            path = await asyncio.to_thread(_stored_file, row.path, self.evidence_dir)
        except NotFound as exc:
            return error_page(self.templates, request, exc)
        return FileResponse(path, headers={"Cache-Control": "private, no-store"})


def routes(settings: Settings, templates: Jinja2Templates) -> list[BaseRoute]:
    """The review pages' routes."""
    pages = ReviewPages(settings, templates)
    base = "/console/conversations"
    return [
        Route(base, pages.conversations, methods=["GET"]),
        Route(base + "/{conversation_id}", pages.transcript, methods=["GET"]),
        Route(base + "/{conversation_id}/reveal", pages.reveal_form, methods=["POST"]),
        Route(base + "/{conversation_id}/evidence/{evidence_id:int}", pages.evidence, methods=["GET"]),
    ]
