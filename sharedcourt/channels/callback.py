"""What Tencent-style callback channels (WeChat, WeCom) share: their routes and how they are wired in."""

from __future__ import annotations

from typing import Protocol, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sharedcourt.messaging.outbox import Outbox, Sender
from sharedcourt.messaging.router import Deliverer, Router


class Endpoint(Protocol):
    """A channel that answers the callback URL check (GET) and pushes (POST)."""

    async def verify_url(self, request: Request) -> Response:
        """Answer the platform's URL check."""

    async def callback(self, request: Request) -> Response:
        """Answer one push."""


EndpointT = TypeVar("EndpointT", bound=Endpoint)


def attach(
    app: Starlette,
    name: str,
    channel: EndpointT,
    router: Router,
    outbox: Outbox | None,
    delivery: tuple[Sender, Deliverer] | None,
) -> EndpointT:
    """Serve `channel` as `app.state.<name>`; with `delivery`, later messages go through its sender."""
    if outbox is not None and delivery is not None:
        sender, deliverer = delivery
        outbox.register(name, sender)
        router.deliverers[name] = deliverer
    setattr(app.state, name, channel)
    return channel


def callback_routes(path: str, name: str) -> list[Route]:
    """GET and POST of `path`, answered by the channel stored as `app.state.<name>`."""

    async def get(request: Request) -> Response:
        channel: Endpoint = getattr(request.app.state, name)
        return await channel.verify_url(request)

    async def post(request: Request) -> Response:
        channel: Endpoint = getattr(request.app.state, name)
        return await channel.callback(request)

    return [Route(path, get, methods=["GET"]), Route(path, post, methods=["POST"])]
