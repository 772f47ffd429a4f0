"""Handoff to a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_human_requested")
        return []
