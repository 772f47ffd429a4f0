"""Web chat: the page at `/` and its JSON API, acting only for the conversation its cookie names.

Identity. The API issues a random 256-bit token (`secrets.token_urlsafe(32)`) as the cookie `COOKIE` (HttpOnly,
SameSite=Strict, Path=/, Max-Age 180 days, Secure when PUBLIC_URL is https) to a request that carries none or a
malformed one. The router's user id is `resident_id(token)`, the SHA-256 of the token, so the database never holds
the credential (the token has 256 random bits: its hash cannot be turned back into it). A `sender` field or query
parameter from a client is ignored: it never chooses the conversation, and no resident id appears in a URL.
`GET /webchat/messages?after=N` without a cookie answers an empty list with a fresh cookie; `POST` without one
starts a new conversation with a fresh cookie. The page itself sets no cookie (a cross-site link to it carries no
Strict cookie, and must not replace the resident's).

Limits. Each accepted `POST` counts against the conversation (WEBCHAT_PER_SENDER_PER_MINUTE) and the client address
(WEBCHAT_PER_ADDRESS_PER_MINUTE; 0 switches a limit off) in a sliding 60-second window kept in this process: each
front door applies it on its own (a shared limiter is the cluster's job). The address is the ASGI client's: behind
a reverse proxy, uvicorn's --proxy-headers (on by default, trusting FORWARDED_ALLOW_IPS, 127.0.0.1 unless set)
takes it from X-Forwarded-For. Over a limit: 429 with a Chinese message and Retry-After, and nothing is stored.

Retries. A `POST` may carry `client_id` (1-64 of A-Z a-z 0-9 _ -), chosen by the page per message: a second `POST`
with the same `client_id` from the same cookie (a retry after a lost answer, reaching another front door) stores
nothing new; it answers the first copy (running its turn if the front door that stored it died first) and returns
the replies stored since it. Without `client_id` every `POST` is a new message.
"""

from __future__ import annotations

import collections
import hashlib
import math
import re
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import reader
from sharedcourt.errors import BadRequest, DuplicateMessage
from sharedcourt.messaging import transcript
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Inbound, Router
from sharedcourt.messaging.transcript import Shown, shown_columns
from sharedcourt.settings import Settings
from sharedcourt.web.payload import json_object

CHANNEL = "webchat"
MAX_TEXT = 2000
COOKIE = "sharedcourt_chat"
COOKIE_MAX_AGE = 180 * 24 * 3600  # a resident comes back to a booking weeks later
HISTORY_PAGE = 100  # messages per GET; the page asks again while `more` is true
WINDOW_SECONDS = 60.0
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # what secrets.token_urlsafe(32) gives
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PAGE = Path(__file__).resolve().parent.parent / "web" / "static" / "chat.html"


class WebChatDeliverer:
    """Web chat delivery is the stored message itself: the page polls for it."""

    async def deliver(self, conversation_id: str, replies: Sequence[Reply]) -> None:
        """Nothing to send: the replies are already stored."""
        return None


def resident_id(token: str) -> str:
    """The router's user id for a web chat cookie: its SHA-256, so the database never holds the cookie."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    """A fresh web chat credential: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _token(request: Request) -> tuple[str, bool]:
    """The request's web chat token, and whether it was just issued (no cookie, or not one of ours)."""
    value = request.cookies.get(COOKIE, "")
    if _TOKEN.match(value):
        return value, False
    return new_token(), True


def _set_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=settings.public_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )


class SlidingWindow:
    """At most `limit` events per key in any `window` seconds: a log of event times, in this process only."""

    def __init__(self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        """An empty log; `clock` gives seconds (monotonic)."""
        self.window = window
        self.clock = clock
        # Least recently used first, so keys idle for a whole window are dropped from the front.
        self._events: collections.OrderedDict[str, collections.deque[float]] = collections.OrderedDict()

    def _forget_idle(self, now: float) -> None:
        while self._events:
            key, log = next(iter(self._events.items()))
            if log and log[-1] > now - self.window:
                break
            del self._events[key]

    def _log(self, key: str, now: float) -> collections.deque[float]:
        log = self._events.setdefault(key, collections.deque())
        self._events.move_to_end(key)
        while log and log[0] <= now - self.window:
            log.popleft()
        return log

    def admit(self, checks: Sequence[tuple[str, int]]) -> float:
        """Record one event under every key if each is under its limit; else the seconds to wait (nothing recorded).

        A limit of 0 or less never refuses.
        """
        now = self.clock()
        self._forget_idle(now)
        logs = [(self._log(key, now), limit) for key, limit in checks if limit > 0]
        wait = max((log[-limit] + self.window - now for log, limit in logs if len(log) >= limit), default=0.0)
        if wait > 0:
            return wait
        for log, _ in logs:
            log.append(now)
        return 0.0

    def __len__(self) -> int:
        """How many keys the log holds (it forgets keys idle for a whole window)."""
        return len(self._events)


def too_fast(wait: float) -> JSONResponse:
    """The answer over a rate limit: 429, when to try again, in Chinese for the resident."""
    seconds = max(1, math.ceil(wait))
    return JSONResponse(
        {"error": f"您发送得太快了，请等 {seconds} 秒后再发。这条消息没有发出。"},
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def _text(data: dict[str, Any]) -> str:
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("text must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"text is longer than {MAX_TEXT} characters")
    return text.strip()


def _client_id(data: dict[str, Any], user_id: str) -> str | None:
    """The stored external id of a message the page numbered, scoped to its resident; None when unnumbered."""
    value = data.get("client_id")
    if value is None:
        return None
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        raise BadRequest("client_id must be 1-64 letters, digits, '_' or '-'")
    # Scoped by the resident (a prefix of the cookie's hash): one resident's ids never collide with another's.
    return f"{user_id[:32]}:{value}"


def _after(request: Request) -> int:
    try:
        return int(request.query_params.get("after", "0"))
    except ValueError:
        raise BadRequest("after must be an integer cursor") from None


def _message_json(message: Shown) -> dict[str, Any]:
    reply = Reply.from_payload(message.text, message.payload)
    data = reply.to_json()
    data["id"] = message.id
    data["author"] = message.author.split(":", 1)[0]
    data["kind"] = message.kind
    return data


async def history(
    sessions: async_sessionmaker[AsyncSession], user_id: str, after: int, limit: int = HISTORY_PAGE
) -> Sequence[Shown]:
    """Every message of a web chat resident, both ways, after a cursor (what the page shows)."""
    async with reader(sessions) as session:
        rows = await session.execute(
            select(*shown_columns())
            .select_from(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Resident, Resident.id == Conversation.resident_id)
            .where(Resident.channel == CHANNEL, Resident.channel_user_id == user_id, Message.id > after)
            .order_by(Message.id)
            .limit(limit)
        )
        shown: Sequence[Shown] = rows.all()
        return shown


class WebChat:
    """The web chat API of one app: its rate-limit log lives as long as the app."""

    def __init__(self, limits: SlidingWindow | None = None) -> None:
        """A fresh log unless a test hands one in."""
        self.limits = limits or SlidingWindow()

    def _admit(self, request: Request, user_id: str) -> float:
        settings: Settings = request.app.state.settings
        address = request.client.host if request.client else "unknown"
        return self.limits.admit(
            [
                (f"conversation:{user_id}", settings.webchat_per_sender_per_minute),
                (f"address:{address}", settings.webchat_per_address_per_minute),
            ]
        )

    async def post_message(self, request: Request) -> Response:
        """One message from the page: store it, run the turn, return the replies stored since."""
        router: Router = request.app.state.router
        settings: Settings = request.app.state.settings
        token, _ = _token(request)
        body = await request.body()
        if len(body) > settings.max_body_bytes:
            return JSONResponse({"error": "消息太长"}, status_code=413)
        data = await json_object(request)
        text = _text(data)  # a `sender` field, if any, is ignored
        user_id = resident_id(token)
        external_id = _client_id(data, user_id)
        wait = self._admit(request, user_id)
        if wait > 0:
            response: Response = too_fast(wait)
        else:
            message_id = await self._store_and_answer(router, Inbound(CHANNEL, user_id, text, external_id=external_id))
            # Everything stored for this user since the inbound message: this turn's replies and any kept ones.
            messages = await transcript.messages_after(router.sessions, CHANNEL, user_id, message_id)
            cursor = messages[-1].id if messages else message_id
            replies = [_message_json(m) for m in messages]
            response = JSONResponse({"id": message_id, "replies": replies, "cursor": cursor})
        _set_cookie(response, token, settings)  # each message renews the cookie's lifetime
        return response

    @staticmethod
    async def _store_and_answer(router: Router, inbound: Inbound) -> int:
        """Store and answer a message; a retry of a stored one answers the first copy (a no-op once answered)."""
        try:
            # Stored and claimed in one transaction (Router.receive): one transaction fewer per message.
            return (await router.receive(inbound))[0].message_id
        except DuplicateMessage as duplicate:
            await router.process(duplicate.message_id)
            return duplicate.message_id

    async def get_messages(self, request: Request) -> Response:
        """Poll and history: this cookie's messages, both ways, after the `after` cursor."""
        token, fresh = _token(request)
        after = _after(request)
        messages = [] if fresh else await history(request.app.state.sessions, resident_id(token), after)
        cursor = messages[-1].id if messages else after
        body = {"messages": [_message_json(m) for m in messages], "cursor": cursor}
        response = JSONResponse({**body, "more": len(messages) == HISTORY_PAGE})
        if fresh:
            _set_cookie(response, token, request.app.state.settings)
        return response


async def page(request: Request) -> Response:
    """The chat page (it sets no cookie: its first request to the API gets one)."""
    return FileResponse(PAGE, media_type="text/html; charset=utf-8")


def routes() -> list[Route]:
    """The page and the web chat JSON API, with a rate-limit log for this app."""
    chat = WebChat()
    return [
        Route("/", page, methods=["GET"]),
        Route("/webchat/messages", chat.post_message, methods=["POST"]),
        Route("/webchat/messages", chat.get_messages, methods=["GET"]),
    ]
