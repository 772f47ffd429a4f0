"""What the action server asks of the intake: one call per action, each returning a `Step` to say and set.

The actions only read the tracker and turn the `Step` into Rasa events; every decision and every sentence the
resident reads is made here. `now` is the action server's clock (UTC); residents speak in China time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.domain.clock import local
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.intake.cases import save_case
from sharedcourt.intake.classify import EMERGENCY_TEXT, Thresholds, is_danger, offer_choices, type_choices
from sharedcourt.intake.extract import extract
from sharedcourt.intake.facts import finished, fresh_updates, mediable, next_slot
from sharedcourt.intake.form import Step, Turn, advance, join_complaint
from sharedcourt.messaging.replies import Button, Reply

# Two messages in a row the NLU could not understand: a person takes over instead of a third guess.
MISUNDERSTOOD_LIMIT = 2
TO_A_PERSON = Button("转人工服务", "/request_human")


def _today(now: dt.datetime) -> dt.date:
    """Residents speak in China time ("昨天" after 16:00 UTC is already another day there)."""
    return local(now).date()


async def form_turn(
    sessions: async_sessionmaker[AsyncSession],
    conversation_id: str,
    slots: Mapping[str, Any],
    turn: Turn,
    now: dt.datetime,
    thresholds: Thresholds | None = None,
) -> Step:
    """One turn of `intake_form`: the step, an urgent case stored at once, and the next slot to ask."""
    today = _today(now)
    step = advance(slots, turn, today, thresholds)
    if step.reject:
        return step  # nothing set: the form rejects and the rules answer (person, restart, goodbye …)
    state = {**slots, **step.updates}
    if step.became_urgent:
        number = await save_case(sessions, conversation_id, state, status="open", today=today)
        if number and number != state.get("case_number"):
            state["case_number"] = number
            step.updates["case_number"] = number
    step.updates["requested_slot"] = next_slot(state)
    return step


def outcome(slots: Mapping[str, Any], number: str) -> Reply:
    """What the resident reads when the intake ends."""
    dispute = BY_CODE[slots.get("dispute_code") or "other_legal"]
    if not dispute.mediable:
        return Reply(
            f"{dispute.redirect}\n如果还需要帮助，可以转人工服务（登记号 {number}）。",
            (TO_A_PERSON, Button("重新开始", "/restart")),
        )
    return Reply(
        f"好的，已为您登记，案件编号 {number}。调解员会根据这些信息和您联系。"
        "接下来您可以找最近的共享法庭预约调解，或者直接联系调解员：",
        (Button("预约调解", "/find_site"), Button("联系调解员", "/request_human")),
    )


def _numbered(number: str | None, step: Step) -> Step:
    if number:
        step.updates["case_number"] = number
    return step


async def finish(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str, slots: Mapping[str, Any], now: dt.datetime
) -> Step:
    """After the form: store the confirmed case (or the redirect) and say what comes next."""
    status = "confirmed" if mediable(slots) else "redirected"
    number = await save_case(sessions, conversation_id, slots, status=status, today=_today(now))
    return _numbered(number, Step(messages=[outcome(slots, number or "")]))


async def save_for_handoff(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str, slots: Mapping[str, Any], now: dt.datetime
) -> Step:
    """Before a person takes over: store what was collected so far (silently; nothing when there is nothing)."""
    if not (slots.get("dispute_code") or slots.get("complaint") or slots.get("urgent")):
        return Step()
    if finished(slots):
        return Step()  # already stored as confirmed/redirected
    number = await save_case(sessions, conversation_id, slots, status="open", today=_today(now))
    return _numbered(number, Step())


async def emergency(
    sessions: async_sessionmaker[AsyncSession],
    conversation_id: str,
    slots: Mapping[str, Any],
    text: str,
    now: dt.datetime,
) -> Step:
    """Danger first: 110/120 guidance at once, the case stored and marked urgent."""
    messages = [
        Reply(EMERGENCY_TEXT),
        Reply("等您安全了，可以接着跟我说说发生了什么，我帮您整理好交给调解员；也可以直接转人工。", (TO_A_PERSON,)),
    ]
    state = {**slots, "urgent": True}
    if text and not state.get("complaint"):
        state["complaint"] = text
    number = await save_case(sessions, conversation_id, state, status="open", today=_today(now))
    step = Step(updates={"urgent": True, "complaint": state.get("complaint")}, messages=messages)
    return _numbered(number, step)


def fallback(
    slots: Mapping[str, Any], turn: Turn, misunderstood: int, now: dt.datetime, thresholds: Thresholds | None = None
) -> Step:
    """An unclear message outside the intake (low NLU confidence, or facts only): offer the closest dispute
    types as numbered choices, else the menu; `misunderstood` messages in a row hand over to a person."""
    step = Step()
    if is_danger(turn.text, turn.intent, turn.confidence):
        step.messages.append(Reply(EMERGENCY_TEXT))
        step.updates["urgent"] = True
    candidates = offer_choices(turn.ranking, turn.text, thresholds)
    if not candidates and misunderstood >= MISUNDERSTOOD_LIMIT:
        step.messages.append(Reply("抱歉，我还是没能理解您的意思，这就为您联系工作人员。"))
        step.followup = "action_request_human"
        return step
    if not candidates:
        step.response = "utter_default"
        return step
    updates: dict[str, Any] = fresh_updates(slots) if finished(slots) else {}
    updates["type_candidates"] = candidates
    updates["complaint"] = join_complaint(updates.get("complaint", slots.get("complaint")), turn.text)
    for key, value in extract(turn.text, _today(now), turn.entities).items():
        if slots.get(key) is None:
            updates[key] = value
    step.updates.update(updates)
    step.messages.append(type_choices(candidates))
    return step
