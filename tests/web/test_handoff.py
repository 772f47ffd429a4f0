"""The handoff's HTTP API and transcript page (sharedcourt.web.handoff), with the demo inbox (no DingTalk)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.settings import Settings

STAFF_TOKEN = "staff-token-for-tests"
AUTH = {"Authorization": f"Bearer {STAFF_TOKEN}"}


def _rasa(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/webhooks/rest/webhook":
        return httpx.Response(200, json=[{"text": "机器人回复"}])
    return httpx.Response(200, json={})


def _conversation_of(client: TestClient, sender: str) -> str:
    async def find() -> str:
        async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            found: str = (
                await session.scalars(select(Conversation.id).join(Resident).where(Resident.channel_user_id == sender))
            ).one()
            return found

    assert client.portal is not None
    return client.portal.call(find)


def _ask_for_a_person(client: TestClient, sender: str, text: str = "邻居把垃圾堆在我家门口") -> str:
    client.post("/webchat/messages", json={"sender": sender, "text": text}).raise_for_status()
    response = client.post(
        "/handoff/requests",
        json={"conversation_id": _conversation_of(client, sender), "dispute_code": "neighbor"},
        headers=AUTH,
    )
    response.raise_for_status()
    number: str = response.json()["ticket"]
    return number


def _resident_sees(client: TestClient, sender: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = client.get("/webchat/messages", params={"sender": sender}).json()["messages"]
    return messages


@pytest.fixture
def demo(database_url: str) -> Iterator[TestClient]:
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": STAFF_TOKEN})
    app = create_app(settings, rasa_transport=httpx.MockTransport(_rasa), background=False)
    with TestClient(app) as client:
        yield client


def test_without_dingtalk_the_demo_inbox_and_console_commands_work(database_url: str) -> None:
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": STAFF_TOKEN})
    app = create_app(settings, rasa_transport=httpx.MockTransport(_rasa), background=False)
    auth = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    with TestClient(app) as demo:
        number = _ask_for_a_person(demo, "demo-resident")
        inbox = demo.get("/handoff/staff/inbox", params={"staff": "baiyun-director"}, headers=auth).json()
        assert any(number in m["title"] for m in inbox["messages"])
        assert demo.get("/handoff/staff/inbox", headers={"Authorization": "Bearer wrong"}).status_code == 403
        said = demo.post(
            "/handoff/staff/command", json={"staff": "baiyun-director", "text": f"接单 {number}"}, headers=auth
        )
        assert said.json()["ok"] is True
        demo.post("/handoff/staff/command", json={"staff": "baiyun-director", "text": "您好，我来了"}, headers=auth)
        assert _resident_sees(demo, "demo-resident")[-1]["text"] == "您好，我来了"
        # Forged DingTalk callbacks are refused when DingTalk is not configured at all.
        assert demo.post("/dingtalk/callback", json={}, headers={"timestamp": "1", "sign": "x"}).status_code == 403


def test_transcript_page_needs_the_cards_key_and_escapes_what_residents_wrote(demo: TestClient) -> None:
    number = _ask_for_a_person(demo, "transcript-resident", "<b>墙</b> & 裂缝")
    inbox = demo.get("/handoff/staff/inbox", params={"staff": "baiyun-director"}, headers=AUTH).json()
    [text] = [m["text"] for m in inbox["messages"] if number in m["title"]]
    link = re.search(r"\((http[^)]+/transcript\?key=[^)]+)\)", text)
    assert link is not None
    url = httpx.URL(link.group(1))
    page = demo.get(url.path, params=dict(url.params))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"<title>对话记录 {number}</title>" in page.text
    assert "柯城区白云街道共享法庭" in page.text and "<td>居民</td>" in page.text
    assert "&lt;b&gt;墙&lt;/b&gt; &amp; 裂缝" in page.text and "<b>墙</b>" not in page.text
    wrong = demo.get(f"/handoff/tickets/{number}/transcript", params={"key": "wrong"})
    assert wrong.status_code == 403


def test_the_api_needs_the_staff_token(demo: TestClient) -> None:
    for method, path in [("GET", "/handoff/status"), ("POST", "/handoff/requests"), ("POST", "/handoff/ratings")]:
        response = demo.request(method, path, headers={"Authorization": "Bearer wrong"})
        assert response.status_code == 403
    assert demo.get("/handoff/status", headers=AUTH).status_code == 400
