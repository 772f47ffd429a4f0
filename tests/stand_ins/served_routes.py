"""What an app serves: (method, path) of every route, Mount children included, and URLs to call them."""

from __future__ import annotations

import re

from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

# Values for path parameters when a route is called.
SAMPLE_PARAMS = {
    "conversation_id": "0" * 32,
    "number": "T0000000",
    "booking_id": "1",
    "verb": "cancel",
    "evidence_id": "1",
    "account_id": "1",
    "token_id": "1",
    "case_id": "1",
    "key": "GX330802009",
}


def served(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, Mount children included; HEAD is decided with its GET."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            children = route.routes or []
            found |= served(list(children), prefix + route.path) if children else {("*", prefix + route.path)}
        elif isinstance(route, Route):
            methods = route.methods or {"*"}
            found |= {(m, prefix + route.path) for m in methods if m != "HEAD" or "GET" not in methods}
        elif isinstance(route, WebSocketRoute):
            found.add(("WEBSOCKET", prefix + route.path))
        else:
            found.add(("?", f"{prefix}{getattr(route, 'path', repr(route))}"))
    return found


def sample_url(path: str) -> str:
    """The path with each parameter filled in from SAMPLE_PARAMS (a new parameter name fails loudly)."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE_PARAMS[m.group(1)], path)
