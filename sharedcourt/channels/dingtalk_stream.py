"""DingTalk Stream mode (DINGTALK_MODE=stream): the front door dials out to DingTalk's gateway, so a court
intranet without a public URL still receives mediators' robot messages and card presses.

Built on DingTalk's official SDK (`dingtalk-stream` 0.24.3): its `DingTalkStreamClient` parses the frames, routes
them to our `CallbackHandler`s by topic, answers SYSTEM pings and `disconnect`, and sends every ACK
({code, headers{messageId, contentType}, message, data}). Two parts of the SDK are replaced here, not patched:
- opening the connection (`open`): the SDK posts with blocking `requests` to a URL fixed when it is imported
  (env DINGTALK_OPENAPI_ENDPOINT); we post the same body with httpx to DINGTALK_API_BASE;
- the connect loop (`run`): the SDK's `start()` sleeps a fixed 10 s and reconnects at once after a clean close;
  ours backs off exponentially (with jitter, reset once connected) and is cancelled with the app.
Each robot message is claimed by its msgId and each card press by its frame messageId in `dingtalk_inbound`,
so a frame delivered twice, to one front door or to two, is handled once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import urllib.parse
from typing import Any

import dingtalk_stream
import httpx
from dingtalk_stream import AckMessage, CallbackHandler, CallbackMessage, ChatbotMessage
from dingtalk_stream.version import VERSION_STRING
from websockets.client import connect
from websockets.exceptions import WebSocketException

from sharedcourt.channels.dingtalk import Claim, Inbox, claim_message, handle_message, mark_handled, release
from sharedcourt.channels.dingtalk_cards import press
from sharedcourt.clients.dingtalk_cards import CARD_TOPIC
from sharedcourt.db.base import utcnow
from sharedcourt.errors import BadRequest, Conflict
from sharedcourt.settings import Settings

log = logging.getLogger(__name__)

OPEN_PATH = "/v1.0/gateway/connections/open"
FIRST_DELAY, MAX_DELAY = 1.0, 60.0


class RobotMessages(CallbackHandler):  # type: ignore[misc]
    """Topic /v1.0/im/bot/messages/get: the same handling as the HTTP robot callback."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self.inbox = inbox

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        """Handle and acknowledge one robot message."""
        try:
            await handle_message(self.inbox, dict(message.data))
        except Conflict:
            pass  # another front door is handling this msgId
        except BadRequest as exc:
            return AckMessage.STATUS_BAD_REQUEST, str(exc)
        return AckMessage.STATUS_OK, "OK"


class CardPresses(CallbackHandler):  # type: ignore[misc]
    """Topic /v1.0/card/instances/callback: each frame's messageId handled once across front doors."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self.inbox = inbox

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        """Handle and acknowledge one press."""
        key = f"card:{message.headers.message_id or ''}"[:128]
        sessions = self.inbox.sessions
        if await claim_message(sessions, key, utcnow()) is not Claim.MINE:
            return AckMessage.STATUS_OK, {}
        try:
            await press(self.inbox, dict(message.data))
        except BadRequest as exc:
            await mark_handled(sessions, key, utcnow())
            return AckMessage.STATUS_BAD_REQUEST, {"error": str(exc)}
        except BaseException:
            await release(sessions, key)
            raise
        await mark_handled(sessions, key, utcnow())
        return AckMessage.STATUS_OK, {}


class FrontDoorStream(dingtalk_stream.DingTalkStreamClient):  # type: ignore[misc]
    """The SDK's client with our connection opening and reconnect loop."""

    def __init__(
        self,
        api_base: str,
        client_id: str,
        client_secret: str,
        *,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(dingtalk_stream.Credential(client_id, client_secret), logger=log)
        self.api_base = api_base.rstrip("/")
        self.first_delay, self.max_delay = first_delay, max_delay
        self.transport = transport
        self.connections = 0  # sockets opened so far (tests and logs)
        self._pending: set[asyncio.Task[None]] = set()

    async def open(self) -> dict[str, Any]:
        """POST connections/open: the endpoint and a one-use ticket (valid 90 s)."""
        body = {
            "clientId": self.credential.client_id,
            "clientSecret": self.credential.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map],
            "ua": f"sharedcourt dingtalk-sdk-python/v{VERSION_STRING}",
            "localIp": "",
        }
        async with httpx.AsyncClient(timeout=10.0, transport=self.transport) as http:
            response = await http.post(self.api_base + OPEN_PATH, json=body)
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        if not found.get("endpoint") or not found.get("ticket"):
            raise ValueError("connections/open answered without endpoint and ticket")
        return found

    async def run(self) -> None:
        """Connect, serve frames until the socket closes, back off, connect again; forever (until cancelled)."""
        self.pre_start()
        delay = self.first_delay
        while True:
            try:
                connection = await self.open()
                uri = f"{connection['endpoint']}?ticket={urllib.parse.quote_plus(connection['ticket'])}"
                async with connect(uri) as socket:
                    self.websocket = socket
                    self.connections += 1
                    delay = self.first_delay  # connected: the next drop starts the backoff over
                    log.info("dingtalk stream: connected (%d)", self.connections)
                    await self._serve(socket)
                log.warning("dingtalk stream: socket closed; reconnecting")
            except (OSError, ValueError, httpx.HTTPError, WebSocketException) as exc:
                log.warning("dingtalk stream: %s; retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.max_delay)

    async def _serve(self, socket: Any) -> None:
        keepalive = asyncio.create_task(self.keepalive(socket))
        try:
            async for raw in socket:
                task = asyncio.create_task(self.background_task(json.loads(raw)))
                self._pending.add(task)  # kept until done: a bare task may be collected mid-way
                task.add_done_callback(self._pending.discard)
        finally:
            keepalive.cancel()


def build(inbox: Inbox, settings: Settings, **options: Any) -> FrontDoorStream:
    """The Stream client for this app, subscribed to robot messages and card presses."""
    client = FrontDoorStream(
        settings.dingtalk_api_base, settings.dingtalk_app_key, settings.dingtalk_app_secret, **options
    )
    client.register_callback_handler(ChatbotMessage.TOPIC, RobotMessages(inbox))
    client.register_callback_handler(CARD_TOPIC, CardPresses(inbox))
    return client


def start(state: Any, settings: Settings, **options: Any) -> list[asyncio.Task[None]]:
    """The Stream task when DINGTALK_MODE=stream and DingTalk is configured, else none."""
    if settings.dingtalk_mode != "stream" or not (settings.dingtalk_app_key and settings.dingtalk_app_secret):
        return []
    client = build(Inbox.of(state), settings, **options)
    state.dingtalk_stream = client
    return [asyncio.create_task(client.run())]
