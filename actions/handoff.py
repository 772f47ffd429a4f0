"""Handoff actions: thin adapters to `sharedcourt.handoff.remote` (the app owns tickets and notifications)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.wiring import say, settings
from sharedcourt.handoff import remote


class ActionRequestHuman(Action):
    """Create a ticket (routing, DingTalk, escalation happen in the app) and say truthfully what happens next."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Ask the front door for a person with what the slots know."""
        slots = tracker.slots
        reply = await remote.request_person(
            settings(),
            tracker.sender_id,
            intent=(tracker.latest_message or {}).get("intent", {}).get("name"),
            dispute_code=slots.get("dispute_code"),
            urgent=bool(slots.get("urgent")),
            amount=slots.get("amount_yuan"),
            site_code=slots.get("site_code"),
        )
        say(dispatcher, reply)
        return []


class ActionEndHuman(Action):
    """'结束人工' while the bot answers: withdraw a request nobody has accepted yet."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_end_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Withdraw the request and say so."""
        say(dispatcher, await remote.end_person(settings(), tracker.sender_id))
        return []


class ActionMyCase(Action):
    """'我的案件': status of the case and who handles it."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_my_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Say the case's status."""
        say(dispatcher, await remote.my_case(settings(), tracker.sender_id))
        return []


def _rating(tracker: Tracker) -> Any:
    """The rating as the resident gave it: the slot, or the latest message's last `rating` entity."""
    raw = tracker.get_slot("rating")
    for found in (tracker.latest_message or {}).get("entities") or []:
        if found.get("entity") == "rating":
            raw = found.get("value")
    return raw


class ActionRateHandoff(Action):
    """Store the 1-5 score; the comment form asks for an optional comment next."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_rate_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Store the score, or ask again for a number from 1 to 5."""
        rated = await remote.rate(settings(), tracker.sender_id, _rating(tracker))
        say(dispatcher, *rated.replies)
        return [SlotSet("rating", None if rated.score is None else str(rated.score))]


class ActionSaveHandoffComment(Action):
    """Store the optional comment after the score and thank the resident."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_save_handoff_comment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Store the comment and clear the rating slots."""
        comment = str(tracker.get_slot("handoff_comment") or "")
        say(dispatcher, await remote.save_comment(settings(), tracker.sender_id, comment))
        return [SlotSet("handoff_comment", None), SlotSet("rating", None)]
