"""Who may use the staff pages and APIs: the staff bearer token or the console's login cookie (which expires).

Console sign-in is throttled per network address (`LoginThrottle`): too many failures lock the address out.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable

from starlette.requests import Request

from sharedcourt.errors import AuthError
from sharedcourt.settings import Settings

COOKIE = "sc_staff"
COOKIE_SECONDS = 12 * 3600  # one working day; the cookie carries its own end, checked on every request
_STALE_KEYS = 10_000  # forget finished failures and lockouts once this many addresses are remembered


def _signature(settings: Settings, expires: int) -> str:
    return hmac.new(settings.staff_token.encode(), f"staff-console:{expires}".encode(), hashlib.sha256).hexdigest()


def token_matches(settings: Settings, token: str) -> bool:
    """Whether `token` is the staff token; an empty staff token matches nothing. Constant-time."""
    if not settings.staff_token:
        return False
    return hmac.compare_digest(token.encode(), settings.staff_token.encode())


def cookie_value(settings: Settings, now: float | None = None) -> str:
    """A login cookie's value: its end time and a MAC over it keyed by the staff token (never the token)."""
    expires = int(now if now is not None else time.time()) + COOKIE_SECONDS
    return f"{expires}.{_signature(settings, expires)}"


def cookie_valid(settings: Settings, value: str, now: float | None = None) -> bool:
    """Whether a login cookie was signed with the current staff token and has not yet ended."""
    expires, _, signature = value.partition(".")
    if not settings.staff_token or not expires.isdigit():
        return False
    if int(expires) <= (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature.encode(), _signature(settings, int(expires)).encode())


def require_staff(request: Request) -> None:
    """Bearer token or an unexpired login cookie; constant-time compares only."""
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer ") and token_matches(settings, header[7:]):
        return
    cookie = request.cookies.get(COOKIE, "")
    if cookie and cookie_valid(settings, cookie):
        return
    raise AuthError("staff login required")


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
