"""The handoff as the action server reaches it: one call to the front door's handoff API per resident turn,
answered in the resident's words (the app owns tickets and notifications; when it cannot be reached the
resident is told so, with the hotlines)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from sharedcourt.clients.frontdoor import FrontDoorClient, FrontDoorError, HandoffAnswer
from sharedcourt.handoff.core import as_number
from sharedcourt.handoff.texts import ASK_SCORE, THANKS_FOR_COMMENT, UNAVAILABLE
from sharedcourt.messaging.replies import Reply
from sharedcourt.settings import Settings

log = logging.getLogger(__name__)

Call = Callable[[FrontDoorClient], Awaitable[HandoffAnswer]]


@dataclass(frozen=True)
class Rated:
    """A rating turn: the score understood (None: ask again) and what to say."""

    score: int | None
    replies: tuple[Reply, ...] = ()


async def _ask(settings: Settings, call: Call, transport: httpx.AsyncBaseTransport | None) -> HandoffAnswer | None:
    """One API call; None when the front door could not answer (logged)."""
    try:
        async with FrontDoorClient(settings, transport=transport) as api:
            return await call(api)
    except FrontDoorError as exc:
        log.warning("handoff API failed: %s", exc)
        return None


def _words(answer: HandoffAnswer | None) -> Reply:
    return Reply(answer.text if answer is not None and answer.text else UNAVAILABLE)


async def request_person(
    settings: Settings,
    conversation_id: str,
    *,
    intent: str | None,
    dispute_code: str | None,
    urgent: bool,
    amount: Any,
    site_code: str | None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Reply:
    """Ask for a person (routing, DingTalk and escalation happen in the app) and say what happens next."""
    body = {
        "conversation_id": conversation_id,
        "reason": "asked" if intent == "request_human" else (intent or "asked"),
        "dispute_code": dispute_code,
        "urgent": urgent,
        "amount": as_number(amount),
        "site_code": site_code,
    }
    return _words(await _ask(settings, lambda api: api.request_handoff(body), transport))


async def end_person(
    settings: Settings, conversation_id: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> Reply:
    """'结束人工' while the bot answers: withdraw a request nobody has accepted yet."""
    return _words(await _ask(settings, lambda api: api.cancel_handoff(conversation_id), transport))


async def my_case(
    settings: Settings, conversation_id: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> Reply:
    """'我的案件': the case's status and who handles it."""
    return _words(await _ask(settings, lambda api: api.handoff_status(conversation_id), transport))


def parse_score(raw: Any) -> int | None:
    """'5', '4分', 3 -> the score; anything outside 1-5 is None."""
    try:
        value = int(str(raw).strip().rstrip("分"))
    except (TypeError, ValueError):
        return None
    return value if 1 <= value <= 5 else None


async def rate(
    settings: Settings, conversation_id: str, raw: Any, *, transport: httpx.AsyncBaseTransport | None = None
) -> Rated:
    """Store the 1-5 score; only a problem is said (the comment form asks for a comment next)."""
    score = parse_score(raw)
    if score is None:
        return Rated(None, (Reply(ASK_SCORE),))
    answer = await _ask(settings, lambda api: api.rate_handoff(conversation_id, score=score), transport)
    return Rated(score, () if answer is not None and answer.ok else (_words(answer),))


async def save_comment(
    settings: Settings, conversation_id: str, comment: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> Reply:
    """Store the optional comment (a failure is only logged) and thank the resident."""
    await _ask(settings, lambda api: api.rate_handoff(conversation_id, comment=comment), transport)
    return Reply(THANKS_FOR_COMMENT)
