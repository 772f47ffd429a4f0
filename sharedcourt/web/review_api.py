"""The review JSON API and the exports, by console session or per-account API token (`Bearer sc_…`).

GET needs no CSRF token; the reveal POST does when it comes with a session (header `X-CSRF-Token` or a `csrf`
field), not with an API token. Exports (CSV, XLSX) are masked and each one is audited with its filters.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sharedcourt.db.base import utcnow
from sharedcourt.errors import AuthError, BadRequest
from sharedcourt.review.export import CSV_TYPE, FORMATS, XLSX_TYPE, to_csv, to_xlsx
from sharedcourt.review.listing import COLUMNS
from sharedcourt.staff import audit
from sharedcourt.staff.roles import ROLES, Caller
from sharedcourt.web.auth import client_address, csrf_matches_header, require_api_caller
from sharedcourt.web.review_common import (
    TRANSCRIPT_COLUMNS,
    export_rows,
    filter_summary,
    query_from,
    reveal,
    search_rows,
    transcript_rows,
    visible_transcript,
)

NO_STORE = {"Cache-Control": "no-store"}


async def api_caller(request: Request) -> Caller:
    """The API's caller (session or token), who must hold some role."""
    caller = await require_api_caller(request)
    if not any(caller.can(role) for role in ROLES):
        raise AuthError("no role")
    return caller


async def list_api(request: Request) -> Response:
    """`GET /console/api/conversations`: filters as query parameters, `q` to search, `cursor` for the next page."""
    caller = await api_caller(request)
    query = query_from(request.query_params)
    async with request.app.state.sessions() as session:
        rows, cursor = await search_rows(session, caller, query)
    return JSONResponse({"items": rows, "next_cursor": cursor or None}, headers=NO_STORE)


async def detail_api(request: Request) -> Response:
    """`GET /console/api/conversations/{id}`: the masked transcript (404 outside the caller's scope)."""
    caller = await api_caller(request)
    async with request.app.state.sessions() as session:
        view = await visible_transcript(session, caller, request.path_params["conversation_id"])
    return JSONResponse(view.as_json(), headers=NO_STORE)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        data = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest('请求内容应为 JSON：{"field": …, "reason": …}') from exc
    if not isinstance(data, dict):
        raise BadRequest('请求内容应为 JSON 对象：{"field": …, "reason": …}')
    return data


async def reveal_api(request: Request) -> Response:
    """`POST /console/api/conversations/{id}/reveal` with `{"field": …, "reason": …}`: unmasked values, audited."""
    await request.body()  # read whole first, so an oversized body is a 413 like on every route
    caller = await api_caller(request)
    body = await _body(request)
    if not getattr(request.state, "by_token", False) and not csrf_matches_header(request, body):
        raise AuthError("CSRF token required with a session")
    field, reason = body.get("field", "phone"), body.get("reason", "")
    if not isinstance(field, str) or not isinstance(reason, str):
        raise BadRequest("field 和 reason 应为文字")
    conversation_id = request.path_params["conversation_id"]
    async with request.app.state.sessions() as session, session.begin():
        values = await reveal(session, caller, conversation_id, field, reason, client_address(request))
    return JSONResponse({"conversation": conversation_id, "field": field, "values": values}, headers=NO_STORE)


def _format(request: Request) -> str:
    fmt = request.query_params.get("format", "csv")
    if fmt not in FORMATS:
        raise BadRequest(f"导出格式应为 {' 或 '.join(FORMATS)}")
    return fmt


def _download(data: list[dict[str, Any]], columns: dict[str, str], fmt: str, name: str) -> Response:
    body = to_csv(data, columns) if fmt == "csv" else to_xlsx(data, columns, "会话")
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"', **NO_STORE}
    return Response(body, media_type=CSV_TYPE if fmt == "csv" else XLSX_TYPE, headers=headers)


async def export_list(request: Request) -> Response:
    """`GET /console/api/export/conversations?format=csv|xlsx&…filters`: the filtered list, masked, audited."""
    caller = await api_caller(request)
    fmt = _format(request)
    query = query_from(request.query_params)
    summary = filter_summary(request.query_params)
    async with request.app.state.sessions() as session, session.begin():
        rows = await export_rows(session, caller, query)
        await audit.record(
            session,
            "export",
            caller=caller,
            target_kind="conversations",
            field=fmt,
            reason=f"{summary}; {len(rows)} 条",
            address=client_address(request),
        )
    return _download(rows, COLUMNS, fmt, f"conversations-{utcnow():%Y%m%d%H%M}")


async def export_transcript(request: Request) -> Response:
    """`GET /console/api/conversations/{id}/export?format=csv|xlsx`: one transcript, masked, audited."""
    caller = await api_caller(request)
    fmt = _format(request)
    conversation_id = request.path_params["conversation_id"]
    async with request.app.state.sessions() as session, session.begin():
        view = await visible_transcript(session, caller, conversation_id)
        rows = transcript_rows(view)
        await audit.record(
            session,
            "export",
            caller=caller,
            target_kind="conversation",
            target_id=conversation_id,
            field=fmt,
            reason=f"会话记录 {len(rows)} 行",
            address=client_address(request),
        )
    return _download(rows, TRANSCRIPT_COLUMNS, fmt, f"conversation-{conversation_id[:8]}")


def routes() -> list[BaseRoute]:
    """The review API's routes."""
    base = "/console/api/conversations"
    return [
        Route(base, list_api, methods=["GET"]),
        Route("/console/api/export/conversations", export_list, methods=["GET"]),
        Route(base + "/{conversation_id}", detail_api, methods=["GET"]),
        Route(base + "/{conversation_id}/reveal", reveal_api, methods=["POST"]),
        Route(base + "/{conversation_id}/export", export_transcript, methods=["GET"]),
    ]
