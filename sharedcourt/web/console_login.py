"""Console sign-in and sign-out with personal accounts (issue 12).

`POST /console/login` (form `username`, `password`) checks the account (argon2, constant-time), throttled per
network address and per login name, and starts a server-side session (cookie: HttpOnly, SameSite=Lax, Secure on
https). `POST /console/logout` (CSRF token required) ends it server-side. Every sign-in, failure and sign-out is an
audit row and a log line; the password never is.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from sharedcourt.db.base import utcnow
from sharedcourt.errors import AuthError
from sharedcourt.settings import Settings
from sharedcourt.staff import audit
from sharedcourt.staff.accounts import authenticate, caller_of, normalize_username
from sharedcourt.staff.sessions import SessionPolicy, end_session, start_session
from sharedcourt.web.auth import (
    COOKIE,
    LoginThrottle,
    client_address,
    csrf_for,
    csrf_ok,
    require_caller,
    session_id,
)

log = logging.getLogger(__name__)
WRONG = "用户名或密码不正确"
EMPTY = "empty username or password"
REFUSED_CSRF = "请求无效：页面已过期或来源不明。请返回上一页，刷新后重试。"
NO_STORE = {"Cache-Control": "no-store"}


def console_context(request: Request) -> dict[str, Any]:
    """What every console template may show: the signed-in person (if known) and the session's CSRF token."""
    return {"caller": getattr(request.state, "caller", None), "csrf": csrf_for(request)}


def refused_page(templates: Jinja2Templates, request: Request, message: str = REFUSED_CSRF) -> Response:
    """403 with a Chinese page: a form without this session's CSRF token, or a role the person does not hold."""
    return templates.TemplateResponse(request, "refused.html", {"message": message}, status_code=403)


class LoginPages:
    """Sign-in form, sign-in, sign-out; the two throttles live as long as the app."""

    def __init__(self, settings: Settings, templates: Jinja2Templates) -> None:
        self.settings = settings
        self.templates = templates
        self.policy = SessionPolicy.from_settings(settings)
        self.by_address = LoginThrottle(settings.login_max_failures, settings.login_lockout_seconds)
        self.by_name = LoginThrottle(settings.login_max_failures, settings.login_lockout_seconds)

    def _page(self, request: Request, status: int = 200, **context: Any) -> Response:
        context = {"error": None, "notice": None, "username": "", **context}
        return self.templates.TemplateResponse(request, "login.html", context, status_code=status, headers=NO_STORE)

    async def login_form(self, request: Request) -> Response:
        """The sign-in page."""
        return self._page(request)

    async def login(self, request: Request) -> Response:
        """Check the account (throttled per address and per name) and start a session; 403/429 pages otherwise."""
        address = client_address(request)
        locked = self.by_address.retry_after(address)
        if locked:
            return self._locked_out(request, locked, address, "")
        form = await request.form()
        username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        name_key = normalize_username(username)[:64]
        locked = self.by_name.retry_after(name_key) if name_key else 0
        if locked:
            return self._locked_out(request, locked, address, name_key)
        async with request.app.state.sessions() as session, session.begin():
            try:
                if not username or not password:
                    raise AuthError(EMPTY)
                account = await authenticate(session, username, password)
            except AuthError as exc:
                await audit.record(session, "login_failed", actor=name_key, reason=str(exc), address=address)
                log.warning("console sign-in refused for %r from %s: %s", name_key, address, exc)
                return self._failed(request, address, name_key)
            sid = await start_session(session, account, self.policy, utcnow(), address)
            await audit.record(session, "login", caller=caller_of(account), address=address)
        log.info("console sign-in by %r from %s", account.username, address)
        self.by_address.succeeded(address)
        self.by_name.succeeded(name_key)
        response = RedirectResponse("/console", status_code=303)
        response.set_cookie(
            COOKIE,
            sid,
            max_age=int(self.policy.absolute.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=self.settings.public_url.startswith("https://"),
        )
        return response

    def _failed(self, request: Request, address: str, name_key: str) -> Response:
        """Count the failure against the address and the name; 429 when that starts a lockout, else 403."""
        locked = self.by_address.failed(address)
        if name_key:
            locked = max(locked, self.by_name.failed(name_key))
        if locked:
            return self._locked_out(request, locked, address, name_key)
        return self._page(request, 403, error=WRONG, username=name_key)

    def _locked_out(self, request: Request, seconds: int, address: str, name_key: str) -> Response:
        """429 with Retry-After: too many failures from this address or for this name, whatever this attempt holds."""
        log.warning("console sign-in locked out for %r from %s (%d s left)", name_key, address, seconds)
        minutes = math.ceil(seconds / 60)
        response = self._page(request, 429, error=f"尝试次数过多，请 {minutes} 分钟后再试", username=name_key)
        response.headers["Retry-After"] = str(seconds)
        return response

    async def logout(self, request: Request) -> Response:
        """End the session server-side (its cookie opens nothing any more) and clear the cookie; CSRF required."""
        await request.body()  # read whole whatever its type, so an oversized body is a 413 like on every route
        form = await request.form()
        if not csrf_ok(request, form):
            log.warning("console sign-out without a valid CSRF token from %s", client_address(request))
            return refused_page(self.templates, request)
        try:
            caller = await require_caller(request)
        except AuthError:
            caller = None
        if caller is not None:
            async with request.app.state.sessions() as session, session.begin():
                await end_session(session, session_id(request), utcnow())
                await audit.record(session, "logout", caller=caller, address=client_address(request))
            log.info("console sign-out by %r", caller.username)
        request.state.caller = None
        response = self._page(request, notice="您已安全退出。")
        response.delete_cookie(COOKIE, httponly=True, samesite="lax")
        return response
