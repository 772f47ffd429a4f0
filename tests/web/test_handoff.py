"""The handoff's HTTP API and transcript page (sharedcourt.web.handoff), with the demo inbox (no DingTalk).

Transcript links: signed for one person, expiring, refused (403, a Chinese page) when changed or expired, shown
with personal data masked, and every opening logged in `link_openings`."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from stand_ins.rosters import always_on_duty_file
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.channels.webchat import CHANNEL
from sharedcourt.db.audit import LinkOpening
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.ticket import Ticket
from sharedcourt.handoff.links import TranscriptLinks
from sharedcourt.messaging.router import Inbound
from sharedcourt.settings import Settings

STAFF_TOKEN = "staff-token-for-tests"
LINK_SECRET = "link-secret-for-tests"
DIRECTOR = "baiyun-director"
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


def _resident_says(client: TestClient, sender: str, text: str) -> None:
    """A web chat message from `sender`, through the router (web chat's own identity is not under test here)."""

    async def say() -> None:
        await client.app.state.router.handle(Inbound(CHANNEL, sender, text))  # type: ignore[attr-defined]

    assert client.portal is not None
    client.portal.call(say)


def _ask_for_a_person(client: TestClient, sender: str, text: str = "邻居把垃圾堆在我家门口") -> str:
    _resident_says(client, sender, text)
    response = client.post(
        "/handoff/requests",
        json={"conversation_id": _conversation_of(client, sender), "dispute_code": "neighbor"},
        headers=AUTH,
    )
    response.raise_for_status()
    number: str = response.json()["ticket"]
    return number


def _resident_sees(client: TestClient, sender: str) -> list[dict[str, Any]]:
    """What the resident's conversation holds, oldest first: author and text of every message."""
    conversation = _conversation_of(client, sender)

    async def load() -> list[dict[str, Any]]:
        async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            rows = await session.scalars(
                select(Message).where(Message.conversation_id == conversation).order_by(Message.id)
            )
            return [{"author": m.author.split(":")[0], "text": m.text} for m in rows]

    assert client.portal is not None
    return client.portal.call(load)


def _demo(database_url: str, link_secret: str = LINK_SECRET) -> TestClient:
    environ = {
        "DATABASE_URL": database_url,
        "STAFF_TOKEN": STAFF_TOKEN,
        "LINK_SECRET": link_secret,
        "HANDOFF_ROSTER": always_on_duty_file(),  # someone is on duty whatever the hour the tests run at
    }
    app = create_app(Settings.from_env(environ), rasa_transport=httpx.MockTransport(_rasa), background=False)
    return TestClient(app)


@pytest.fixture
def demo(database_url: str) -> Iterator[TestClient]:
    with _demo(database_url) as client:
        yield client


def _card_link(client: TestClient, number: str, staff: str = DIRECTOR) -> httpx.URL:
    """The transcript link in the card `staff` got for ticket `number`."""
    inbox = client.get("/handoff/staff/inbox", params={"staff": staff}, headers=AUTH).json()
    [text] = [m["text"] for m in inbox["messages"] if number in m["title"]]
    link = re.search(r"\((http[^)]+/transcript\?[^)]+)\)", text)
    assert link is not None, text
    return httpx.URL(link.group(1))


def _open(client: TestClient, url: httpx.URL, **changes: str) -> httpx.Response:
    return client.get(url.path, params={**dict(url.params), **changes})


def _openings(client: TestClient, number: str) -> list[LinkOpening]:
    async def load() -> list[LinkOpening]:
        async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            rows = await session.scalars(
                select(LinkOpening).join(Ticket, Ticket.id == LinkOpening.ticket_id).where(Ticket.number == number)
            )
            return list(rows)

    assert client.portal is not None
    return client.portal.call(load)


def test_without_dingtalk_the_demo_inbox_and_console_commands_work(database_url: str) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "STAFF_TOKEN": STAFF_TOKEN, "HANDOFF_ROSTER": always_on_duty_file()}
    )
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


def test_stored_offers_survive_an_app_restart(database_url: str, sessions: object) -> None:
    with _demo(database_url) as first:
        number = _ask_for_a_person(first, "restart-resident")
    with _demo(database_url) as restarted:  # a new app, a new process's memory: the inbox is in the database
        inbox = restarted.get("/handoff/staff/inbox", params={"staff": DIRECTOR}, headers=AUTH).json()
        assert [m["title"] for m in inbox["messages"] if number in m["title"]] == [f"居民请求人工服务 {number}"]
        said = restarted.post(
            "/handoff/staff/command", json={"staff": DIRECTOR, "text": f"接单 {number}"}, headers=AUTH
        )
        assert said.json()["ok"] is True and said.json()["ticket"] == number


def test_transcript_page_needs_the_cards_link_and_escapes_what_residents_wrote(demo: TestClient) -> None:
    number = _ask_for_a_person(demo, "transcript-resident", "<b>墙</b> & 裂缝")
    url = _card_link(demo, number)
    assert url.params["staff"] == DIRECTOR, "the link names the person it was sent to"
    page = _open(demo, url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert f"<title>对话记录 {number}</title>" in page.text
    assert "柯城区白云街道共享法庭" in page.text and "<td>居民</td>" in page.text
    assert "&lt;b&gt;墙&lt;/b&gt; &amp; 裂缝" in page.text and "<b>墙</b>" not in page.text
    wrong = demo.get(f"/handoff/tickets/{number}/transcript", params={"key": "wrong"})
    assert wrong.status_code == 403


def test_every_opening_is_logged_with_who_and_when(demo: TestClient) -> None:
    number = _ask_for_a_person(demo, "transcript-logged")
    url = _card_link(demo, number)
    assert _openings(demo, number) == []
    before = dt.datetime.now(dt.timezone.utc)
    assert _open(demo, url).status_code == 200
    assert _open(demo, url).status_code == 200
    openings = _openings(demo, number)
    assert [(o.staff, o.masked, o.address) for o in openings] == [(DIRECTOR, True, "testclient")] * 2
    assert all(before <= o.opened_at <= dt.datetime.now(dt.timezone.utc) for o in openings)


def test_personal_data_is_masked_in_the_page(demo: TestClient) -> None:
    said = "我的电话13812345678，身份证330802199001011234，请联系我"
    number = _ask_for_a_person(demo, "transcript-masked", said)
    page = _open(demo, _card_link(demo, number))
    assert page.status_code == 200
    assert "我的电话138****5678，身份证3308**********1234，请联系我" in page.text
    assert "13812345678" not in page.text and "199001011234" not in page.text


def test_names_and_addresses_are_masked_in_the_page_and_the_card(demo: TestClient) -> None:
    said = "我叫张三，邻居李小明把垃圾堆在我家门口，他住白云街道人民路88号3幢201室"
    number = _ask_for_a_person(demo, "transcript-names", said)
    masked = "我叫张*，邻居李**把垃圾堆在我家门口，他住白云街道****"
    inbox = demo.get("/handoff/staff/inbox", params={"staff": DIRECTOR}, headers=AUTH).json()
    [card] = [m["text"] for m in inbox["messages"] if number in m["title"]]
    page = _open(demo, _card_link(demo, number))
    assert masked in card and masked in page.text
    for secret in ("张三", "李小明", "人民路", "201室"):
        assert secret not in card and secret not in page.text


@pytest.mark.parametrize(
    "change",
    [
        {"sig": "0" * 64},
        {"staff": "baiyun-mediator-1"},  # someone else's name on the director's link
        {"expires": "9999999999"},  # a longer life
        {"number": "T99999"},  # another ticket
        {"sig": ""},
        {"expires": "soon"},
    ],
)
def test_a_changed_link_is_refused_with_a_chinese_page_and_nothing_logged(
    demo: TestClient, change: dict[str, str]
) -> None:
    number = _ask_for_a_person(demo, f"transcript-forged-{uuid.uuid4().hex[:8]}")
    url = _card_link(demo, number)
    params = {**dict(url.params), **change}
    path = url.path.replace(number, params.pop("number", number))
    page = demo.get(path, params=params)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "<title>链接无效</title>" in page.text and "已过期或不完整" in page.text
    assert "邻居把垃圾堆在我家门口" not in page.text
    assert _openings(demo, number) == []


def test_an_expired_link_is_refused(demo: TestClient) -> None:
    number = _ask_for_a_person(demo, "transcript-expired")
    hours = demo.app.state.settings.transcript_link_hours  # type: ignore[attr-defined]
    links = TranscriptLinks(LINK_SECRET, hours)
    issued = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours, seconds=1)
    expired = httpx.URL(links.url(number, DIRECTOR, issued))
    page = _open(demo, expired)
    assert page.status_code == 403 and "<title>链接无效</title>" in page.text
    fresh = httpx.URL(links.url(number, DIRECTOR, issued + dt.timedelta(seconds=5)))
    assert _open(demo, fresh).status_code == 200, "the same signing, not yet expired, opens"
    assert [o.staff for o in _openings(demo, number)] == [DIRECTOR]


def test_a_link_for_someone_off_the_roster_or_without_a_secret_is_refused(database_url: str) -> None:
    with _demo(database_url) as demo:
        number = _ask_for_a_person(demo, "transcript-stranger")
        now = dt.datetime.now(dt.timezone.utc)
        stranger = httpx.URL(TranscriptLinks(LINK_SECRET, 24).url(number, "left-the-court", now))
        assert _open(demo, stranger).status_code == 403
    with _demo(database_url, link_secret="") as unsigned:
        number = _ask_for_a_person(unsigned, "transcript-no-secret")
        url = _card_link(unsigned, number)
        assert _open(unsigned, url).status_code == 403, "no LINK_SECRET: no link opens"
        assert _open(unsigned, httpx.URL(TranscriptLinks("", 24).url(number, DIRECTOR, now))).status_code == 403
        assert _openings(unsigned, number) == []


def test_the_api_needs_the_staff_token(demo: TestClient) -> None:
    for method, path in [("POST", "/handoff/status"), ("POST", "/handoff/requests"), ("POST", "/handoff/ratings")]:
        response = demo.request(method, path, headers={"Authorization": "Bearer wrong"})
        assert response.status_code == 403
    assert demo.post("/handoff/status", json={}, headers=AUTH).status_code == 400
