"""ASGI middleware that guards every route before a handler reads anything.

- Body size: a declared Content-Length over the limit is answered 413 at once, unread; a body without one
  (chunked) is counted while it streams and cut off with 413 as soon as it passes the limit.
- Request target: NUL or other control characters in the path, or NUL in the query, are refused with 400
  (PostgreSQL refuses NUL in text, so they would otherwise reach the database as a 500).
"""

from __future__ import annotations

import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sharedcourt.errors import PayloadTooLarge

BAD_TARGET = "请求地址中有控制字符（control characters in the request path or query）"
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def too_large_message(limit: int) -> str:
    """What a caller reads when its body is over the limit (Chinese, with the figure)."""
    return f"请求内容过大，上限为 {limit} 字节（request body over {limit} bytes）"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def _bad_target(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return bool(_CONTROL.search(scope.get("path", ""))) or b"%00" in query or b"\x00" in query


class BodyLimit:
    """Refuses bodies over `max_bytes` (413, JSON, Chinese message) and control characters in the target."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the target and the declared length, then pass on a `receive` that counts the body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _bad_target(scope):
            await JSONResponse({"error": BAD_TARGET}, status_code=400)(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        counted = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal counted
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > self.max_bytes:
                    # Handlers map it to 413 (app.py); if one lets it through, we answer below.
                    raise PayloadTooLarge(too_large_message(self.max_bytes))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except PayloadTooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"error": too_large_message(self.max_bytes)}, status_code=413)
        response.headers["Connection"] = "close"  # the unread rest of the body must not be taken as a request
        await response(scope, receive, send)
