"""普法 actions (issue 15): thin adapters from the tracker to `sharedcourt.faq`."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.wiring import latest_text, say, wiring
from sharedcourt.domain.clock import TZ
from sharedcourt.faq.answer import answer
from sharedcourt.faq.streams import schedule_reply


class ActionAnswerLaw(Action):
    """A question about the law: the knowledge base's answer, or "not sure" with the 共享律师 or a person."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_answer_law"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Answer, and keep the entry's dispute type for a request for mediation right after."""
        result = answer(latest_text(tracker))
        say(dispatcher, *result.replies)
        entry = result.entry
        return [
            SlotSet("faq_dispute", entry.dispute if entry else None),
            SlotSet("faq_entry", entry.id if entry else None),
        ]


class ActionPufaStreams(Action):
    """The upcoming 普法 live streams for the county named in the message (or all)."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_pufa_streams"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """List the upcoming streams."""
        say(dispatcher, schedule_reply(latest_text(tracker), wiring.clock().astimezone(TZ)))
        return []


__all__ = ["ActionAnswerLaw", "ActionPufaStreams"]
