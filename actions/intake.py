"""Intake actions (issue 3): thin adapters from the Rasa tracker to `sharedcourt.intake.service`."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.wiring import say, settings, wiring
from sharedcourt.intake import service
from sharedcourt.intake.classify import Thresholds
from sharedcourt.intake.extract import warm_up
from sharedcourt.intake.facts import FORM, ask_slots, in_progress, required_slots
from sharedcourt.intake.form import Step, Turn, ask


def turn_of(tracker: Tracker) -> Turn:
    """The latest user message as the form sees it."""
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    return Turn(
        text=str(message.get("text") or ""),
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        ranking=message.get("intent_ranking") or [],
        entities=message.get("entities") or [],
    )


def thresholds() -> Thresholds:
    """When the intake asks the resident to choose the type: the action server's settings."""
    return Thresholds.from_settings(settings())


def misunderstood_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user messages in a row the NLU could not understand."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if (event.get("parse_data") or {}).get("intent", {}).get("name") != "nlu_fallback":
            break
        count += 1
    return count


def events_of(dispatcher: CollectingDispatcher, step: Step) -> list[EventType]:
    """Say the step's replies and turn its slot updates (and follow-up action) into events."""
    say(dispatcher, *step.messages)
    if step.response:
        dispatcher.utter_message(response=step.response)
    events: list[EventType] = [SlotSet(k, v) for k, v in step.updates.items()]
    if step.followup:
        events.append(FollowupAction(step.followup))
    return events


class ValidateIntakeForm(FormValidationAction):
    """Every turn of `intake_form`: the intake decides, this class only translates."""

    def __init__(self) -> None:
        super().__init__()
        # The action server makes one instance at start-up: load jionlp and the gazetteer (~1-3 s) in the
        # background then, rather than during a resident's first message.
        threading.Thread(target=warm_up, name="intake-warm-up", daemon=True).start()

    def name(self) -> str:
        """The action's name in the domain."""
        return "validate_intake_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        """What the form asks for, given what is known so far."""
        return required_slots(tracker.slots)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """One form turn; a rejected turn sets nothing, so that the rules answer."""
        step = await service.form_turn(
            wiring.db(), tracker.sender_id, tracker.slots, turn_of(tracker), wiring.clock(), thresholds()
        )
        return [] if step.reject else events_of(dispatcher, step)


class AskAction(Action, ABC):
    """`action_ask_<slot>`: the form calls it to ask for the next slot."""

    slot: str

    @abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Ask for this action's slot."""
        say(dispatcher, *ask(self.slot, tracker.slots, turn_of(tracker).intent))
        return []


def _ask_class(slot: str) -> type[AskAction]:
    action_name = f"action_ask_{slot}"

    def name(self: AskAction) -> str:
        return action_name

    cls_name = "ActionAsk" + "".join(part.title() for part in slot.split("_"))
    return type(cls_name, (AskAction,), {"slot": slot, "name": name, "__module__": __name__})


ASK_ACTIONS = {slot: _ask_class(slot) for slot in ask_slots()}


class ActionIntakeDone(Action):
    """After the form: store the confirmed case (or the redirect) and say what comes next."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_intake_done"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Store the case and say what comes next."""
        step = await service.finish(wiring.db(), tracker.sender_id, tracker.slots, wiring.clock())
        return events_of(dispatcher, step)


class ActionIntakeSave(Action):
    """Before a person takes over: store what was collected so far (silently)."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_intake_save"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Store the case so far."""
        step = await service.save_for_handoff(wiring.db(), tracker.sender_id, tracker.slots, wiring.clock())
        return events_of(dispatcher, step)


class ActionEmergency(Action):
    """Danger first: 110/120 guidance at once, the case marked urgent."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Guide the resident to safety and store the urgent case."""
        text = turn_of(tracker).text
        step = await service.emergency(wiring.db(), tracker.sender_id, tracker.slots, text, wiring.clock())
        return events_of(dispatcher, step)


class ActionIntakeFallback(Action):
    """An unclear message outside the intake (low NLU confidence, or facts only): offer the closest dispute
    types as numbered choices, else the menu."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_intake_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Offer choices, the menu, or a person after repeated misunderstandings."""
        step = service.fallback(
            tracker.slots, turn_of(tracker), misunderstood_in_a_row(tracker), wiring.clock(), thresholds()
        )
        return events_of(dispatcher, step)


class ActionSessionStart(Action):
    """A new session keeps every slot and, when an intake was half-way, keeps the form going."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Start the session with the slots carried over."""
        events: list[EventType] = [SessionStarted()]
        carried = {k: v for k, v in tracker.slots.items() if v is not None and k != "session_started_metadata"}
        events += [SlotSet(k, v) for k, v in carried.items()]
        if in_progress(carried):
            events.append(ActiveLoop(FORM))
        events.append(ActionExecuted("action_listen"))
        return events


__all__ = [
    "ASK_ACTIONS",
    "ActionEmergency",
    "ActionIntakeDone",
    "ActionIntakeFallback",
    "ActionIntakeSave",
    "ActionSessionStart",
    "ValidateIntakeForm",
]
