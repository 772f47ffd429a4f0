"""普法 entries in the console (issue 15): admins list, search, edit and add entries (stored as edits over the
shipped YAML, picked up by every front door within FAQ_REFRESH_SECONDS); admins and auditors see the questions
the assistant could not answer, and admins mark them covered by an entry. Every form carries the CSRF token and
every change is audited (who, when, which entry)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.domain.clock import local
from sharedcourt.domain.disputes import BY_CODE, DISPUTE_TYPES
from sharedcourt.errors import BadRequest, NotFound
from sharedcourt.faq import unanswered
from sharedcourt.faq.edits import Draft, draft_from_form, draft_of, save, stored, today_in_china, validate
from sharedcourt.faq.entries import Entry
from sharedcourt.faq.live import merged_entries
from sharedcourt.staff import audit
from sharedcourt.staff.roles import ADMIN, AUDITOR
from sharedcourt.web.auth import client_address
from sharedcourt.web.review import form_caller, page_caller

TYPES = {t.code: t.label for t in DISPUTE_TYPES}
SHOWN = 300


def _matches(entry: Entry, q: str, dispute: str) -> bool:
    if dispute and entry.dispute != dispute:
        return False
    haystack = " ".join((entry.id, *entry.questions, *entry.paragraphs, *entry.sources))
    return not q or q in haystack


async def _rows(session: AsyncSession, q: str, dispute: str) -> tuple[list[dict[str, Any]], int]:
    edits = {row.entry_id: row for row in await stored(session)}
    entries = await merged_entries(session)
    found = [e for e in entries if _matches(e, q, dispute)]
    rows = []
    for entry in found[:SHOWN]:
        edit = edits.get(entry.id)
        rows.append(
            {
                "id": entry.id,
                "type": TYPES.get(entry.dispute, entry.dispute),
                "question": entry.questions[0],
                "checked": entry.checked.isoformat(),
                "origin": f"控制台（{edit.updated_by}，{local(edit.updated_at):%Y-%m-%d %H:%M}）"
                if edit
                else "数据文件",
            }
        )
    return rows, len(found)


class FaqPages:
    """The entries' list and edit form, and the unanswered questions."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def list(self, request: Request) -> Response:
        """Entries filtered by dispute type and words, with a link to edit each and to add one."""
        caller = await page_caller(self.templates, request, ADMIN)
        if isinstance(caller, Response):
            return caller
        q = request.query_params.get("q", "").strip()[:100]
        dispute = request.query_params.get("dispute", "")
        dispute = dispute if dispute in BY_CODE else ""
        async with request.app.state.sessions() as session:
            rows, total = await _rows(session, q, dispute)
        context = {"rows": rows, "total": total, "q": q, "dispute": dispute, "types": TYPES}
        return self.templates.TemplateResponse(request, "faq_list.html", context)

    async def _edit_page(
        self, request: Request, draft: Draft, *, new: bool, status: int = 200, notice: str = ""
    ) -> Response:
        context = {"draft": draft, "new": new, "types": TYPES, "notice": notice, "today": today_in_china().isoformat()}
        return self.templates.TemplateResponse(request, "faq_edit.html", context, status_code=status)

    async def edit_form(self, request: Request) -> Response:
        """The form for one entry (`?id=`), or an empty one for a new entry."""
        caller = await page_caller(self.templates, request, ADMIN)
        if isinstance(caller, Response):
            return caller
        entry_id = request.query_params.get("id", "")
        if not entry_id:
            return await self._edit_page(request, Draft(dispute=request.query_params.get("dispute", "")), new=True)
        async with request.app.state.sessions() as session:
            entry = next((e for e in await merged_entries(session) if e.id == entry_id), None)
        if entry is None:
            return await self._edit_page(request, Draft(errors=["没有这个条目"]), new=True, status=404)
        return await self._edit_page(request, draft_of(entry), new=False)

    async def save(self, request: Request) -> Response:
        """Check and store an edited or new entry; on a refusal the form comes back as typed, with the reasons."""
        checked = await form_caller(self.templates, request, ADMIN)
        if isinstance(checked, Response):
            return checked
        caller, form = checked
        draft, new = draft_from_form(form), form.get("mode") == "new"
        async with request.app.state.sessions() as session, session.begin():
            ids = {e.id for e in await merged_entries(session)}
            entry = validate(draft, today_in_china(), new=new, taken=ids)
            if entry is not None and not new and entry.id not in ids:
                draft.errors = ["没有这个条目，请用“新增条目”添加"]
                entry = None
            if entry is None:
                return await self._edit_page(request, draft, new=new, status=400)
            await save(session, entry, caller.username)
            action = "faq_entry_added" if new else "faq_entry_edited"
            await audit.record(
                session,
                action,
                caller=caller,
                target_kind="faq_entry",
                target_id=entry.id,
                field=entry.dispute,
                address=client_address(request),
            )
        notice = f"已保存条目 {entry.id}，各前门将在 {request.app.state.settings.faq_refresh_seconds:g} 秒内使用新内容"
        return await self._edit_page(request, draft_of(entry), new=False, notice=notice)

    async def unanswered_page(self, request: Request, status: int = 200, **context: Any) -> Response:
        """The open questions, grouped, most asked (or newest) first."""
        caller = await page_caller(self.templates, request, ADMIN, AUDITOR)
        if isinstance(caller, Response):
            return caller
        order = "newest" if request.query_params.get("order") == "newest" else "frequent"
        dispute = request.query_params.get("dispute", "")
        dispute = dispute if dispute in BY_CODE else ""
        async with request.app.state.sessions() as session:
            groups = await unanswered.open_groups(session, order, dispute)
        page = {
            "groups": groups,
            "order": order,
            "dispute": dispute,
            "types": TYPES,
            "reasons": unanswered.REASON_ZH,
            "local": local,
            "notice": "",
            "error": "",
            "can_cover": caller.is_admin,
        }
        page.update(context)
        return self.templates.TemplateResponse(request, "faq_unanswered.html", page, status_code=status)

    async def cover(self, request: Request) -> Response:
        """Mark a group of questions as covered by an entry (admin)."""
        checked = await form_caller(self.templates, request, ADMIN)
        if isinstance(checked, Response):
            return checked
        caller, form = checked
        entry_id = str(form.get("entry_id", "")).strip()
        ids = [int(str(v)) for v in form.getlist("question") if str(v).isdigit()]
        try:
            async with request.app.state.sessions() as session, session.begin():
                if entry_id not in {e.id for e in await merged_entries(session)}:
                    raise BadRequest(f"没有编号为“{entry_id}”的条目")
                rows = await unanswered.cover(session, ids, entry_id, caller.username)
                await audit.record(
                    session,
                    "faq_question_covered",
                    caller=caller,
                    target_kind="faq_entry",
                    target_id=entry_id,
                    field=",".join(str(r.id) for r in rows),
                )
        except (BadRequest, NotFound) as exc:  # the page is shown after the transaction ended
            return await self.unanswered_page(request, 404 if isinstance(exc, NotFound) else 400, error=str(exc))
        return await self.unanswered_page(request, notice=f"已将 {len(rows)} 个问题标记为由条目 {entry_id} 解答")


def routes(templates: Jinja2Templates) -> list[BaseRoute]:
    """The 普法 console routes."""
    pages = FaqPages(templates)
    return [
        Route("/console/faq", pages.list, methods=["GET"]),
        Route("/console/faq", pages.save, methods=["POST"]),
        Route("/console/faq/edit", pages.edit_form, methods=["GET"]),
        Route("/console/faq/unanswered", pages.unanswered_page, methods=["GET"]),
        Route("/console/faq/unanswered/covered", pages.cover, methods=["POST"]),
    ]
