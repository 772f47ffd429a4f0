"""Handoff actions: thin calls to the front door's handoff API (the app owns tickets and notifications).

The app listens on APP_INTERNAL_URL (default http://127.0.0.1:$PORT) and authorises with STAFF_TOKEN; both
processes read the same environment (sharedcourt.cli.procs.app_env).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from sharedcourt.settings import Settings

log = logging.getLogger(__name__)

UNAVAILABLE = "抱歉，人工服务系统暂时连接不上。您可以稍后再试，或拨打12368诉讼服务热线；紧急情况请拨打110。"
TIMEOUT = httpx.Timeout(15.0, connect=2.0)


@functools.lru_cache(maxsize=1)
def _endpoint() -> tuple[str, str]:
    settings = Settings.from_env()
    return settings.internal_url, settings.staff_token


async def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One call to the handoff API; any failure becomes {"ok": False, "text": UNAVAILABLE}."""
    base, token = _endpoint()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
            response = await client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("handoff API %s %s failed: %r", method, path, exc)
        return {"ok": False, "text": UNAVAILABLE}


def _amount(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class ActionRequestHuman(Action):
    """Create a ticket (routing, DingTalk, escalation happen in the app) and say truthfully what happens next."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slots = tracker.slots
        intent = (tracker.latest_message or {}).get("intent", {}).get("name")
        body = {
            "conversation_id": tracker.sender_id,
            "reason": "asked" if intent == "request_human" else (intent or "asked"),
            "dispute_code": slots.get("dispute_code"),
            "urgent": bool(slots.get("urgent")),
            "amount": _amount(slots.get("amount_yuan")),
            "site_code": slots.get("site_code"),
        }
        result = await call("POST", "/handoff/requests", json=body)
        dispatcher.utter_message(text=result.get("text") or UNAVAILABLE)
        return []


class ActionEndHuman(Action):
    """'结束人工' while the bot answers: withdraw a request nobody has accepted yet."""

    def name(self) -> str:
        return "action_end_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        result = await call("POST", "/handoff/cancel", json={"conversation_id": tracker.sender_id})
        dispatcher.utter_message(text=result.get("text") or UNAVAILABLE)
        return []


class ActionMyCase(Action):
    """'我的案件': status of the case and who handles it."""

    def name(self) -> str:
        return "action_my_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        result = await call("GET", "/handoff/status", params={"conversation_id": tracker.sender_id})
        dispatcher.utter_message(text=result.get("text") or UNAVAILABLE)
        return []


def _rating(tracker: Tracker) -> int | None:
    raw = tracker.get_slot("rating")
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "rating":
            raw = entity.get("value")
    try:
        value = int(str(raw).strip().rstrip("分"))
    except (TypeError, ValueError):
        return None
    return value if 1 <= value <= 5 else None


class ActionRateHandoff(Action):
    """Store the 1-5 score; the comment form asks for an optional comment next."""

    def name(self) -> str:
        return "action_rate_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        score = _rating(tracker)
        if score is None:
            dispatcher.utter_message(text="请回复1到5之间的数字打分（5分最满意）。")
            return [SlotSet("rating", None)]
        result = await call("POST", "/handoff/ratings", json={"conversation_id": tracker.sender_id, "score": score})
        if not result.get("ok"):
            dispatcher.utter_message(text=result.get("text") or UNAVAILABLE)
        return [SlotSet("rating", str(score))]


class ActionSaveHandoffComment(Action):
    def name(self) -> str:
        return "action_save_handoff_comment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        comment = str(tracker.get_slot("handoff_comment") or "")
        await call("POST", "/handoff/ratings", json={"conversation_id": tracker.sender_id, "comment": comment})
        dispatcher.utter_message(text="感谢您的评价，我们会继续改进。还有什么可以帮您？")
        return [SlotSet("handoff_comment", None), SlotSet("rating", None)]
