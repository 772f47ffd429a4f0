"""The case page (/console/cases/{id}): facts masked with an audited reveal, evidence, bookings, tickets, rating.

Who may open a case is who may open its conversation (sharedcourt.web.scope): outside the caller's scope the page
answers 404, as if there were no such case. A reveal is the conversation page's (`review_common.reveal`): a reason,
never for auditors, written to the audit log.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from sharedcourt.db.case import Case
from sharedcourt.errors import AuthError, BadRequest, NotFound
from sharedcourt.review.transcript import FIELDS
from sharedcourt.staff.roles import Caller
from sharedcourt.web.review import error_page, form_caller, page_caller, reveal_posted
from sharedcourt.web.scope import can_see, visibility_of
from sharedcourt.web.workspace.case_view import case_page
from sharedcourt.web.workspace.pages import service_of

NO_CASE = "没有这个案件，或您无权查看"


class CasePages:
    """The case page and its reveal form."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def _page(self, request: Request, caller: Caller, revealed: dict[str, Any] | None = None) -> Response:
        case_id = int(request.path_params["case_id"])
        roster = service_of(request).roster
        async with request.app.state.sessions() as session:
            case = await session.get(Case, case_id)
            if case is None or not await can_see(session, await visibility_of(session, caller), case.conversation_id):
                return error_page(self.templates, request, NotFound(NO_CASE))
            context = await case_page(session, case, roster)
        context |= {
            "fields": FIELDS,
            "revealed": revealed,
            "may_reveal": any(g.role != "auditor" for g in caller.grants),
        }
        response = self.templates.TemplateResponse(request, "workspace/case.html", context)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def case(self, request: Request) -> Response:
        """GET: the case, masked."""
        caller = await page_caller(self.templates, request)
        if isinstance(caller, Response):
            return caller
        return await self._page(request, caller)

    async def reveal_form(self, request: Request) -> Response:
        """POST (CSRF, field, reason): the page again with that field's unmasked values; audited."""
        checked = await form_caller(self.templates, request)
        if isinstance(checked, Response):
            return checked
        caller, form = checked
        async with request.app.state.sessions() as session:
            case = await session.get(Case, int(request.path_params["case_id"]))
        if case is None:
            return error_page(self.templates, request, NotFound(NO_CASE))
        try:
            revealed = await reveal_posted(request, caller, case.conversation_id, form)
        except NotFound:
            return error_page(self.templates, request, NotFound(NO_CASE))
        except (AuthError, BadRequest) as exc:
            return error_page(self.templates, request, exc)
        return await self._page(request, caller, revealed)
