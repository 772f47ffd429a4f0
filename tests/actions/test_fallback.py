"""Two failed attempts to understand hand the resident to a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.intake import ActionIntakeFallback, misunderstood_in_a_row


def _user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.2}}}


def _tracker(events: list[dict[str, Any]]) -> Tracker:
    last = events[-1]
    latest = {"text": last["text"], "intent": last["parse_data"]["intent"], "intent_ranking": [], "entities": []}
    return Tracker("s1", {}, latest, events, False, None, None, "action_listen")


def test_counts_only_the_latest_run_of_misunderstood_messages() -> None:
    events = [
        _user("a", "nlu_fallback"),
        _user("你好", "greet"),
        _user("b", "nlu_fallback"),
        _user("c", "nlu_fallback"),
    ]
    assert misunderstood_in_a_row(_tracker(events)) == 2
    assert misunderstood_in_a_row(_tracker([_user("你好", "greet")])) == 0


async def test_first_miss_offers_the_menu_second_hands_off() -> None:
    action = ActionIntakeFallback()
    first = CollectingDispatcher()
    events = await action.run(first, _tracker([_user("嗯嗯啊啊", "nlu_fallback")]), {})
    assert [m.get("response") for m in first.messages] == ["utter_default"]
    assert not any(e.get("event") == "followup" for e in events)
    second = CollectingDispatcher()
    events = await action.run(second, _tracker([_user("嗯嗯啊啊", "nlu_fallback"), _user("哦哦", "nlu_fallback")]), {})
    assert any(e.get("event") == "followup" and e.get("name") == "action_request_human" for e in events)
    assert "工作人员" in second.messages[0]["text"]
