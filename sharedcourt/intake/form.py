"""Intake (issue 3): one turn of `intake_form` and the question for the next slot.

The conversation logic lives here as pure functions over the form's slot values, so that it can be tested
without Rasa: `advance()` reads one message (a `Turn`) and decides a `Step`, `ask()` words the next question.
`sharedcourt.intake.service` wraps them for the action server; the slots are described in `intake.facts`.

A turn runs in stages: leave the form or not, danger, small talk, the resident's description, the dispute
type (choose it, then confirm it), facts anywhere in the message, and last the answer to the question asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sharedcourt.domain.disputes import BY_CODE, BY_INTENT
from sharedcourt.intake.answers import parse_answer, structured_answer
from sharedcourt.intake.classify import (
    CONFIDENT,
    DEFAULT_CHOICES,
    EMERGENCY_TEXT,
    Classification,
    classify,
    is_danger,
    type_choices,
    understood_label,
)
from sharedcourt.intake.extract import extract
from sharedcourt.intake.facts import BY_KEY, TYPE_SLOTS, finished, fresh_updates, wanted_facts
from sharedcourt.intake.summary import read_summary_answer, summary_question
from sharedcourt.intake.words import NEGATION, chinese_count, clean
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.sites.served import area_name

YES_NO = (Button("对", "/affirm"), Button("不对", "/deny"))
YES_NO_FACT = (Button("有", "有"), Button("没有", "没有"))
DESCRIBE = "好的，请用自己的话说说您遇到了什么问题，比如“邻居家漏水淹了我家”“老板欠了三个月工资不给”。"
# Intents that leave the form (rules take over): the resident asked for something else.
ESCAPE_INTENTS = frozenset(
    {"restart", "request_human", "none_of_these", "find_site", "my_bookings", "my_case", "cancel",
     "reschedule", "help", "end_human"}
)  # fmt: skip
_ESCAPE_CONFIDENCE = 0.6
# An answer in words ("找过调解员了" to "what have you tried?") can look like a request; be surer there.
_ESCAPE_CONFIDENCE_WORDS = 0.85
_SMALL_TALK_CONFIDENCE = 0.6
_PAUSE = frozenset({"goodbye"})
_PAUSED = "好的，您先忙。您说过的内容我都记着，下次回来我们接着聊。"
_SMALL_TALK = {"greet": "欢迎回来！我们接着上次的来。", "thanks": "不客气。我们接着来。"}
_NOT_A_DESCRIPTION = frozenset({"affirm", "deny", "greet"})


@dataclass(frozen=True)
class Turn:
    """One user message as the form sees it."""

    text: str
    intent: str | None = None
    confidence: float = 0.0
    ranking: Sequence[Mapping[str, Any]] = ()
    entities: Sequence[Mapping[str, Any]] = ()


@dataclass
class Step:
    """What one turn decided: slots to set and what to say (also what the other intake actions return)."""

    updates: dict[str, Any] = field(default_factory=dict)
    messages: list[Reply] = field(default_factory=list)
    reject: bool = False  # leave the form: nothing is set, the rules handle the message
    became_urgent: bool = False
    response: str | None = None  # a domain response to utter after the messages ("utter_default")
    followup: str | None = None  # the action to run next


def join_complaint(complaint: str | None, text: str) -> str:
    """The resident's description so far plus one more message."""
    return ((complaint or "") + " " + clean(text)).strip()


# --------------------------------------------------------------------------------------------------------
# Asking
# --------------------------------------------------------------------------------------------------------


def _type_question(slots: Mapping[str, Any]) -> Reply:
    candidates = [c for c in slots.get("type_candidates") or [] if c in BY_CODE]
    if candidates:
        return type_choices(candidates)
    if slots.get("complaint"):
        return type_choices(DEFAULT_CHOICES)
    return Reply(DESCRIBE)


def ask(slot: str, slots: Mapping[str, Any], intent: str | None = None) -> list[Reply]:
    """The question for `slot`, worded for what is known so far; nothing right after a goodbye."""
    if intent in _PAUSE:
        return []
    code = slots.get("dispute_code")
    if slot == "dispute_code":
        return [_type_question(slots)]
    if slot == "type_confirmed":
        label = understood_label(str(code), slots.get("complaint") or "")
        return [Reply(f"您遇到的是{label}，对吗？", YES_NO)]
    if slot == "summary_confirmed":
        return [summary_question(slots)]
    fact = BY_KEY[slot]
    question = fact.question_for(code)
    if slot == "place_code":
        question = question.replace("衢州", area_name())  # the area this deployment serves
    return [Reply(question, YES_NO_FACT if fact.kind == "yesno" else ())]


# --------------------------------------------------------------------------------------------------------
# One form turn
# --------------------------------------------------------------------------------------------------------


@dataclass
class _Pass:
    """One form turn under way: the slots as they become, and what the turn has decided so far."""

    state: dict[str, Any]
    turn: Turn
    today: dt.date
    step: Step = field(default_factory=Step)

    def __post_init__(self) -> None:
        self.requested: str | None = self.state.get("requested_slot")
        self.text = self.turn.text or ""
        self.command = self.text.strip().startswith("/")  # one of our own buttons
        self.structured = structured_answer(self.requested, self.text, self.today)

    def put(self, key: str, value: Any) -> None:
        """Set a slot for the rest of this turn and in the step."""
        self.state[key] = value
        self.step.updates[key] = value

    def say(self, reply: Reply) -> None:
        """Add a reply to this turn's messages."""
        self.step.messages.append(reply)


def _escape_confidence(requested: str | None) -> float:
    fact = BY_KEY.get(requested or "")
    return _ESCAPE_CONFIDENCE_WORDS if fact is not None and fact.kind in ("text", "yesno") else _ESCAPE_CONFIDENCE


def _leaves_form(p: _Pass) -> bool:
    """The resident asked for something else (or none of the offered types): the rules answer."""
    turn, requested = p.turn, p.requested
    if turn.intent == "none_of_these":
        return requested in TYPE_SLOTS  # elsewhere "none of these" is an answer in words
    return (
        turn.intent in ESCAPE_INTENTS
        and turn.confidence >= _escape_confidence(requested)
        and requested is not None
        and not p.structured
    )


def _make_room(p: _Pass) -> None:
    """A finished intake, or an interrupted one about something else, makes room for the new complaint;
    an interrupted one about the same thing ("我要调解" again, or the same type) goes on."""
    if p.requested is not None or not p.state.get("dispute_code"):
        return
    turn = p.turn
    named = classify(turn.intent, turn.confidence, turn.ranking).code if turn.intent in BY_INTENT else None
    if finished(p.state) or named not in (None, p.state["dispute_code"]):
        for key, value in fresh_updates(p.state).items():
            p.put(key, value)


def _watch_danger(p: _Pass) -> None:
    if is_danger(p.text, p.turn.intent, p.turn.confidence):
        p.say(Reply(EMERGENCY_TEXT))
        if not p.state.get("urgent"):
            p.step.became_urgent = True
        p.put("urgent", True)


def _small_talk(p: _Pass) -> bool:
    """A greeting, thanks or goodbye half-way: answered, and the form stays where it was."""
    if p.requested is None or p.turn.confidence < _SMALL_TALK_CONFIDENCE or p.structured:
        return False
    if p.turn.intent in _PAUSE:
        # The form stays active: whenever the resident writes again, the intake goes on (see `ask`).
        p.say(Reply(_PAUSED))
        return True
    if p.turn.intent in _SMALL_TALK:
        p.say(Reply(_SMALL_TALK[str(p.turn.intent)]))
        return True
    return False


def _describing(p: _Pass) -> bool:
    return p.requested in (None, *TYPE_SLOTS) and not p.command


def _note_complaint(p: _Pass) -> None:
    if _describing(p) and p.turn.intent not in _NOT_A_DESCRIPTION and len(clean(p.text)) >= 4:
        p.put("complaint", join_complaint(p.state.get("complaint"), p.text))


def _carry_over(p: _Pass) -> bool:
    """ "那我要调解" right after a 普法 answer: the answer's dispute type is the one to confirm (used once)."""
    carried = p.state.get("faq_dispute")
    if carried is None:
        return False
    p.put("faq_dispute", None)
    if p.turn.intent != "start_mediation" or carried not in BY_CODE or p.state.get("dispute_code"):
        return False
    p.put("dispute_code", carried)
    p.put("type_candidates", [carried])
    return True


def _choose_type(p: _Pass) -> None:
    """The type from the description, a choice from the list, or the choices to offer."""
    if _carry_over(p) or p.state.get("type_confirmed"):
        return
    turn = p.turn
    named = BY_INTENT.get(turn.intent or "")
    if (
        named is not None
        and p.requested == "dispute_code"
        and named.code in (p.state.get("type_candidates") or [])
        and (p.command or turn.confidence >= 0.5)
    ):
        p.put("dispute_code", named.code)
        p.put("type_confirmed", True)
        return
    worth_classifying = named is not None or (p.requested == "dispute_code" and _describing(p))
    result = classify(turn.intent, turn.confidence, turn.ranking) if worth_classifying else Classification(None, 0, [])
    if result.code is not None:
        p.put("dispute_code", result.code)
        p.put("type_candidates", result.candidates)
        if not BY_CODE[result.code].mediable or (p.command and turn.confidence >= 0.99):
            p.put("type_confirmed", True)
    elif result.candidates:
        p.put("type_candidates", result.candidates)
    elif p.requested == "dispute_code" and p.state.get("complaint"):
        p.put("type_candidates", list(DEFAULT_CHOICES))


def _confirm_type(p: _Pass) -> None:
    """A yes, a correction to another type, or a no (then the other candidates are offered)."""
    turn = p.turn
    named = BY_INTENT.get(turn.intent or "")
    negated = bool(NEGATION.search(p.text))
    current = p.state.get("dispute_code")
    if turn.intent == "affirm":
        p.put("type_confirmed", True)
    elif named is not None and named.code != current and (p.command or turn.confidence >= CONFIDENT or negated):
        p.put("dispute_code", named.code)
        p.put("type_confirmed", True if (negated or p.command or not named.mediable) else None)
    elif turn.intent == "deny" or negated:
        others = [c for c in p.state.get("type_candidates") or [] if c != current]
        p.put("dispute_code", None)
        p.put("type_candidates", others or [c for c in DEFAULT_CHOICES if c != current][:4])
        p.say(Reply("好的，是我理解错了。"))
    elif named is not None and named.code == current:
        p.put("type_confirmed", True)  # more detail about the same thing: a yes


def _found_facts(p: _Pass) -> dict[str, Any]:
    if p.command or p.requested == "summary_confirmed":
        return {}  # edits of the summary are handled with the answer, never silently
    if p.requested in BY_KEY and chinese_count(p.text) < 4:
        return {}  # a short answer ("138123", "3") answers the question asked, nothing else
    return extract(p.text, p.today, p.turn.entities)


def _gather_facts(p: _Pass) -> None:
    """Facts anywhere in the message fill the empty slots this type needs (not the one being asked)."""
    wanted = set(wanted_facts(p.state.get("dispute_code")))
    found = _found_facts(p)
    for key, value in found.items():
        if key in wanted and p.state.get(key) is None and key != p.requested:
            p.put(key, value)
            if key == "place_code":
                p.put("place_name", found.get("place_name"))
    complaint = p.state.get("complaint") or ""
    if p.state.get("type_confirmed") and p.state.get("what_happened") is None and "what_happened" in wanted:
        if len(complaint) >= 12:
            p.put("what_happened", complaint)


def _answer(p: _Pass) -> None:
    """The answer to the fact asked: stored, or asked again (the raw text is kept after two failures)."""
    slot = str(p.requested)
    if p.state.get(slot) is not None:
        return
    retries = dict(p.state.get("intake_retries") or {})
    answer = parse_answer(slot, p.text, p.today, retries=retries.get(slot, 0))
    if answer.error is None:
        p.put(slot, answer.value)
        for key, value in answer.extra.items():
            p.put(key, value)
        return
    retries[slot] = retries.get(slot, 0) + 1
    p.put("intake_retries", retries)
    p.say(answer.error)


def _summary(p: _Pass) -> None:
    updates, replies = read_summary_answer(p.text, p.turn.intent, p.state, p.today)
    for key, value in updates.items():
        p.put(key, value)
    p.step.messages.extend(replies)


# The dispute type stage, by the slot asked ("dispute_code" also when no slot was asked yet).
_TYPE_STAGE: dict[str | None, Callable[[_Pass], None]] = {
    None: _choose_type,
    "dispute_code": _choose_type,
    "type_confirmed": _confirm_type,
}


def _answer_stage(requested: str | None) -> Callable[[_Pass], None] | None:
    if requested == "summary_confirmed":
        return _summary
    return _answer if requested in BY_KEY else None


def advance(slots: Mapping[str, Any], turn: Turn, today: dt.date) -> Step:
    """Run one turn of `intake_form`: classify, confirm, extract facts, parse the answer, handle edits."""
    p = _Pass(dict(slots), turn, today)
    if _leaves_form(p):
        return Step(reject=True)
    _make_room(p)
    p.put("intake_turns", int(p.state.get("intake_turns") or 0) + 1)
    _watch_danger(p)
    if _small_talk(p):
        return p.step
    _note_complaint(p)
    type_stage = _TYPE_STAGE.get(p.requested)
    if type_stage is not None:
        type_stage(p)
    _gather_facts(p)
    answer_stage = _answer_stage(p.requested)
    if answer_stage is not None:
        answer_stage(p)
    return p.step
