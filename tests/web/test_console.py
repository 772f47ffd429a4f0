"""Staff console: login required, transcripts masked, stats counted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.settings import Settings

TOKEN = "staff-secret"


@pytest.fixture
def client(database_url: str, sessions: Any) -> Iterator[TestClient]:
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": TOKEN})
    with TestClient(create_app(settings, background=False)) as c:
        yield c


async def _seed(sessions: Any) -> str:
    async with sessions() as session, session.begin():
        resident = Resident(channel="webchat", channel_user_id="u1")
        session.add(resident)
        await session.flush()
        conv = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conv)
        await session.flush()
        session.add_all(
            [
                Message(
                    conversation_id=conv.id,
                    direction="in",
                    channel="webchat",
                    author="resident",
                    text="我电话13812345678，身份证330802199001011232",
                ),
                Message(conversation_id=conv.id, direction="out", channel="webchat", author="bot", text="收到"),
                Case(
                    resident_id=resident.id,
                    conversation_id=conv.id,
                    dispute_code="labor",
                    urgent=True,
                    facts={"phone": "13812345678"},
                ),
            ]
        )
        return conv.id


def test_console_requires_login(client: TestClient) -> None:
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert client.get("/console/api/stats").status_code == 403
    assert client.get("/console/api/stats", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.post("/console/login", data={"token": "wrong"}).status_code == 403


async def test_transcript_is_masked_and_stats_count(client: TestClient, sessions: Any) -> None:
    conversation_id = await _seed(sessions)
    assert client.post("/console/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
    page = client.get(f"/console/conversations/{conversation_id}")
    assert page.status_code == 200
    assert "13812345678" not in page.text and "138****5678" in page.text
    assert "330802199001011232" not in page.text
    stats = client.get("/console/api/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert stats["cases_by_type"] == {"labor": 1}
    assert stats["urgent_cases"] == 1
    assert sum(stats["messages_per_day"].values()) == 1
    dashboard = client.get("/console")
    assert "劳动争议" in dashboard.text and "<svg" in dashboard.text
