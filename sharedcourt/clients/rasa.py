"""The one httpx client for Rasa: REST channel turns, NLU parse and tracker events.

Rasa's HTTP API (`--jwt-secret`) is called with a short-lived HS256 bearer token in the Authorization header,
never with `?token=`: URLs end up in access logs and in our own error messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from sharedcourt.errors import RasaTimeout, RasaUnavailable

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
# Rasa's sanic-jwt lets role "admin" reach every conversation; the front door serves all of them.
API_USER = {"username": "sharedcourt", "role": "admin"}
TOKEN_SECONDS = 60


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


def bearer_token(secret: str, *, now: float | None = None, lifetime: int = TOKEN_SECONDS) -> str:
    """An HS256 JWT (RFC 7519) Rasa accepts for its HTTP API, valid for `lifetime` seconds."""
    issued = int(time.time() if now is None else now)
    claims = {"user": API_USER, "iat": issued, "exp": issued + lifetime}
    signing_input = f"{_b64json({'alg': 'HS256', 'typ': 'JWT'})}.{_b64json(claims)}"
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def unavailable(what: str, exc: httpx.HTTPError) -> RasaUnavailable:
    """RasaUnavailable when the request surely never ran (refused, connect timeout, 4xx), else RasaTimeout."""
    never_arrived = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    if never_arrived or (isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code < 500):
        return RasaUnavailable(f"{what}: {exc!r}")
    return RasaTimeout(f"{what}: {exc!r}")


class RasaClient:
    """Talks to `rasa run --enable-api` over HTTP; every failure becomes RasaUnavailable."""

    def __init__(
        self,
        base_url: str,
        jwt_secret: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._secret = jwt_secret
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def _request(self, method: str, url: str, *, api: bool = True, **kwargs: Any) -> httpx.Response:
        # The REST channel webhook is not an API route: it gets no token (Rasa would not read it).
        headers = {"Authorization": f"Bearer {bearer_token(self._secret)}"} if api else None
        try:
            response = await self._http.request(method, url, headers=headers, **kwargs)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise unavailable(f"{method} {url}", exc) from exc
        return response

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one turn through the REST channel; returns Rasa's bot messages."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        response = await self._request("POST", "/webhooks/rest/webhook", api=False, json=body)
        data = response.json()
        if not isinstance(data, list):
            raise RasaUnavailable(f"unexpected REST reply: {type(data).__name__}")
        return data

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only: intent, ranking and entities, as the conversation sees them."""
        response = await self._request("POST", "/model/parse", json={"text": text})
        result: dict[str, Any] = response.json()
        return result

    async def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker: slots, events and paused state."""
        response = await self._request("GET", f"/conversations/{sender}/tracker")
        result: dict[str, Any] = response.json()
        return result

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Append events (pause, resume, action_listen, slot) under Rasa's conversation lock."""
        response = await self._request(
            "POST",
            f"/conversations/{sender}/tracker/events",
            params={"include_events": "NONE"},
            json=events,
        )
        result: dict[str, Any] = response.json()
        return result

    async def trigger_intent(
        self, sender: str, intent: str, entities: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Inject an external event (reminder, hand-back); returns the bot messages it produced."""
        response = await self._request(
            "POST",
            f"/conversations/{sender}/trigger_intent",
            params={"output_channel": "collector"},
            json={"name": intent, "entities": entities or {}},
        )
        messages: list[dict[str, Any]] = response.json().get("messages") or []
        return messages

    async def healthy(self) -> bool:
        """Whether Rasa answers its root URL (never raises)."""
        try:
            response = await self._http.get("/", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
