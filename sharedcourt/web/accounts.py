"""Account administration in the console (admin only, CSRF on every form): list, create with a role and scope,
grant another role, deactivate, create a per-account API token (shown once) and revoke one (web.api_tokens).
Every change is audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.db.base import utcnow
from sharedcourt.db.staff import StaffAccount, StaffSession
from sharedcourt.errors import BadRequest, Conflict, NotFound
from sharedcourt.staff import audit
from sharedcourt.staff.accounts import create_account, grant_role
from sharedcourt.staff.roles import ADMIN, ROLE_ZH, Caller
from sharedcourt.staff.tokens import create_token
from sharedcourt.web import api_tokens
from sharedcourt.web.auth import client_address
from sharedcourt.web.review import form_caller, page_caller

Action = Callable[[AsyncSession, Caller, StaffAccount, FormData], Awaitable[str]]


async def _accounts(session: AsyncSession) -> list[dict[str, Any]]:
    tokens = await api_tokens.live_tokens(session)
    accounts = await session.scalars(select(StaffAccount).order_by(StaffAccount.username))
    return [
        {
            "id": a.id,
            "username": a.username,
            "display_name": a.display_name,
            "active": a.active,
            "grants": [f"{ROLE_ZH.get(g.role, g.role)}{'（' + g.scope + '）' if g.scope else ''}" for g in a.grants],
            "tokens": tokens.get(a.id, []),
        }
        for a in accounts
    ]


async def _grant(session: AsyncSession, caller: Caller, account: StaffAccount, form: FormData) -> str:
    role, scope = str(form.get("role", "")), str(form.get("scope", "")).strip()
    await grant_role(session, account, role, scope)
    field = f"{role}:{scope}" if scope else role
    await audit.record(
        session, "role_granted", caller=caller, target_kind="staff_account", target_id=account.username, field=field
    )
    return f"已为 {account.username} 授予 {ROLE_ZH.get(role, role)}{('（' + scope + '）') if scope else ''}"


async def _deactivate(session: AsyncSession, caller: Caller, account: StaffAccount, form: FormData) -> str:
    if account.id == caller.account_id:
        raise BadRequest("不能停用自己的账号")
    account.active = False
    open_sessions = select(StaffSession).where(StaffSession.account_id == account.id, StaffSession.ended_at.is_(None))
    for row in await session.scalars(open_sessions):
        row.ended_at = utcnow()
    await audit.record(
        session, "account_deactivated", caller=caller, target_kind="staff_account", target_id=account.username
    )
    return f"已停用账号 {account.username}，其登录已失效"


class AccountPages:
    """Account administration handlers."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def page(self, request: Request, status: int = 200, **context: str) -> Response:
        """The accounts page with a notice, an error or a token just made."""
        async with request.app.state.sessions() as session:
            accounts = await _accounts(session)
        page: dict[str, Any] = {"accounts": accounts, "roles": ROLE_ZH, "notice": "", "error": "", "token": ""}
        page.update(context)
        return self.templates.TemplateResponse(request, "accounts.html", page, status_code=status)

    async def admin_form(self, request: Request) -> tuple[Caller, FormData] | Response:
        """The admin posting a form with this session's CSRF token; a 403 page (or sign-in) otherwise."""
        return await form_caller(self.templates, request, ADMIN)

    async def list(self, request: Request) -> Response:
        """Every account, its roles and tokens, and the forms."""
        caller = await page_caller(self.templates, request, ADMIN)
        if isinstance(caller, Response):
            return caller
        return await self.page(request)

    async def create(self, request: Request) -> Response:
        """Create an account and grant its first role (all or nothing)."""
        checked = await self.admin_form(request)
        if isinstance(checked, Response):
            return checked
        caller, form = checked
        username = str(form.get("username", "")).strip()
        try:
            async with request.app.state.sessions() as session, session.begin():
                account = await create_account(
                    session,
                    username,
                    str(form.get("password", "")),
                    display_name=str(form.get("display_name", "")),
                )
                await audit.record(
                    session,
                    "account_created",
                    caller=caller,
                    target_kind="staff_account",
                    target_id=account.username,
                    address=client_address(request),
                )
                notice = await _grant(session, caller, account, form)
        except (BadRequest, Conflict) as exc:
            return await self.page(request, 400 if isinstance(exc, BadRequest) else 409, error=str(exc))
        return await self.page(request, notice=f"已创建账号 {username}。{notice}")

    async def _on_account(self, request: Request, action: Action, shown: dict[str, str] | None = None) -> Response:
        checked = await self.admin_form(request)
        if isinstance(checked, Response):
            return checked
        caller, form = checked
        try:
            async with request.app.state.sessions() as session, session.begin():
                account = await session.get(StaffAccount, request.path_params["account_id"])
                if account is None:
                    raise NotFound("没有这个账号")
                notice = await action(session, caller, account, form)
        except (BadRequest, NotFound) as exc:
            return await self.page(request, 404 if isinstance(exc, NotFound) else 400, error=str(exc))
        return await self.page(request, 200, notice=notice, token=(shown or {}).get("token", ""))

    async def grant(self, request: Request) -> Response:
        """Grant one more role (with its scope) to an account."""
        return await self._on_account(request, _grant)

    async def deactivate(self, request: Request) -> Response:
        """Deactivate an account: it can no longer sign in, and its sessions and tokens stop working."""
        return await self._on_account(request, _deactivate)

    async def token(self, request: Request) -> Response:
        """Create an API token for an account; the token is shown on this page once and stored hashed."""
        shown: dict[str, str] = {}

        async def make(session: AsyncSession, caller: Caller, account: StaffAccount, form: FormData) -> str:
            row, shown["token"] = await create_token(session, account, str(form.get("label", "")))
            await audit.record(
                session,
                "token_created",
                caller=caller,
                target_kind="staff_account",
                target_id=account.username,
                field=f"token:{row.id}",
            )
            return f"已为 {account.username} 创建接口令牌。请立即复制，它只显示这一次："

        response = await self._on_account(request, make, shown)
        response.headers["Cache-Control"] = "no-store"
        return response


def routes(templates: Jinja2Templates) -> list[BaseRoute]:
    """The account administration routes."""
    pages = AccountPages(templates)
    base = "/console/accounts"
    return [
        Route(base, pages.list, methods=["GET"]),
        Route(base, pages.create, methods=["POST"]),
        Route(base + "/{account_id:int}/grants", pages.grant, methods=["POST"]),
        Route(base + "/{account_id:int}/deactivate", pages.deactivate, methods=["POST"]),
        Route(base + "/{account_id:int}/tokens", pages.token, methods=["POST"]),
        *api_tokens.routes(pages.admin_form, pages.page),
    ]
