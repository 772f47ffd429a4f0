"""Links to the WeChat subscription page (/wechat/subscribe): a signed, expiring token bound to one resident.

The token names the resident by our row id, never by the openid, and carries its expiry; its HMAC (LINK_SECRET,
with its own purpose so a transcript link's signature never passes here) covers both. `verify` refuses a token
that is malformed, tampered with or expired.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import urllib.parse

from sharedcourt.errors import AuthError

PATH = "/wechat/subscribe"
PURPOSE = "wechat-subscribe"
HOURS = 72  # long enough to tap it later that day or the next; short enough that a forwarded link dies


def _mac(secret: str, resident_id: int, expires: int) -> str:
    message = f"{PURPOSE}\n{resident_id}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def token(secret: str, resident_id: int, now: dt.datetime, hours: int = HOURS) -> str:
    """'<resident id>.<expiry>.<mac>' for the resident, valid `hours` hours from `now`."""
    if not secret:
        raise ValueError("LINK_SECRET is empty: no subscription link can be signed")
    expires = int((now + dt.timedelta(hours=hours)).timestamp())
    return f"{resident_id}.{expires}.{_mac(secret, resident_id, expires)}"


def verify(secret: str, value: str, now: dt.datetime) -> int:
    """The resident id a good token names; AuthError for a malformed, forged or expired one."""
    parts = value.split(".")
    if not secret or len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise AuthError("malformed subscription token")
    resident_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(parts[2], _mac(secret, resident_id, expires)):
        raise AuthError("bad subscription token signature")
    if now.timestamp() > expires:
        raise AuthError("expired subscription token")
    return resident_id


def url(public_url: str, secret: str, resident_id: int, now: dt.datetime) -> str:
    """The page's absolute address for the resident."""
    query = urllib.parse.urlencode({"t": token(secret, resident_id, now)})
    return f"{public_url.rstrip('/')}{PATH}?{query}"
