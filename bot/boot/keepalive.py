"""Keep Rasa's connections to its endpoints open between calls (runs in the Rasa environment).

Rasa 3.6's `EndpointConfig.request` opens a new aiohttp session, hence a new TCP connection, for every call to
the action server: a connect and a close per custom action on both sides, several per turn. Here `session()`
lends one session per endpoint and event loop instead, made with the same headers, auth and timeout as Rasa's,
whose pool keeps connections alive for KEEPALIVE_SECONDS: shorter than the action server's (Sanic's 5 s) and
haproxy's idle limits, so the server side never closes a connection the client is about to reuse. A closed or
reset connection (a member restarted) is dropped from the pool when the peer closes it.

`install()` replaces the method for the running process only; the server's shutdown (Rasa's
`close_resources`) closes the lent sessions too.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

KEEPALIVE_SECONDS = 2.0


class Lent:
    """`async with endpoint.session() as s` hands out the shared session and leaves it open afterwards."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


def install() -> None:
    """Make `EndpointConfig.session` lend one kept-alive session per endpoint and loop; idempotent."""
    import aiohttp
    import rasa.core.run
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    if getattr(EndpointConfig.session, "_kept_alive", False):
        return
    lent: list[Any] = []
    close_resources = rasa.core.run.close_resources

    async def close_all(app: Any, loop: Any) -> None:
        try:
            await close_resources(app, loop)
        finally:
            for made in lent:
                await made.close()

    def session(self: EndpointConfig) -> Lent:
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get("_kept_session")
        if kept is None or kept[0] is not loop or kept[1].closed:
            auth = None
            if self.basic_auth:
                auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            # limit=0: as many connections at once as Rasa's session-per-call opened (no queueing).
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS)
            timeout = aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT)
            made = aiohttp.ClientSession(headers=self.headers, auth=auth, timeout=timeout, connector=connector)
            kept = (loop, made)
            lent.append(made)
            self.__dict__["_kept_session"] = kept
        return Lent(kept[1])

    session._kept_alive = True  # type: ignore[attr-defined]
    EndpointConfig.session = session  # type: ignore[assignment,method-assign]
    rasa.core.run.close_resources = close_all
