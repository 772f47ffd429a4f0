"""The workspace's pages and forms: the inbox, one ticket, and accept / transfer / hand back / close / reply.

Every action calls the same `HandoffService` methods the DingTalk channel calls (acceptance is its conditional
`UPDATE … RETURNING`), so a ticket taken on one channel is taken everywhere. Each form carries the session's CSRF
token; each route needs a mediator, judge or dispatcher grant (or admin) and refuses tickets outside the scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from sharedcourt.db.ticket import OUTCOMES, Ticket
from sharedcourt.handoff.core import Outcome
from sharedcourt.handoff.service import HandoffService
from sharedcourt.staff import audit
from sharedcourt.web.auth import client_address, csrf_ok, require_caller
from sharedcourt.web.console_login import refused_page
from sharedcourt.web.workspace import views
from sharedcourt.web.workspace.access import DESK_ROLES, NOT_ON_ROSTER, OUT_OF_SCOPE, Desk

NO_DESK_ROLE = "工作台仅供调解员、法官和指挥中心调度使用。"
NO_TICKET = "没有这张工单。"
MAX_REPLY = 2000
MAX_NOTE = 500
TRANSFER_POSTS = {"法官": "结对法官", "指挥中心": "指挥中心"}
Action = Callable[[HandoffService, str, str, FormData], Awaitable[Outcome]]


def service_of(request: Request) -> HandoffService:
    """The app's one handoff service (the one DingTalk's callback uses)."""
    service: HandoffService = request.app.state.handoff.service
    return service


def page(templates: Jinja2Templates, request: Request, message: str, status: int) -> Response:
    """A Chinese page saying why nothing was done."""
    return templates.TemplateResponse(request, "refused.html", {"message": message}, status_code=status)


class BadForm(ValueError):
    """A form field the workspace cannot accept; its text is shown to the person."""


def _text(form: FormData, key: str, limit: int, what: str) -> str:
    value = str(form.get(key) or "").strip()
    if not value:
        raise BadForm(f"请填写{what}。")
    if len(value) > limit:
        raise BadForm(f"{what}不能超过 {limit} 字。")
    return value


async def _accept(service: HandoffService, number: str, key: str, form: FormData) -> Outcome:
    return await service.accept(number, key)


async def _transfer(service: HandoffService, number: str, key: str, form: FormData) -> Outcome:
    target = str(form.get("to") or "")
    if target not in TRANSFER_POSTS and service.roster.by_id.get(target) is None:
        raise BadForm("请选择转交对象：同事、结对法官或指挥中心。")
    return await service.transfer(number, key, target)


async def _hand_back(service: HandoffService, number: str, key: str, form: FormData) -> Outcome:
    return await service.hand_back(number, key)


async def _close(service: HandoffService, number: str, key: str, form: FormData) -> Outcome:
    outcome = str(form.get("outcome") or "")
    if outcome not in OUTCOMES:
        raise BadForm(f"请选择结果：{'、'.join(OUTCOMES)}。")
    note = str(form.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        raise BadForm(f"备注不能超过 {MAX_NOTE} 字。")
    return await service.close(number, key, outcome, note)


async def _reply(service: HandoffService, number: str, key: str, form: FormData) -> Outcome:
    return await service.reply_to_resident(number, key, _text(form, "text", MAX_REPLY, "回复内容"))


ACTIONS: dict[str, Action] = {
    "accept": _accept,
    "transfer": _transfer,
    "handback": _hand_back,
    "close": _close,
    "reply": _reply,
}


async def ticket_by_number(session: AsyncSession, number: str) -> Ticket | None:
    """The ticket with this number (case-insensitive), or None."""
    ticket: Ticket | None = await session.scalar(select(Ticket).where(Ticket.number == number.upper()[:32]))
    return ticket


class WorkspacePages:
    """The workspace's HTTP handlers; built once per app."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def desk(self, request: Request) -> Desk | Response:
        """The signed-in person's desk; a redirect to sign-in, or a 403 page without a desk role."""
        try:
            caller = await require_caller(request)
        except Exception:  # noqa: BLE001 - any failed session check means: sign in again
            return RedirectResponse("/console/login", status_code=303)
        if not any(caller.can(role) for role in DESK_ROLES):
            return page(self.templates, request, NO_DESK_ROLE, 403)
        async with request.app.state.sessions() as session:
            return await Desk.of(session, caller, service_of(request).roster)

    async def seen_ticket(self, request: Request, desk: Desk) -> Ticket | Response:
        """The path's ticket if this desk may see it; a 404 or 403 page otherwise."""
        async with request.app.state.sessions() as session:
            ticket = await ticket_by_number(session, str(request.path_params["number"]))
        if ticket is None:
            return page(self.templates, request, NO_TICKET, 404)
        if not desk.may_see(ticket):
            return page(self.templates, request, OUT_OF_SCOPE, 403)
        return ticket

    async def inbox(self, request: Request) -> Response:
        """The tickets this person may take or holds, with countdowns, routing reasons and masked summaries."""
        desk = await self.desk(request)
        if isinstance(desk, Response):
            return desk
        service = service_of(request)
        async with request.app.state.sessions() as session:
            rows = await views.inbox(session, desk, service.clock())
        context = {
            "rows": rows,
            "on_roster": bool(desk.keys),
            "not_on_roster": NOT_ON_ROSTER,
            "notice": request.query_params.get("done", "")[:200],
        }
        return self.templates.TemplateResponse(request, "workspace/inbox.html", context)

    async def ticket(self, request: Request) -> Response:
        """One ticket: its facts, the live conversation, the actions this person may take now."""
        desk = await self.desk(request)
        if isinstance(desk, Response):
            return desk
        ticket = await self.seen_ticket(request, desk)
        if isinstance(ticket, Response):
            return ticket
        service = service_of(request)
        async with request.app.state.sessions() as session:
            lines = await views.lines(session, desk, ticket)
        me = desk.acting_key(ticket)
        context: dict[str, Any] = {
            "t": views.ticket_row(ticket, desk, service.clock()),
            "lines": lines,
            "last_id": lines[-1]["id"] if lines else 0,
            "me": me,
            "colleagues": desk.colleagues(ticket, me),
            "posts": TRANSFER_POSTS,
            "outcomes": OUTCOMES,
            "notice": request.query_params.get("done", "")[:200],
            "not_on_roster": NOT_ON_ROSTER,
        }
        return self.templates.TemplateResponse(request, "workspace/ticket.html", context)

    async def act(self, request: Request) -> Response:
        """accept / transfer / handback / close / reply through the handoff core; audited."""
        await request.body()  # read whole whatever its type, so an oversized body is a 413 like on every route
        form = await request.form()
        if not csrf_ok(request, form):  # no session, a dead one or a forged form: 403 before anything else
            return refused_page(self.templates, request)
        desk = await self.desk(request)
        if isinstance(desk, Response):
            return desk
        action = ACTIONS.get(str(request.path_params["verb"]))
        if action is None:
            return page(self.templates, request, "没有这个操作。", 404)
        ticket = await self.seen_ticket(request, desk)
        if isinstance(ticket, Response):
            return ticket
        key = desk.acting_key(ticket)
        if key is None:
            return page(self.templates, request, NOT_ON_ROSTER, 403)
        number, verb = str(ticket.number), str(request.path_params["verb"])
        try:
            outcome = await action(service_of(request), number, key, form)
        except BadForm as exc:
            return page(self.templates, request, str(exc), 400)
        async with request.app.state.sessions() as session, session.begin():
            reason = f"{key}: {outcome.text[:200]}" if outcome.ok else f"refused: {outcome.text[:200]}"
            await audit.record(
                session,
                f"workspace_{verb}",
                caller=desk.caller,
                target_kind="ticket",
                target_id=number,
                reason=reason,
                address=client_address(request),
            )
        if not outcome.ok:
            return page(self.templates, request, outcome.text, 409)
        target = (
            "/console/workspace"
            if verb in ("transfer", "handback", "close")
            else f"/console/workspace/tickets/{number}"
        )
        done = "" if verb == "reply" else f"?done={quote(outcome.text.splitlines()[0] if outcome.text else '')}"
        return RedirectResponse(target + done, status_code=303)
