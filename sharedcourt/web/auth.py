"""Who may use the staff pages and APIs.

- Console pages and their JSON: a person's account, through a server-side session (cookie `COOKIE`, see
  sharedcourt.staff.sessions); `require_caller` / `require_role` give the `Caller`. State-changing forms carry the
  session's CSRF token (`csrf_ok`).
- The console's JSON API (/console/api/*) also takes a per-account API token, `Authorization: Bearer sc_…`
  (`require_api_caller`, sharedcourt.staff.tokens); such a request needs no CSRF token.
- Internal JSON APIs (/handoff/*, /staff/bookings …) called by the action server: the STAFF_TOKEN bearer
  (`require_staff`); it signs no one in to the console.

Console sign-in is throttled per network address and per login name (`LoginThrottle`): too many failures lock out.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request

from sharedcourt.db.base import utcnow
from sharedcourt.errors import AuthError
from sharedcourt.settings import Settings
from sharedcourt.staff.roles import Caller
from sharedcourt.staff.sessions import SessionPolicy, check_session, csrf_matches, csrf_token
from sharedcourt.staff.tokens import PREFIX, check_token

COOKIE = "sc_staff"
CSRF_FIELD = "csrf"
_STALE_KEYS = 10_000  # forget finished failures and lockouts once this many keys are remembered


def token_matches(settings: Settings, token: str) -> bool:
    """Whether `token` is the staff token; an empty staff token matches nothing. Constant-time."""
    if not settings.staff_token:
        return False
    return hmac.compare_digest(token.encode(), settings.staff_token.encode())


def require_staff(request: Request) -> None:
    """The machine bearer (`Authorization: Bearer STAFF_TOKEN`) of the internal APIs; constant-time compare."""
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer ") and token_matches(settings, header[7:]):
        return
    raise AuthError("staff bearer token required")


def session_id(request: Request) -> str:
    """The console session id the browser sent (empty when none)."""
    return request.cookies.get(COOKIE, "")


async def require_caller(request: Request) -> Caller:
    """The signed-in person of this request (a live session); AuthError otherwise. Checked once per request."""
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    policy = SessionPolicy.from_settings(request.app.state.settings)
    async with request.app.state.sessions() as session, session.begin():
        caller = await check_session(session, session_id(request), policy, utcnow())
    if caller is None:
        raise AuthError("console sign-in required")
    request.state.caller = caller
    return caller


def api_token(request: Request) -> str:
    """The per-account API token the request carries (`Authorization: Bearer sc_…`); empty when none."""
    header = request.headers.get("authorization", "")
    return header[7:] if header.startswith(f"Bearer {PREFIX}") else ""


async def require_api_caller(request: Request) -> Caller:
    """The caller of a console JSON API: a per-account API token when one is sent, else the console session."""
    token = api_token(request)
    if not token:
        return await require_caller(request)
    async with request.app.state.sessions() as session, session.begin():
        caller = await check_token(session, token, utcnow())
    if caller is None:
        raise AuthError("unknown or revoked API token")
    request.state.caller = caller
    request.state.by_token = True
    return caller


async def require_role(request: Request, *roles: str) -> Caller:
    """The signed-in person, who must hold one of `roles` in some scope (an admin holds every role)."""
    caller = await require_caller(request)
    if not any(caller.can(role) for role in roles):
        raise AuthError(f"role {'/'.join(roles)} required")
    return caller


def csrf_for(request: Request) -> str:
    """The CSRF token the session's forms carry (empty without a session)."""
    sid = session_id(request)
    return csrf_token(sid) if sid else ""


def csrf_ok(request: Request, form: Mapping[str, Any]) -> bool:
    """Whether a posted form carries this session's CSRF token."""
    sent = form.get(CSRF_FIELD, "")
    return isinstance(sent, str) and csrf_matches(session_id(request), sent)


def csrf_matches_header(request: Request, body: Mapping[str, Any]) -> bool:
    """Whether a session's JSON request carries its CSRF token (header `X-CSRF-Token` or a `csrf` field)."""
    sent = request.headers.get("x-csrf-token") or body.get(CSRF_FIELD, "")
    return isinstance(sent, str) and csrf_matches(session_id(request), sent)


def client_address(request: Request) -> str:
    """The caller's address as the server saw it (uvicorn applies X-Forwarded-For from trusted proxies only)."""
    return request.client.host if request.client else "unknown"


class LoginThrottle:
    """Per-key failure counting: `max_failures` within `window` seconds locks the key for `window` seconds."""

    def __init__(self, max_failures: int, window: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max(1, max_failures)
        self.window = max(1, window)
        self.clock = clock
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def retry_after(self, key: str) -> int:
        """Whole seconds until `key` may try again; 0 when it is not locked out."""
        until = self._locked_until.get(key)
        if until is None:
            return 0
        left = until - self.clock()
        if left <= 0:
            del self._locked_until[key]
            return 0
        return math.ceil(left)

    def failed(self, key: str) -> int:
        """Count one failure; returns the lockout in seconds when this failure started one, else 0."""
        now = self.clock()
        recent = [t for t in self._failures.get(key, []) if now - t < self.window]
        recent.append(now)
        if len(recent) >= self.max_failures:
            self._failures.pop(key, None)
            self._locked_until[key] = now + self.window
            return self.window
        self._failures[key] = recent
        if len(self._failures) + len(self._locked_until) > _STALE_KEYS:
            self._forget_stale(now)
        return 0

    def succeeded(self, key: str) -> None:
        """A successful sign-in forgets the key's failures."""
        self._failures.pop(key, None)
        self._locked_until.pop(key, None)

    def _forget_stale(self, now: float) -> None:
        self._failures = {k: v for k, v in self._failures.items() if now - v[-1] < self.window}
        self._locked_until = {k: v for k, v in self._locked_until.items() if v > now}
