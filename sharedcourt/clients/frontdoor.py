"""The one httpx client for the front door's internal handoff API, as the action server calls it.

The app listens on `Settings.internal_url` and authorises with the staff token (Bearer); both processes read
the same settings. Every failure (transport, HTTP status, a body that is not a JSON object) is a FrontDoorError.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from sharedcourt.errors import UpstreamError
from sharedcourt.settings import Settings

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=2.0)


class FrontDoorError(UpstreamError):
    """The front door's handoff API could not be reached or refused the call."""


@dataclass(frozen=True)
class HandoffAnswer:
    """The API's answer: whether it worked, text for the resident, and the ticket's number and state."""

    ok: bool
    text: str
    ticket: str | None = None
    state: str | None = None


class FrontDoorClient:
    """Calls /handoff/* on the front door; use as `async with FrontDoorClient(settings) as api`."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        # The app's internal URL and the staff token: both processes read the same settings.
        headers = {"Authorization": f"Bearer {settings.staff_token}"}
        self._http = httpx.AsyncClient(
            base_url=settings.internal_url, headers=headers, timeout=DEFAULT_TIMEOUT, transport=transport
        )

    async def __aenter__(self) -> FrontDoorClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> HandoffAnswer:
        try:
            response = await self._http.request(method, path, **kwargs)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise FrontDoorError(f"{method} {path}: {exc!r}") from exc
        if not isinstance(data, dict):
            raise FrontDoorError(f"{method} {path}: expected a JSON object, got {type(data).__name__}")
        return HandoffAnswer(
            ok=bool(data.get("ok")),
            text=str(data.get("text") or ""),
            ticket=data.get("ticket"),
            state=data.get("state"),
        )

    async def request_handoff(self, body: dict[str, Any]) -> HandoffAnswer:
        """POST /handoff/requests: a resident asks for a person."""
        return await self._call("POST", "/handoff/requests", json=body)

    async def cancel_handoff(self, conversation_id: str) -> HandoffAnswer:
        """POST /handoff/cancel: end the human service, or withdraw the request."""
        return await self._call("POST", "/handoff/cancel", json={"conversation_id": conversation_id})

    async def handoff_status(self, conversation_id: str) -> HandoffAnswer:
        """POST /handoff/status: '我的案件' in words (the id in the body, never in a URL)."""
        return await self._call("POST", "/handoff/status", json={"conversation_id": conversation_id})

    async def rate_handoff(
        self, conversation_id: str, *, score: int | None = None, comment: str | None = None
    ) -> HandoffAnswer:
        """POST /handoff/ratings: a 1-5 score, or the comment that follows it."""
        body: dict[str, Any] = {"conversation_id": conversation_id}
        if score is not None:
            body["score"] = score
        if comment is not None:
            body["comment"] = comment
        return await self._call("POST", "/handoff/ratings", json=body)
