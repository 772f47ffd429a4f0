"""Web chat: the page at `/` and its JSON API (send, and poll for later messages)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from sharedcourt.db.conversation import Message
from sharedcourt.errors import BadRequest, DuplicateMessage
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Inbound, Router
from sharedcourt.web.payload import json_object

CHANNEL = "webchat"
MAX_TEXT = 2000
_SENDER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PAGE = Path(__file__).resolve().parent.parent / "web" / "static" / "chat.html"


class WebChatDeliverer:
    """Web chat delivery is the stored message itself: the page polls for it."""

    async def deliver(self, conversation_id: str, replies: Sequence[Reply]) -> None:
        """Nothing to send: the replies are already stored."""
        return None


def _sender(value: Any) -> str:
    if not isinstance(value, str) or not _SENDER.match(value):
        raise BadRequest("sender must be 1-64 characters of letters, digits, '-' or '_'")
    return value


def _message_json(message: Message) -> dict[str, Any]:
    reply = Reply.from_payload(message.text, message.payload)
    data = reply.to_json()
    data["id"] = message.id
    data["author"] = message.author.split(":", 1)[0]
    data["kind"] = message.kind
    return data


async def post_message(request: Request) -> Response:
    """One message from the page: store it, run the turn, return the replies stored since."""
    router: Router = request.app.state.router
    body = await request.body()
    if len(body) > request.app.state.settings.max_body_bytes:
        return JSONResponse({"error": "消息太长"}, status_code=413)
    data = await json_object(request)
    sender = _sender(data.get("sender"))
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("text must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"text is longer than {MAX_TEXT} characters")
    try:
        stored = await router.store(Inbound(channel=CHANNEL, user_id=sender, text=text.strip()))
    except DuplicateMessage:  # pragma: no cover - web chat sends no external ids
        raise
    await router.process(stored.message_id)
    # Everything stored for this user since the inbound message: this turn's replies and any kept ones.
    messages = await router.messages_after(CHANNEL, sender, stored.message_id)
    replies = [_message_json(m) for m in messages]
    cursor = messages[-1].id if messages else stored.message_id
    return JSONResponse({"replies": replies, "cursor": cursor})


async def get_messages(request: Request) -> Response:
    """Poll: the messages for this sender after the `after` cursor."""
    router: Router = request.app.state.router
    sender = _sender(request.query_params.get("sender"))
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        raise BadRequest("after must be an integer cursor") from None
    messages = await router.messages_after(CHANNEL, sender, after)
    cursor = messages[-1].id if messages else after
    return JSONResponse({"messages": [_message_json(m) for m in messages], "cursor": cursor})


async def page(request: Request) -> Response:
    """The chat page."""
    return FileResponse(PAGE, media_type="text/html; charset=utf-8")


def routes() -> list[Route]:
    """The page and the web chat JSON API."""
    return [
        Route("/", page, methods=["GET"]),
        Route("/webchat/messages", post_message, methods=["POST"]),
        Route("/webchat/messages", get_messages, methods=["GET"]),
    ]
