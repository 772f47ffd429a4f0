"""The front door's handoff API client: bearer token, bodies, and one typed error for every failure."""

from __future__ import annotations

import json

import httpx
import pytest

from sharedcourt.clients.frontdoor import FrontDoorClient, FrontDoorError, HandoffAnswer
from sharedcourt.settings import Settings

SETTINGS = Settings.from_env({"STAFF_TOKEN": "tok", "APP_INTERNAL_URL": "http://app.test"})


async def test_calls_carry_the_staff_token_and_read_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True, "text": "已为您联系", "ticket": "T00001", "state": "offered"})

    settings = Settings.from_env({"STAFF_TOKEN": "tok", "APP_INTERNAL_URL": "http://app.test:9"})
    async with FrontDoorClient(settings, transport=httpx.MockTransport(handler)) as api:
        answer = await api.request_handoff({"conversation_id": "c1"})
        await api.rate_handoff("c1", score=5)
        await api.rate_handoff("c1", comment="很好")
        await api.handoff_status("c1")
        await api.cancel_handoff("c1")
    assert answer == HandoffAnswer(True, "已为您联系", "T00001", "offered")
    assert {r.headers["authorization"] for r in seen} == {"Bearer tok"}
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/handoff/requests"),
        ("POST", "/handoff/ratings"),
        ("POST", "/handoff/ratings"),
        ("POST", "/handoff/status"),
        ("POST", "/handoff/cancel"),
    ]
    assert str(seen[0].url).startswith("http://app.test:9/")
    assert json.loads(seen[1].content) == {"conversation_id": "c1", "score": 5}
    assert json.loads(seen[2].content) == {"conversation_id": "c1", "comment": "很好"}
    assert json.loads(seen[3].content) == {"conversation_id": "c1"}
    assert all("c1" not in str(r.url) for r in seen)  # no resident's conversation id in any URL


@pytest.mark.parametrize(
    "response",
    [httpx.Response(503), httpx.Response(200, content=b"not json"), httpx.Response(200, json=["a list"])],
)
async def test_every_failure_is_a_front_door_error(response: httpx.Response) -> None:
    async with FrontDoorClient(SETTINGS, transport=httpx.MockTransport(lambda r: response)) as api:
        with pytest.raises(FrontDoorError):
            await api.handoff_status("c1")


async def test_unreachable_is_a_front_door_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with FrontDoorClient(SETTINGS, transport=httpx.MockTransport(refuse)) as api:
        with pytest.raises(FrontDoorError):
            await api.cancel_handoff("c1")
