"""Site actions (issue 5): "离我最近的共享法庭在哪" and a site's address, as thin adapters over the site steps.

`action_find_site` runs `sharedcourt.booking.finding.find_site` (sharedcourt.sites.finder asks county → town →
village and picks the site; with a case awaiting a booking the site's free slots are offered next);
`action_site_info` runs `sharedcourt.booking.finding.site_info`.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.wiring import entity, latest_text, say, wiring
from sharedcourt.booking import finding
from sharedcourt.booking.turns import Step
from sharedcourt.sites.finder import Heard


def _heard(tracker: Tracker) -> Heard:
    intent: Any = (tracker.latest_message.get("intent") or {}).get("name")
    return Heard(tracker.sender_id, latest_text(tracker), intent, entity(tracker, "booking_choice"), tracker.slots)


def _answer(dispatcher: CollectingDispatcher, step: Step) -> list[EventType]:
    say(dispatcher, *step.replies)
    return [SlotSet(name, value) for name, value in step.slots.items()]


class ActionFindSite(Action):
    """Where is the nearest Shared Court (and, with a case to book, its free slots)."""

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_find_site"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """One step of finding the resident's site."""
        return _answer(dispatcher, await finding.find_site(wiring.db(), _heard(tracker), wiring.clock()))


class ActionSiteInfo(Action):
    """A site chosen from the alternatives when no booking is in progress: its address and phone."""

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_site_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Say the chosen site's address and phone."""
        return _answer(dispatcher, await finding.site_info(wiring.db(), _heard(tracker), wiring.clock()))
