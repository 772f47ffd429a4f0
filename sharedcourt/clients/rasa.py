"""The one httpx client for Rasa: REST channel turns, NLU parse and tracker events."""

from __future__ import annotations

from typing import Any

import httpx

from sharedcourt.errors import RasaUnavailable

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=2.0)


class RasaClient:
    """Talks to `rasa run --enable-api` over HTTP; every failure becomes RasaUnavailable."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = token
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, url, **kwargs)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"{method} {url}: {exc!r}") from exc
        return response

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one turn through the REST channel; returns Rasa's bot messages."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        response = await self._request("POST", "/webhooks/rest/webhook", json=body)
        data = response.json()
        if not isinstance(data, list):
            raise RasaUnavailable(f"unexpected REST reply: {type(data).__name__}")
        return data

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only: intent, ranking and entities, as the conversation sees them."""
        response = await self._request("POST", "/model/parse", params={"token": self._token}, json={"text": text})
        result: dict[str, Any] = response.json()
        return result

    async def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker: slots, events and paused state."""
        response = await self._request("GET", f"/conversations/{sender}/tracker", params={"token": self._token})
        result: dict[str, Any] = response.json()
        return result

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Append events (pause, resume, action_listen, slot) under Rasa's conversation lock."""
        response = await self._request(
            "POST",
            f"/conversations/{sender}/tracker/events",
            params={"token": self._token, "include_events": "NONE"},
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
            params={"token": self._token, "output_channel": "collector"},
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
