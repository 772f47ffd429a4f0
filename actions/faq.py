"""普法 actions (issue 15): thin adapters from the tracker to `sharedcourt.faq`."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.wiring import latest_text, say, wiring
from sharedcourt.domain.clock import TZ
from sharedcourt.faq.service import answer_question
from sharedcourt.faq.stream_optout import stop_for_conversation
from sharedcourt.faq.stream_reminders import schedule_with_buttons


def classified_type(tracker: Tracker) -> str | None:
    """The dispute type the classifier ranked highest for the latest message (its `dispute_<code>` intent)."""
    for ranked in tracker.latest_message.get("intent_ranking") or []:
        name = str(ranked.get("name") or "")
        if name.startswith("dispute_"):
            return name.removeprefix("dispute_")
    return None


class ActionAnswerLaw(Action):
    """A question about the law: the knowledge base's answer, or "not sure" with the 共享律师 or a person."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_answer_law"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Answer (the console's edits included; a question it cannot answer is counted for the console), and keep
        the entry's dispute type for a request for mediation right after."""
        result = await answer_question(
            wiring.db(),
            latest_text(tracker),
            refresh_seconds=wiring.config().faq_refresh_seconds,
            classified=classified_type(tracker),
            now=wiring.clock(),
        )
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
        """List the upcoming streams, each with a button to be reminded before it starts."""
        say(dispatcher, schedule_with_buttons(latest_text(tracker), wiring.clock().astimezone(TZ)))
        return []


class ActionStopPufaReminders(Action):
    """'直播不用提醒我了': cancel the resident's pending 普法 stream reminders and say which."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_stop_pufa_reminders"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Cancel every pending stream reminder of the conversation's resident."""
        say(dispatcher, await stop_for_conversation(wiring.db(), tracker.sender_id))
        return []


__all__ = ["ActionAnswerLaw", "ActionPufaStreams", "ActionStopPufaReminders"]
