"""A local stand-in for DingTalk's Stream gateway, speaking the protocol dingtalk-stream 0.24.3 speaks
(stream.py, frames.py; developerpedia docs/learn/stream/protocol.md):

- POST {api}/v1.0/gateway/connections/open {"clientId","clientSecret","subscriptions":[{"type","topic"}],"ua","localIp"}
  -> {"endpoint": "ws://…/connect", "ticket"} (400 on wrong credentials); a ticket opens one socket, once.
  Attach with `DingTalkStandIn.gateway = Gateway(standin)`: the API stand-in answers the POST through `open`.
- The WebSocket at endpoint?ticket=… carries frames {"specVersion","type": SYSTEM|EVENT|CALLBACK,
  "headers": {"topic","messageId","contentType","time","appId","connectionId"}, "data": "<JSON string>"}
  and collects the client's ACKs {"code","headers":{"messageId","contentType"},"message","data"}.
- `drop()` closes the socket as a gateway restart does; `ping()` sends a SYSTEM ping whose ACK echoes `opaque`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.parse
import uuid
from typing import Any

from websockets.legacy.server import WebSocketServerProtocol, serve

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"


class Gateway:
    def __init__(self, app_key: str, app_secret: str) -> None:
        self.app_key, self.app_secret = app_key, app_secret
        self.tickets: set[str] = set()
        self.subscriptions: list[list[dict[str, str]]] = []
        self.sockets: list[WebSocketServerProtocol] = []
        self.refused = 0  # sockets refused for a missing or used ticket
        self.acks: dict[str, list[dict[str, Any]]] = {}
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Any = None

    def __enter__(self) -> Gateway:
        self._thread.start()

        async def listen() -> Any:
            return await serve(self._serve, "127.0.0.1", 0)

        self._server = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(5)
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    @property
    def endpoint(self) -> str:
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/connect"

    # ---- the HTTP half: connections/open ------------------------------------------------------------------
    def open(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("clientId") != self.app_key or body.get("clientSecret") != self.app_secret:
            return 400, {"code": "invalidClientIdOrSecret", "message": "无效的clientId或clientSecret"}
        subscriptions = body.get("subscriptions")
        if not isinstance(subscriptions, list) or not subscriptions:
            return 400, {"code": "InvalidParameter", "message": "subscriptions"}
        ticket = uuid.uuid4().hex
        with self._cond:
            self.tickets.add(ticket)
            self.subscriptions.append(subscriptions)
        return 200, {"endpoint": self.endpoint, "ticket": ticket}

    # ---- the WebSocket half ---------------------------------------------------------------------------------
    async def _serve(self, socket: WebSocketServerProtocol) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(socket.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._cond:
            valid = ticket in self.tickets
            self.tickets.discard(ticket)  # one socket per ticket
            if not valid:
                self.refused += 1
            else:
                self.sockets.append(socket)
            self._cond.notify_all()
        if not valid:
            await socket.close(4001, "invalid ticket")
            return
        async for raw in socket:
            ack = json.loads(raw)
            with self._cond:
                self.acks.setdefault(str(ack["headers"]["messageId"]), []).append(ack)
                self._cond.notify_all()

    def connected(self) -> int:
        with self._cond:
            return sum(1 for s in self.sockets if s.open)

    def wait_connections(self, count: int, timeout: float = 10.0) -> None:
        """Block until `count` sockets were opened in all (with valid tickets)."""
        self._wait(lambda: len(self.sockets) >= count and self.sockets[-1].open, timeout, f"{count} connections")

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"gateway: no {what} in {timeout}s")
                self._cond.wait(left)

    def send(self, frame: dict[str, Any], socket: int = -1) -> None:
        """Send one frame on a socket (the newest by default)."""
        target = self.sockets[socket]
        asyncio.run_coroutine_threadsafe(target.send(json.dumps(frame, ensure_ascii=False)), self._loop).result(5)

    def wait_ack(self, message_id: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        self._wait(lambda: len(self.acks.get(message_id, [])) >= count, timeout, f"{count} ACKs of {message_id}")
        with self._cond:
            return list(self.acks[message_id])

    def drop(self) -> None:
        """Close the newest socket abruptly, as when the gateway restarts."""
        target = self.sockets[-1]
        asyncio.run_coroutine_threadsafe(target.close(1012, "service restart"), self._loop).result(5)

    # ---- frames -------------------------------------------------------------------------------------------
    def frame(self, kind: str, topic: str, data: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        return {
            "specVersion": "1.0",
            "type": kind,
            "headers": {
                "appId": "app-" + self.app_key,
                "connectionId": uuid.uuid4().hex,
                "contentType": "application/json",
                "messageId": message_id or uuid.uuid4().hex,
                "time": str(int(time.time() * 1000)),
                "topic": topic,
            },
            "data": json.dumps(data, ensure_ascii=False),
        }

    def ping(self) -> tuple[str, str]:
        """A SYSTEM ping; returns (messageId, opaque)."""
        opaque = uuid.uuid4().hex
        frame = self.frame("SYSTEM", "ping", {"opaque": opaque})
        self.send(frame)
        return frame["headers"]["messageId"], opaque
