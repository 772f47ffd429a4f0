"""Handoff actions: read the tracker, call the front door once, say the answer."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.handoff as handoff_actions
from sharedcourt.handoff.texts import ASK_SCORE, THANKS_FOR_COMMENT, UNAVAILABLE
from sharedcourt.settings import Settings


def _tracker(slots: dict[str, Any], entities: list[dict[str, Any]] | None = None) -> Tracker:
    latest = {"text": "", "intent": {"name": "request_human"}, "entities": entities or []}
    return Tracker("s1", slots, latest, [], False, None, None, "action_listen")


@pytest.fixture
def front_door_down(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    settings = Settings.from_env({"APP_INTERNAL_URL": f"http://127.0.0.1:{port}"})
    monkeypatch.setattr(handoff_actions, "settings", lambda: settings)


@pytest.mark.usefixtures("front_door_down")
async def test_actions_say_the_front_door_is_unavailable() -> None:
    for action in (
        handoff_actions.ActionRequestHuman(),
        handoff_actions.ActionEndHuman(),
        handoff_actions.ActionMyCase(),
    ):
        dispatcher = CollectingDispatcher()
        assert await action.run(dispatcher, _tracker({"urgent": None}), {}) == []
        assert [m["text"] for m in dispatcher.messages] == [UNAVAILABLE]
    dispatcher = CollectingDispatcher()
    events = await handoff_actions.ActionSaveHandoffComment().run(dispatcher, _tracker({"handoff_comment": "好"}), {})
    assert [m["text"] for m in dispatcher.messages] == [THANKS_FOR_COMMENT]
    assert [(e["name"], e["value"]) for e in events] == [("handoff_comment", None), ("rating", None)]


async def test_rating_entity_wins_over_the_slot_and_a_bad_score_is_asked_again() -> None:
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "rating", "value": "九"}]
    events = await handoff_actions.ActionRateHandoff().run(dispatcher, _tracker({"rating": "5"}, entities), {})
    assert [m["text"] for m in dispatcher.messages] == [ASK_SCORE]
    assert [(e["name"], e["value"]) for e in events] == [("rating", None)]
