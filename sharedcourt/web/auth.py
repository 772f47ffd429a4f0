"""Who may use the staff pages and APIs: the staff bearer token or the console's login cookie."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from sharedcourt.errors import AuthError
from sharedcourt.settings import Settings

COOKIE = "sc_staff"


def cookie_value(settings: Settings) -> str:
    """The login cookie's value: derived from the staff token, never the token itself."""
    return hmac.new(settings.staff_token.encode(), b"staff-console", hashlib.sha256).hexdigest()


def require_staff(request: Request) -> None:
    """Bearer token or the login cookie; constant-time compares only."""
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), settings.staff_token.encode()):
        return
    cookie = request.cookies.get(COOKIE, "")
    if cookie and hmac.compare_digest(cookie.encode(), cookie_value(settings).encode()):
        return
    raise AuthError("staff login required")
