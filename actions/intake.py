"""Intake actions (issue 3): thin adapters from the Rasa tracker to `sharedcourt.intake.form`."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from sharedcourt.intake import form as intake

log = logging.getLogger(__name__)


def today() -> dt.date:
    return intake.today()


def utter(dispatcher: CollectingDispatcher, says: list[intake.Say]) -> None:
    for say in says:
        buttons = [{"title": b.title, "payload": b.payload} for b in say.buttons]
        dispatcher.utter_message(text=say.text, buttons=buttons or None)


def turn_of(tracker: Tracker) -> intake.Turn:
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    return intake.Turn(
        text=str(message.get("text") or ""),
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        ranking=message.get("intent_ranking") or [],
        entities=message.get("entities") or [],
    )


MISUNDERSTOOD_LIMIT = 2


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


async def store(tracker: Tracker, slots: dict[str, Any], status: str) -> str | None:
    """Save the case; a database failure is logged and the conversation goes on."""
    try:
        return await intake.save_case(intake.sessions_from_env(), tracker.sender_id, slots, status=status)
    except (SQLAlchemyError, OSError):
        log.exception("could not store the case of %s", tracker.sender_id)
        return None


class ValidateIntakeForm(FormValidationAction):
    """Every turn of `intake_form`: the core decides, this class only translates."""

    def __init__(self) -> None:
        super().__init__()
        # The action server makes one instance at start-up: load jionlp and the gazetteer (~1-3 s) in the
        # background then, rather than during a resident's first message.
        threading.Thread(target=intake.warm_up, name="intake-warm-up", daemon=True).start()

    def name(self) -> str:
        return "validate_intake_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return intake.required_slots(tracker.slots)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slots = dict(tracker.slots)
        step = intake.advance(slots, turn_of(tracker), today())
        if step.reject:
            return []  # nothing set: the form rejects and the rules answer (person, restart, goodbye …)
        slots.update(step.updates)
        events: list[EventType] = [SlotSet(k, v) for k, v in step.updates.items()]
        if step.became_urgent:
            number = await store(tracker, slots, "open")
            if number and number != slots.get("case_number"):
                slots["case_number"] = number
                events.append(SlotSet("case_number", number))
        utter(dispatcher, step.messages)
        events.append(SlotSet("requested_slot", intake.next_slot(slots)))
        return events


class AskAction(Action, ABC):
    """`action_ask_<slot>`: the form calls it to ask for the next slot."""

    slot: str

    @abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent = (tracker.latest_message or {}).get("intent") or {}
        utter(dispatcher, intake.ask(self.slot, tracker.slots, intent.get("name")))
        return []


def _ask_class(slot: str) -> type[AskAction]:
    action_name = f"action_ask_{slot}"

    def name(self: AskAction) -> str:
        return action_name

    cls_name = "ActionAsk" + "".join(part.title() for part in slot.split("_"))
    return type(cls_name, (AskAction,), {"slot": slot, "name": name, "__module__": __name__})


ASK_SLOTS = (*intake.TYPE_SLOTS, *(f.key for f in intake.FACTS), *intake.END_SLOTS)
ASK_ACTIONS = {slot: _ask_class(slot) for slot in ASK_SLOTS}


class ActionIntakeDone(Action):
    """After the form: store the confirmed case (or the redirect) and say what comes next."""

    def name(self) -> str:
        return "action_intake_done"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slots = dict(tracker.slots)
        dispute = intake.BY_CODE.get(slots.get("dispute_code") or "")
        status = "confirmed" if dispute is not None and dispute.mediable else "redirected"
        number = await store(tracker, slots, status)
        utter(dispatcher, [intake.outcome(slots, number or "")])
        return [SlotSet("case_number", number)] if number else []


class ActionIntakeSave(Action):
    """Before a person takes over: store what was collected so far (silently)."""

    def name(self) -> str:
        return "action_intake_save"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slots = dict(tracker.slots)
        if not (slots.get("dispute_code") or slots.get("complaint") or slots.get("urgent")):
            return []
        if intake.finished(slots):
            return []  # already stored as confirmed/redirected
        number = await store(tracker, slots, "open")
        return [SlotSet("case_number", number)] if number else []


class ActionEmergency(Action):
    """Danger first: 110/120 guidance at once, the case marked urgent."""

    def name(self) -> str:
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        utter(
            dispatcher,
            [
                intake.Say(intake.EMERGENCY_TEXT),
                intake.Say(
                    "等您安全了，可以接着跟我说说发生了什么，我帮您整理好交给调解员；也可以直接转人工。",
                    (intake.Button("转人工服务", "/request_human"),),
                ),
            ],
        )
        slots = {**tracker.slots, "urgent": True}
        turn = turn_of(tracker)
        if turn.text and not slots.get("complaint"):
            slots["complaint"] = turn.text
        number = await store(tracker, slots, "open")
        events: list[EventType] = [SlotSet("urgent", True), SlotSet("complaint", slots.get("complaint"))]
        if number:
            events.append(SlotSet("case_number", number))
        return events


class ActionIntakeFallback(Action):
    """An unclear message outside the intake (low NLU confidence, or facts only): offer the closest dispute
    types as numbered choices, else the menu."""

    def name(self) -> str:
        return "action_intake_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        turn = turn_of(tracker)
        events: list[EventType] = []
        if intake.is_danger(turn.text, turn.intent, turn.confidence):
            utter(dispatcher, [intake.Say(intake.EMERGENCY_TEXT)])
            events.append(SlotSet("urgent", True))
        candidates = intake.offer_choices(turn.ranking, turn.text)
        if not candidates:
            if misunderstood_in_a_row(tracker) >= MISUNDERSTOOD_LIMIT:
                # Two failed attempts to understand: a person takes over instead of a third guess.
                dispatcher.utter_message(text="抱歉，我还是没能理解您的意思，这就为您联系工作人员。")
                return [*events, FollowupAction("action_request_human")]
            dispatcher.utter_message(response="utter_default")
            return events
        slots = dict(tracker.slots)
        updates: dict[str, Any] = intake.fresh_updates(slots) if intake.finished(slots) else {}
        updates["type_candidates"] = candidates[:3]
        updates["complaint"] = intake.join_complaint(updates.get("complaint", slots.get("complaint")), turn.text)
        for key, value in intake.extract(turn.text, today(), turn.entities).items():
            if slots.get(key) is None:
                updates[key] = value
        utter(dispatcher, [intake.type_choices(candidates[:3])])
        return events + [SlotSet(k, v) for k, v in updates.items()]


class ActionSessionStart(Action):
    """A new session keeps every slot and, when an intake was half-way, keeps the form going."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        carried = {k: v for k, v in tracker.slots.items() if v is not None and k != "session_started_metadata"}
        events += [SlotSet(k, v) for k, v in carried.items()]
        if intake.in_progress(carried):
            events.append(ActiveLoop(intake.FORM))
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
