"""Staff console: login required, transcripts masked, stats counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.settings import Settings
from sharedcourt.web.auth import COOKIE, COOKIE_SECONDS, cookie_value

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


# --- sign-in: no empty token, an expiring cookie, throttling and lockout (issue 11) ----------------------------


def _app(database_url: str, **env: str) -> TestClient:
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": TOKEN, **env})
    return TestClient(create_app(settings, background=False))


def test_an_empty_staff_token_never_signs_in(database_url: str) -> None:
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": ""})
    with TestClient(create_app(settings, background=False)) as c:
        assert c.post("/console/login", data={"token": ""}, follow_redirects=False).status_code == 403
        assert c.post("/console/login", data={}, follow_redirects=False).status_code == 403
        assert "set-cookie" not in c.post("/console/login", data={"token": ""}).headers
        assert c.get("/console/api/stats", headers={"Authorization": "Bearer "}).status_code == 403
        c.cookies.set(COOKIE, cookie_value(settings))  # a cookie signed with the empty token
        assert c.get("/console/api/stats").status_code == 403
        assert c.get("/console", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(("public_url", "secure"), [("http://127.0.0.1:8000", False), ("https://court.example", True)])
def test_the_login_cookie_expires_and_is_http_only(database_url: str, public_url: str, secure: bool) -> None:
    with _app(database_url, PUBLIC_URL=public_url) as c:
        response = c.post("/console/login", data={"token": TOKEN}, follow_redirects=False)
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert TOKEN not in cookie
        assert "Max-Age=43200" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert ("Secure" in cookie) is secure


def test_an_expired_login_cookie_is_refused(database_url: str) -> None:
    with _app(database_url) as c:
        settings: Settings = c.app.state.settings  # type: ignore[attr-defined]
        c.cookies.set(COOKIE, cookie_value(settings, now=time.time() - COOKIE_SECONDS - 1))
        assert c.get("/console/api/stats").status_code == 403
        c.cookies.set(COOKIE, cookie_value(settings))
        assert c.get("/console/api/stats").status_code == 200
        c.cookies.set(COOKIE, cookie_value(settings).replace(".", "9.", 1))  # end moved later, MAC no longer fits
        assert c.get("/console/api/stats").status_code == 403


def test_repeated_failures_lock_the_address_out_even_for_the_right_token(database_url: str) -> None:
    with _app(database_url, LOGIN_MAX_FAILURES="3", LOGIN_LOCKOUT_SECONDS="600") as c:
        assert [c.post("/console/login", data={"token": f"guess{i}"}).status_code for i in range(2)] == [403, 403]
        third = c.post("/console/login", data={"token": "guess3"})
        assert third.status_code == 429 and third.headers["retry-after"] == "600"
        assert "尝试次数过多，请 10 分钟后再试" in third.text
        right = c.post("/console/login", data={"token": TOKEN}, follow_redirects=False)
        assert right.status_code == 429 and "set-cookie" not in right.headers
        assert 590 <= int(right.headers["retry-after"]) <= 600
        # The lockout is per address: another one still signs in.
        other = TestClient(c.app, client=("10.0.0.9", 50000))
        assert other.post("/console/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303


def test_a_successful_sign_in_resets_the_failures(database_url: str) -> None:
    with _app(database_url, LOGIN_MAX_FAILURES="3") as c:
        assert [c.post("/console/login", data={"token": "x"}).status_code for _ in range(2)] == [403, 403]
        assert c.post("/console/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
        assert [c.post("/console/login", data={"token": "x"}).status_code for _ in range(3)] == [403, 403, 429]


async def test_transcript_masks_names_and_addresses(client: TestClient, sessions: Any) -> None:
    async with sessions() as session, session.begin():
        resident = Resident(channel="webchat", channel_user_id="u-names", name="赵六")
        session.add(resident)
        await session.flush()
        conv = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conv)
        await session.flush()
        said = "我是赵六，昨天王建军又来了，他住人民路88号3幢201室，欧阳娜娜欠我钱"
        session.add_all(
            [
                Message(conversation_id=conv.id, direction="in", channel="webchat", author="resident", text=said),
                Case(
                    resident_id=resident.id,
                    conversation_id=conv.id,
                    dispute_code="neighbor",
                    facts={"party": "邻居王建军", "what_happened": "王建军家的树压坏了车棚"},
                ),
            ]
        )
        conversation_id = conv.id
    assert client.post("/console/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
    page = client.get(f"/console/conversations/{conversation_id}").text
    assert "我是赵*，昨天王**又来了，他住****，欧阳**欠我钱" in page
    assert "王**家的树压坏了车棚" in page and "邻居王**" in page
    for secret in ("赵六", "王建军", "娜娜", "人民路", "201"):
        assert secret not in page
