"""DingTalk (浙政钉) for mediators and judges: the robot's HTTP callback in, robot messages out.

Inbound `/dingtalk/callback`: verified before anything is parsed (the `timestamp` header within one hour of now,
`sign` == Base64(HmacSHA256(appSecret, timestamp + "\\n" + appSecret)), compared in constant time); a failure is
403 with nothing relayed. Then the text (typed, or sent by a card button's dtmd link) goes to
`HandoffService.staff_says`: a command (接单 / 转交 / 结束 / 交还) or words for the resident. The answer for the
person goes back through the message's `sessionWebhook` while it is valid, else through the robot API.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections import OrderedDict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sharedcourt.clients.dingtalk import Card, DingTalkClient, sign
from sharedcourt.errors import AuthError, BadRequest, UpstreamError
from sharedcourt.handoff.texts import TEXT_ONLY

log = logging.getLogger(__name__)

MAX_SKEW_MS = 60 * 60 * 1000
_SEEN_LIMIT = 2048


def verify(app_secret: str, timestamp: str, signature: str, now_ms: int | None = None) -> None:
    """Raise AuthError unless the callback is fresh and signed with our app secret."""
    if not app_secret:
        raise AuthError("DingTalk is not configured")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        sent = int(timestamp)
    except ValueError:
        raise AuthError("timestamp is not a number") from None
    if abs(now_ms - sent) > MAX_SKEW_MS:
        raise AuthError("timestamp outside one hour")
    expected = sign(app_secret, timestamp)
    if not signature or not hmac.compare_digest(expected.encode(), signature.encode()):
        raise AuthError("bad signature")


def _text_of(data: dict[str, Any]) -> str:
    msgtype = data.get("msgtype")
    if msgtype == "text":
        return str((data.get("text") or {}).get("content") or "").strip()
    if msgtype == "richText":
        parts = (data.get("content") or {}).get("richText") or []
        return "".join(str(p.get("text") or "") for p in parts if isinstance(p, dict)).strip()
    return ""


async def callback(request: Request) -> Response:
    """The robot's callback: verify, drop re-deliveries, pass the text to the handoff, answer the person."""
    settings = request.app.state.settings
    verify(settings.dingtalk_app_secret, request.headers.get("timestamp", ""), request.headers.get("sign", ""))
    body = await request.body()
    if len(body) > settings.max_body_bytes:
        raise BadRequest("body too large")
    try:
        data = json.loads(body)
    except ValueError:
        raise BadRequest("body must be JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    seen: OrderedDict[str, None] = request.app.state.dingtalk_seen
    msg_id = str(data.get("msgId") or "")
    if msg_id:
        if msg_id in seen:
            return JSONResponse({})  # DingTalk re-delivered it; it was handled
        seen[msg_id] = None
        while len(seen) > _SEEN_LIMIT:
            seen.popitem(last=False)
    staff_id = str(data.get("senderStaffId") or "")
    text = _text_of(data)
    handoff = request.app.state.handoff
    if not staff_id:
        raise BadRequest("senderStaffId missing")
    if not text:
        answer = TEXT_ONLY
    else:
        outcome = await handoff.service.staff_says(staff_id, text)
        answer = outcome.text
    if answer:
        await _answer(request, data, staff_id, Card(title="共享法庭", text=answer))
    return JSONResponse({})


async def _answer(request: Request, data: dict[str, Any], staff_id: str, card: Card) -> None:
    """sessionWebhook while it is valid, else the robot one-to-one API; failures are logged, not raised."""
    client: DingTalkClient | None = getattr(getattr(request.app.state.handoff, "notifier", None), "client", None)
    if client is None:
        return
    webhook = data.get("sessionWebhook")
    expires = data.get("sessionWebhookExpiredTime")
    try:
        if webhook and isinstance(expires, int | float) and expires > time.time() * 1000:
            await client.reply_webhook(str(webhook), card, at_user=staff_id)
        else:
            await client.send_to_users([staff_id], card)
    except UpstreamError as exc:
        log.warning("dingtalk: could not answer %s: %s", staff_id, exc)


def routes() -> list[Route]:
    """The DingTalk robot's callback route."""
    return [Route("/dingtalk/callback", callback, methods=["POST"])]
