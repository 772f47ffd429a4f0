"""DingTalk (浙政钉) for mediators and judges: the robot's HTTP callback in, robot messages out. `handle_message`
is shared with Stream mode (channels/dingtalk_stream.py); card presses are in channels/dingtalk_cards.py.

Inbound `/dingtalk/callback`, refused (403, nothing stored or relayed) unless:
- signed: `sign` == Base64(HmacSHA256(appSecret, timestamp + "\\n" + appSecret)), compared in constant time;
- fresh: the `timestamp` header within `MAX_SKEW_MS` (5 minutes) either side of now (DingTalk allows an hour;
  the signature covers only the timestamp, so the window is kept short);
- new: the (timestamp, sign) pair was not seen before; pairs are kept in the database (`seen_signatures`) for
  the window, so every front door shares the memory.
A sender (`senderStaffId`) who is not on the roster is ignored: 200, a log line, nothing relayed or answered.
The `msgId` is claimed in the database before handling and marked handled after it (`dingtalk_inbound`): a
handled message re-delivered is a no-op on any front door; one being handled elsewhere is 409 (DingTalk retries);
a failed handling releases the claim, so the retry is processed.
Then the text (typed, or sent by a card button's dtmd link) goes to `HandoffService.staff_says`. The answer goes
back through the message's `sessionWebhook` only while it is valid and on DingTalk's API host (or the configured
API base); any other host is never contacted and the robot API answers instead.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sharedcourt.channels import replay
from sharedcourt.clients.dingtalk import Card, DingTalkClient, sign
from sharedcourt.db.audit import DingTalkInbound
from sharedcourt.db.base import utcnow
from sharedcourt.db.session import unit_of_work
from sharedcourt.errors import AuthError, BadRequest, Conflict, UpstreamError
from sharedcourt.handoff.dingtalk_cards import InteractiveCards
from sharedcourt.handoff.service import HandoffService
from sharedcourt.handoff.texts import TEXT_ONLY
from sharedcourt.web.payload import parse_object

log = logging.getLogger(__name__)

CHANNEL = "dingtalk"
MAX_SKEW_MS = 5 * 60 * 1000
# A pair is remembered for the window on both sides of its timestamp.
REPLAY_KEEP = dt.timedelta(milliseconds=2 * MAX_SKEW_MS)
# A claim older than this was left by a front door that died mid-handling; a re-delivery may take it over.
CLAIM_LEASE = dt.timedelta(minutes=2)
KEEP_HANDLED = dt.timedelta(days=2)  # DingTalk re-delivers within minutes; older msgIds are forgotten


class Claim(enum.Enum):
    """What this front door may do with an inbound msgId."""

    MINE = "mine"
    HANDLED = "handled"
    BUSY = "busy"


def verify(app_secret: str, timestamp: str, signature: str, now_ms: int | None = None) -> None:
    """Raise AuthError unless the callback is fresh and signed with our app secret."""
    if not app_secret:
        raise AuthError("DingTalk is not configured")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not timestamp.isdigit() or len(timestamp) > 16 or len(signature) > 100:
        raise AuthError("timestamp is not a number")
    if abs(now_ms - int(timestamp)) > MAX_SKEW_MS:
        raise AuthError("timestamp outside five minutes")
    expected = sign(app_secret, timestamp)
    if not signature or not hmac.compare_digest(expected.encode(), signature.encode()):
        raise AuthError("bad signature")


async def claim_message(sessions: async_sessionmaker[AsyncSession], msg_id: str, now: dt.datetime) -> Claim:
    """Claim a msgId for handling here, unless it was handled or another front door is handling it."""
    try:
        async with unit_of_work(sessions) as session:
            await session.execute(delete(DingTalkInbound).where(DingTalkInbound.claimed_at < now - KEEP_HANDLED))
            row = await session.scalar(
                select(DingTalkInbound).where(DingTalkInbound.msg_id == msg_id).with_for_update()
            )
            if row is None:
                session.add(DingTalkInbound(msg_id=msg_id, claimed_at=now))
                return Claim.MINE
            if row.handled_at is not None:
                return Claim.HANDLED
            if row.claimed_at > now - CLAIM_LEASE:
                return Claim.BUSY
            row.claimed_at = now  # its first handler died; take it over
            return Claim.MINE
    except IntegrityError:
        return Claim.BUSY  # another front door claimed it at the same moment


async def mark_handled(sessions: async_sessionmaker[AsyncSession], msg_id: str, now: dt.datetime) -> None:
    """The message was handled: a re-delivery is now a no-op everywhere."""
    async with unit_of_work(sessions) as session:
        row = await session.get(DingTalkInbound, msg_id)
        if row is not None:
            row.handled_at = now


async def release(sessions: async_sessionmaker[AsyncSession], msg_id: str) -> None:
    """Handling failed: forget the claim so DingTalk's re-delivery is processed."""
    async with unit_of_work(sessions) as session:
        await session.execute(
            delete(DingTalkInbound).where(DingTalkInbound.msg_id == msg_id, DingTalkInbound.handled_at.is_(None))
        )


def _text_of(data: dict[str, Any]) -> str:
    msgtype = data.get("msgtype")
    if msgtype == "text":
        return str((data.get("text") or {}).get("content") or "").strip()
    if msgtype == "richText":
        parts = (data.get("content") or {}).get("richText") or []
        return "".join(str(p.get("text") or "") for p in parts if isinstance(p, dict)).strip()
    return ""


@dataclass(frozen=True)
class Inbox:
    """What handling a person's DingTalk message or card press needs, from the app's state."""

    sessions: async_sessionmaker[AsyncSession]
    service: HandoffService
    client: DingTalkClient | None
    cards: InteractiveCards | None

    @classmethod
    def of(cls, state: Any) -> Inbox:
        """The inbox of a running app (its lifespan built the handoff runtime)."""
        handoff = state.handoff
        return cls(state.sessions, handoff.service, handoff.client, handoff.cards)


async def handle_message(inbox: Inbox, data: dict[str, Any]) -> None:
    """A robot message (HTTP callback or Stream): ignore strangers, handle each msgId once, answer the person.
    Conflict while another front door is handling the same msgId."""
    staff_id, msg_id = str(data.get("senderStaffId") or ""), str(data.get("msgId") or "")
    if not staff_id or not msg_id or len(msg_id) > 128:
        raise BadRequest("senderStaffId and msgId are required")
    service = inbox.service
    if service.roster.by_dingtalk.get(staff_id) is None:
        log.warning("dingtalk: message from %s, who is not on the roster, ignored", staff_id[:64])
        return
    claim = await claim_message(inbox.sessions, msg_id, utcnow())
    if claim is Claim.HANDLED:
        return  # DingTalk re-delivered it; it was handled
    if claim is Claim.BUSY:
        raise Conflict("this message is being handled")
    try:
        text = _text_of(data)
        outcome = await service.staff_says(staff_id, text) if text else None
    except BaseException:
        await release(inbox.sessions, msg_id)
        raise
    await mark_handled(inbox.sessions, msg_id, utcnow())
    answer = outcome.text if outcome is not None else TEXT_ONLY
    if answer and inbox.client is not None:
        await answer_person(inbox.client, data, staff_id, Card(title="共享法庭", text=answer))


async def callback(request: Request) -> Response:
    """The robot's callback: verify, refuse replays, then `handle_message`."""
    state = request.app.state
    await authenticate(request)
    data = parse_object(await request.body())  # 400 on bad JSON or surrogates; control characters removed
    await handle_message(Inbox.of(state), data)
    return JSONResponse({})


async def authenticate(request: Request) -> None:
    """AuthError unless signed with our app secret, fresh and never seen before (any front door)."""
    state = request.app.state
    timestamp, signature = request.headers.get("timestamp", ""), request.headers.get("sign", "")
    verify(state.settings.dingtalk_app_secret, timestamp, signature)
    await replay.remember(state.sessions, CHANNEL, f"{timestamp}:{signature}", utcnow(), REPLAY_KEEP)


async def answer_person(client: DingTalkClient, data: dict[str, Any], staff_id: str, card: Card) -> None:
    """sessionWebhook while valid and on DingTalk's host, else the robot one-to-one API; failures are logged."""
    webhook = str(data.get("sessionWebhook") or "")
    expires = data.get("sessionWebhookExpiredTime")
    fresh = bool(webhook) and isinstance(expires, int | float) and expires > time.time() * 1000
    if fresh and not client.webhook_allowed(webhook):
        log.warning("dingtalk: sessionWebhook off DingTalk's host not contacted; answering %s by robot", staff_id)
        fresh = False
    try:
        if fresh:
            await client.reply_webhook(webhook, card, at_user=staff_id)
        else:
            await client.send_to_users([staff_id], card)
    except UpstreamError as exc:
        log.warning("dingtalk: could not answer %s: %s", staff_id, exc)


def routes() -> list[Route]:
    """The DingTalk robot's callback route."""
    return [Route("/dingtalk/callback", callback, methods=["POST"])]
