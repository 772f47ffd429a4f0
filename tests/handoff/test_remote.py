"""What the action server asks the front door, and what the resident hears (also when it is down)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sharedcourt.handoff import remote
from sharedcourt.handoff.texts import ASK_SCORE, THANKS_FOR_COMMENT, UNAVAILABLE
from sharedcourt.settings import Settings

SETTINGS = Settings.from_env({"STAFF_TOKEN": "tok", "APP_INTERNAL_URL": "http://app.test"})


def _answering(answer: dict[str, Any], bodies: list[dict[str, Any]]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content) if request.content else dict(request.url.params))
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(handler)


DOWN = httpx.MockTransport(lambda request: httpx.Response(503))


async def test_request_sends_what_the_slots_know() -> None:
    bodies: list[dict[str, Any]] = []
    transport = _answering({"ok": True, "text": "已为您联系"}, bodies)
    reply = await remote.request_person(
        SETTINGS,
        "c1",
        intent="request_human",
        dispute_code="neighbor",
        urgent=True,
        amount="3000",
        site_code=None,
        transport=transport,
    )
    assert reply.text == "已为您联系"
    assert bodies[0] == {
        "conversation_id": "c1",
        "reason": "asked",
        "dispute_code": "neighbor",
        "urgent": True,
        "amount": 3000.0,
        "site_code": None,
    }
    await remote.request_person(
        SETTINGS,
        "c1",
        intent="urgent",
        dispute_code=None,
        urgent=False,
        amount="",
        site_code="GX1",
        transport=transport,
    )
    assert (bodies[1]["reason"], bodies[1]["amount"]) == ("urgent", None)


async def test_when_the_front_door_is_down_the_resident_is_told() -> None:
    assert (await remote.end_person(SETTINGS, "c1", transport=DOWN)).text == UNAVAILABLE
    assert (await remote.my_case(SETTINGS, "c1", transport=DOWN)).text == UNAVAILABLE
    rated = await remote.rate(SETTINGS, "c1", "5", transport=DOWN)
    assert (rated.score, [r.text for r in rated.replies]) == (5, [UNAVAILABLE])
    assert (await remote.save_comment(SETTINGS, "c1", "好", transport=DOWN)).text == THANKS_FOR_COMMENT


@pytest.mark.parametrize(("raw", "score"), [("5", 5), ("4分", 4), (3, 3), ("0", None), ("六", None), (None, None)])
def test_scores(raw: Any, score: int | None) -> None:
    assert remote.parse_score(raw) == score


async def test_rating_says_nothing_when_stored_and_asks_again_for_a_bad_score() -> None:
    bodies: list[dict[str, Any]] = []
    rated = await remote.rate(SETTINGS, "c1", "4分", transport=_answering({"ok": True, "text": "感谢"}, bodies))
    assert (rated.score, rated.replies, bodies) == (4, (), [{"conversation_id": "c1", "score": 4}])
    again = await remote.rate(SETTINGS, "c1", "十分")
    assert (again.score, [r.text for r in again.replies]) == (None, [ASK_SCORE])
