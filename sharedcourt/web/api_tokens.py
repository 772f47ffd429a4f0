"""Revoking per-account API tokens (admin only): a CSRF form on the accounts page and a JSON API, both audited.

A revoked token opens nothing from the next request on (sharedcourt.staff.tokens.check_token refuses it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sharedcourt.db.base import utcnow
from sharedcourt.db.staff import ApiToken, StaffAccount
from sharedcourt.domain.clock import local
from sharedcourt.errors import AuthError, NotFound
from sharedcourt.staff import audit
from sharedcourt.staff.roles import Caller
from sharedcourt.staff.tokens import revoke_token
from sharedcourt.web.auth import client_address, csrf_matches_header, require_api_caller

NO_TOKEN = "没有这个接口令牌"
Page = Callable[..., Awaitable[Response]]


def _when(at: dt.datetime | None) -> str:
    return local(at).strftime("%Y-%m-%d %H:%M") if at is not None else "从未"


async def live_tokens(session: AsyncSession) -> dict[int, list[dict[str, Any]]]:
    """The tokens not revoked, per account id: id, label, created and last used (China time)."""
    rows = await session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.id))
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        item = {"id": row.id, "label": row.label, "created": _when(row.created_at), "used": _when(row.last_used_at)}
        out.setdefault(row.account_id, []).append(item)
    return out


async def revoke(session: AsyncSession, caller: Caller, token_id: int, address: str) -> tuple[ApiToken, str, bool]:
    """Revoke the token (audited); its row, its account's login name and whether it was live. NotFound if none."""
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(NO_TOKEN)
    was_live = row.revoked_at is None
    account = await session.get_one(StaffAccount, row.account_id)
    if was_live:
        await revoke_token(session, token_id, utcnow())
        await audit.record(
            session,
            "token_revoked",
            caller=caller,
            target_kind="staff_account",
            target_id=account.username,
            field=f"token:{token_id}",
            address=address,
        )
    return row, account.username, was_live


def _notice(username: str, token_id: int, was_live: bool) -> str:
    if was_live:
        return f"已撤销 {username} 的接口令牌 #{token_id}，它从现在起不能再使用"
    return f"{username} 的接口令牌 #{token_id} 此前已撤销"


async def revoke_form(request: Request, admin_form: Callable[[Request], Awaitable[Any]], page: Page) -> Response:
    """The accounts page's revoke button: CSRF and admin checked by ``admin_form``, the page shown again."""
    checked = await admin_form(request)
    if isinstance(checked, Response):
        return checked
    caller, _ = checked
    token_id = request.path_params["token_id"]
    try:
        async with request.app.state.sessions() as session, session.begin():
            _, username, was_live = await revoke(session, caller, token_id, client_address(request))
    except NotFound as exc:
        return await page(request, 404, error=str(exc))
    return await page(request, 200, notice=_notice(username, token_id, was_live))


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/")):
        return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}  # the body only carries the CSRF token: a bad one is a missing one (403)
    return data if isinstance(data, dict) else {}


async def revoke_api(request: Request) -> Response:
    """`POST /console/api/tokens/{id}/revoke`: an admin's session (with CSRF) or an admin's API token."""
    body = await _body(request)
    caller = await require_api_caller(request)
    if not caller.is_admin:
        raise AuthError("admin required")
    if not getattr(request.state, "by_token", False) and not csrf_matches_header(request, body):
        raise AuthError("CSRF token required with a session")
    token_id = request.path_params["token_id"]
    async with request.app.state.sessions() as session, session.begin():
        row, username, was_live = await revoke(session, caller, token_id, client_address(request))
        revoked_at = row.revoked_at
    payload = {
        "id": token_id,
        "account": username,
        "revoked_at": revoked_at.isoformat() if revoked_at else None,
        "already_revoked": not was_live,
    }
    return JSONResponse(payload, headers={"Cache-Control": "no-store"})


def routes(admin_form: Callable[[Request], Awaitable[Any]], page: Page) -> list[BaseRoute]:
    """The revoke routes: the accounts page's form and the JSON API."""

    async def form(request: Request) -> Response:
        return await revoke_form(request, admin_form, page)

    return [
        Route("/console/accounts/tokens/{token_id:int}/revoke", form, methods=["POST"]),
        Route("/console/api/tokens/{token_id:int}/revoke", revoke_api, methods=["POST"]),
    ]
