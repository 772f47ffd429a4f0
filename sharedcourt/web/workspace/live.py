"""The live conversation: server-sent events of a ticket's new messages and state, and its evidence files.

`GET …/tickets/{number}/events` streams `event: message` (id = the message id, data = the masked line as JSON)
and `event: state` (the ticket's state when it changes). The stream reads the database every `POLL_SECONDS`, so
every front door sees every message; a reconnecting browser sends `Last-Event-ID` and gets only what it missed.
A stream ends after `STREAM_SECONDS` (EventSource reconnects by itself), so no request is held for ever.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Message
from sharedcourt.db.ticket import Ticket
from sharedcourt.settings import ROOT, Settings
from sharedcourt.staff import audit
from sharedcourt.web.auth import client_address
from sharedcourt.web.workspace import views
from sharedcourt.web.workspace.access import OUT_OF_SCOPE, Desk
from sharedcourt.web.workspace.pages import WorkspacePages, page

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 300.0
NO_FILE = "这件证据没有保存文件（可能仍在下载，或已按保存期限删除）。"


def last_event_id(request: Request) -> int:
    """Where a stream resumes: the `Last-Event-ID` header (a reconnect), else `?after=`, else 0."""
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    return int(raw) if raw.isdigit() and len(raw) < 19 else 0


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    """One server-sent event."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _updates(request: Request, desk: Desk, ticket_id: int, after: int) -> AsyncIterator[str]:
    """New lines and state changes until the client leaves or the stream's time is up."""
    state: str | None = None
    started = quiet = time.monotonic()
    yield "retry: 2000\n\n"
    while time.monotonic() - started < STREAM_SECONDS and not await request.is_disconnected():
        async with request.app.state.sessions() as session:
            ticket = await session.get_one(Ticket, ticket_id)
            fresh = await views.lines(session, desk, ticket, after)
        for line in fresh:
            after = line["id"]
            yield sse("message", line, after)
        if ticket.state != state:
            state = ticket.state
            yield sse("state", {"state": state, "state_zh": views.STATE_ZH.get(state, state)})
        if fresh:
            quiet = time.monotonic()
        elif time.monotonic() - quiet > HEARTBEAT_SECONDS:
            quiet = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)


def evidence_dir(settings: Settings) -> Path:
    """Where evidence files are kept (the WeChat channel writes them there)."""
    return Path(settings.evidence_dir or ROOT / "var" / "evidence")


def stored_file(stored: str | None, root: Path) -> Path | None:
    """The evidence row's file if it exists inside the evidence folder (never a path outside it)."""
    if not stored:
        return None
    path = Path(stored).resolve()
    return path if path.is_relative_to(root.resolve()) and path.is_file() else None


class LivePages:
    """The event stream and the evidence files, behind the same desk and scope checks as the pages."""

    def __init__(self, pages: WorkspacePages) -> None:
        self.pages = pages

    async def events(self, request: Request) -> Response:
        """Server-sent events of one ticket's conversation."""
        desk = await self.pages.desk(request)
        if isinstance(desk, Response):
            return desk
        ticket = await self.pages.seen_ticket(request, desk)
        if isinstance(ticket, Response):
            return ticket
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        stream = _updates(request, desk, ticket.id, last_event_id(request))
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    async def evidence(self, request: Request) -> Response:
        """One evidence file, for a person who may see a ticket of its conversation; every opening audited."""
        desk = await self.pages.desk(request)
        if isinstance(desk, Response):
            return desk
        templates = self.pages.templates
        async with request.app.state.sessions() as session:
            evidence = await session.get(Evidence, int(request.path_params["evidence_id"]))
            conversation = None
            if evidence is not None and evidence.message_id is not None:
                conversation = await session.scalar(
                    select(Message.conversation_id).where(Message.id == evidence.message_id)
                )
            if evidence is not None and conversation is None and evidence.case_id is not None:
                conversation = await session.scalar(select(Case.conversation_id).where(Case.id == evidence.case_id))
            tickets = list(await session.scalars(select(Ticket).where(Ticket.conversation_id == conversation)))
        if evidence is None or conversation is None:
            return page(templates, request, "没有这件证据。", 404)
        if not any(desk.may_see(t) for t in tickets):
            return page(templates, request, OUT_OF_SCOPE, 403)
        path = await asyncio.to_thread(stored_file, evidence.path, evidence_dir(request.app.state.settings))
        if path is None:
            return page(templates, request, NO_FILE, 404)
        async with request.app.state.sessions() as session, session.begin():
            await audit.record(
                session,
                "evidence_view",
                caller=desk.caller,
                target_kind="evidence",
                target_id=str(evidence.id),
                address=client_address(request),
            )
        return FileResponse(path, headers={"Cache-Control": "no-store"})
