"""The handoff's HTTP API (Bearer STAFF_TOKEN: the action server's; no console session) and the transcript page
linked from staff cards (a signed, expiring link per person; every opening logged, personal data masked)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from sharedcourt.domain.clock import local
from sharedcourt.errors import AuthError, BadRequest
from sharedcourt.handoff.core import HandoffRequest, Outcome, as_number
from sharedcourt.handoff.links import LinkQuery, open_transcript
from sharedcourt.handoff.notify import StoredNotifier
from sharedcourt.handoff.service import HandoffService
from sharedcourt.handoff.texts import TRANSCRIPT_AUTHORS
from sharedcourt.web.auth import require_staff
from sharedcourt.web.payload import json_object

TEMPLATES = Path(__file__).resolve().parent / "templates"
log = logging.getLogger(__name__)
NO_STORE = {"Cache-Control": "no-store"}  # a transcript never stays in a shared or browser cache


def _service(request: Request) -> HandoffService:
    service: HandoffService = request.app.state.handoff.service
    return service


def _staff_service(request: Request) -> HandoffService:
    require_staff(request)
    return _service(request)


def _out(outcome: Outcome) -> Response:
    return JSONResponse({"ok": outcome.ok, "text": outcome.text, "ticket": outcome.number, "state": outcome.state})


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key} must be a non-empty string")
    return value


def _score(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        raise BadRequest("score must be 1-5") from None


async def post_request(request: Request) -> Response:
    """A resident asks for a person (the action server calls this)."""
    service = _staff_service(request)
    data = await json_object(request)
    req = HandoffRequest(
        conversation_id=_str(data, "conversation_id"),
        reason=str(data.get("reason") or "asked"),
        dispute_code=data.get("dispute_code") or None,
        site_code=data.get("site_code") or None,
        amount=as_number(data.get("amount")),
        urgent=bool(data.get("urgent")),
        litigation=bool(data.get("litigation")),
        legal_question=bool(data.get("legal_question")),
        summary=str(data.get("summary") or ""),
    )
    return _out(await service.request(req))


async def post_cancel(request: Request) -> Response:
    """The resident says '结束人工' while the bot answers."""
    service = _staff_service(request)
    data = await json_object(request)
    return _out(await service.end_by_resident(_str(data, "conversation_id")))


async def post_rating(request: Request) -> Response:
    """A 1-5 score and/or a comment for the last closed ticket."""
    service = _staff_service(request)
    data = await json_object(request)
    score = _score(data.get("score"))
    comment = data.get("comment")
    return _out(await service.rate(_str(data, "conversation_id"), score, comment if isinstance(comment, str) else None))


async def post_status(request: Request) -> Response:
    """'我的案件' in words."""
    service = _staff_service(request)
    # POST with a body: a resident's conversation id never rides in a URL (proxies and access logs keep those).
    conversation_id = _str(await json_object(request), "conversation_id")
    return _out(await service.status(conversation_id))


async def post_staff_command(request: Request) -> Response:
    """A console (or the demo) speaks for a person on the roster: same commands as DingTalk."""
    service = _staff_service(request)
    data = await json_object(request)
    return _out(await service.staff_says(_str(data, "staff"), _str(data, "text")))


async def get_inbox(request: Request) -> Response:
    """The stored inbox: what people would have received in DingTalk (kept in the database)."""
    require_staff(request)
    notifier = request.app.state.handoff.notifier
    staff = request.query_params.get("staff")
    messages = await notifier.messages(staff) if isinstance(notifier, StoredNotifier) else []
    items = [
        {"staff": who, "title": card.title, "text": card.text, "buttons": [list(b) for b in card.buttons]}
        for who, card in messages
    ]
    return JSONResponse({"messages": items})


def routes() -> list[Route]:
    """The handoff API and the transcript page."""
    templates = Jinja2Templates(directory=str(TEMPLATES))

    async def get_transcript(request: Request) -> Response:
        """The conversation behind a ticket, masked, for the person whose signed link this is; 403 page otherwise."""
        service, params = _service(request), request.query_params
        number = request.path_params["number"]
        link = LinkQuery(params.get("staff", ""), params.get("expires", ""), params.get("sig", ""))
        try:
            opened = await open_transcript(
                service.sessions,
                service.links,
                number,
                link,
                now=service.clock(),
                on_roster=service.roster.by_id.get(link.staff) is not None,
                address=request.client.host if request.client else None,
            )
        except AuthError as exc:
            log.warning("transcript link for %s refused: %s", number[:16], exc)
            return templates.TemplateResponse(
                request, "handoff_transcript.html", {"refused": True}, status_code=403, headers=NO_STORE
            )
        rows = [
            {
                "time": f"{local(m.created_at):%m-%d %H:%M}",
                "who": TRANSCRIPT_AUTHORS.get(m.author.split(":")[0], "工作人员"),
                "text": text,
            }
            for m, text in zip(opened.messages, opened.texts, strict=True)
        ]
        ticket = opened.ticket
        context = {"number": ticket.number, "site_name": ticket.site_name, "rows": rows, "refused": False}
        return templates.TemplateResponse(request, "handoff_transcript.html", context, headers=NO_STORE)

    return [
        Route("/handoff/requests", post_request, methods=["POST"]),
        Route("/handoff/cancel", post_cancel, methods=["POST"]),
        Route("/handoff/ratings", post_rating, methods=["POST"]),
        Route("/handoff/status", post_status, methods=["POST"]),
        Route("/handoff/staff/command", post_staff_command, methods=["POST"]),
        Route("/handoff/staff/inbox", get_inbox, methods=["GET"]),
        Route("/handoff/tickets/{number}/transcript", get_transcript, methods=["GET"]),
    ]
