"""Shared callback wiring: routes answered by the channel in app.state, delivery registered only when given."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sharedcourt.channels.callback import attach, callback_routes
from sharedcourt.messaging.outbox import Outbox
from sharedcourt.messaging.router import Router


class Endpoint:
    async def verify_url(self, request: Request) -> Response:
        return PlainTextResponse("checked")

    async def callback(self, request: Request) -> Response:
        return PlainTextResponse("pushed")


class Sender:
    async def send(self, item: Any) -> Any:
        return None


class Deliverer:
    async def deliver(self, conversation_id: str, replies: Any) -> None:
        return None


async def test_routes_reach_the_attached_channel() -> None:
    app = Starlette(routes=callback_routes("/demo/callback", "demo"))
    router, outbox = Router(None, None), Outbox(None)  # type: ignore[arg-type]
    channel = Endpoint()
    assert attach(app, "demo", channel, router, outbox, None) is channel
    assert "demo" not in router.deliverers
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo.test") as client:
        assert (await client.get("/demo/callback")).text == "checked"
        assert (await client.post("/demo/callback")).text == "pushed"


def test_delivery_is_registered_under_the_channel_name() -> None:
    app = Starlette()
    router, outbox = Router(None, None), Outbox(None)  # type: ignore[arg-type]
    sender, deliverer = Sender(), Deliverer()
    attach(app, "demo", Endpoint(), router, outbox, (sender, deliverer))
    assert router.deliverers["demo"] is deliverer
    assert outbox.senders["demo"] is sender
    assert app.state.demo is not None
