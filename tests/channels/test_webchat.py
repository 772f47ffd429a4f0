"""Web chat (sharedcourt.channels.webchat): the cookie is the conversation, rate limits, and the page's API."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.channels import webchat
from sharedcourt.channels.webchat import COOKIE, SlidingWindow, resident_id
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.messaging.router import HOLDING_REPLY
from sharedcourt.settings import Settings

GREETING = {"text": "您好，这里是共享法庭", "buttons": [{"title": "预约调解", "payload": "/book"}]}


@dataclass
class FakeRasa:
    """Rasa's REST webhook: answers each text, remembers what it was sent, and can be down."""

    down: bool = False
    seen: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/webhooks/rest/webhook":
            return httpx.Response(200, json={})
        if self.down:
            raise httpx.ConnectError("rasa is down", request=request)
        body = json.loads(request.content)
        self.seen.append(body)
        if body["message"] == "/book":
            return httpx.Response(200, json=[{"text": "请选择时间"}])
        return httpx.Response(200, json=[GREETING])


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@dataclass
class Browser:
    """One resident's browser: its own cookie jar, over the one test client of the app (one lifespan)."""

    client: TestClient
    jar: httpx.Cookies = field(default_factory=httpx.Cookies)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.client.cookies = self.jar
        try:
            response: httpx.Response = self.client.request(method, url, **kwargs)
            return response
        finally:
            self.jar = self.client.cookies

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    @property
    def token(self) -> str:
        return self.jar[COOKIE]

    @property
    def resident(self) -> str:
        return resident_id(self.token)


@contextlib.contextmanager
def _serving(database_url: str, rasa: FakeRasa, **env: str) -> Iterator[TestClient]:
    settings = Settings.from_env({"DATABASE_URL": database_url, **env})
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa), background=False)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(database_url: str, sessions: object, rasa: FakeRasa) -> Iterator[TestClient]:
    # `sessions` empties the tables after the test: rows left here would be seen by later modules' tests.
    with _serving(database_url, rasa) as test_client:
        yield test_client


@pytest.fixture
def alice(client: TestClient) -> Browser:
    return Browser(client)


@pytest.fixture
def bob(client: TestClient) -> Browser:
    return Browser(client)


def _say(browser: Browser, text: str, **extra: Any) -> httpx.Response:
    return browser.post("/webchat/messages", json={"text": text, **extra})


def _rows(client: TestClient, model: Any, *where: Any) -> list[Any]:
    async def load() -> list[Any]:
        async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            return list(await session.scalars(select(model).where(*where)))

    assert client.portal is not None
    return client.portal.call(load)


def _inbound(*browsers: Browser) -> list[str]:
    """The stored inbound texts of these browsers' residents (the database is shared with other tests)."""
    residents = [b.resident for b in browsers]
    rows = _rows(
        browsers[0].client,
        Message,
        Message.direction == "in",
        Message.conversation_id.in_(
            select(Conversation.id).join(Resident).where(Resident.channel_user_id.in_(residents))
        ),
    )
    return sorted(m.text for m in rows)


def _residents(client: TestClient, *ids: str) -> list[Resident]:
    return _rows(client, Resident, Resident.channel_user_id.in_(ids))


def _cookie_header(response: httpx.Response) -> str:
    [header] = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    return header


def test_first_poll_without_a_cookie_is_empty_and_issues_a_strict_httponly_cookie(alice: Browser) -> None:
    response = alice.get("/webchat/messages", params={"after": 0})
    assert response.status_code == 200
    assert response.json() == {"messages": [], "cursor": 0, "more": False}
    header = _cookie_header(response)
    assert header.startswith(f"{COOKIE}={alice.token};")
    flags = [part.strip().lower() for part in header.split(";")[1:]]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags, "PUBLIC_URL is http here"
    assert f"max-age={webchat.COOKIE_MAX_AGE}" in flags
    assert len(alice.token) == 43  # secrets.token_urlsafe(32)
    assert _residents(alice.client, alice.resident) == [], "a poll creates nobody"
    # The next poll carries the cookie and is not given another one.
    assert "set-cookie" not in alice.get("/webchat/messages", params={"after": 0}).headers


def test_cookie_is_secure_when_the_public_url_is_https(database_url: str, rasa: FakeRasa) -> None:
    with _serving(database_url, rasa, PUBLIC_URL="https://court.example.cn") as client:
        polled = client.get("/webchat/messages")
        posted = client.post("/webchat/messages", json={"text": "你好"})
    for response in (polled, posted):
        flags = [p.strip().lower() for p in _cookie_header(response).split(";")]
        assert "secure" in flags and "httponly" in flags and "samesite=strict" in flags


def test_the_page_sets_no_cookie(alice: Browser) -> None:
    response = alice.get("/")
    assert response.status_code == 200 and "共享法庭" in response.text
    assert "set-cookie" not in response.headers
    # The page holds no identity of its own: it neither keeps nor sends one.
    assert "localStorage.setItem" not in response.text
    assert "sender:" not in response.text and "?sender=" not in response.text


def test_first_message_starts_a_conversation_whose_id_is_the_hash_of_the_cookie(alice: Browser) -> None:
    response = _say(alice, "你好")
    assert response.status_code == 200
    [resident] = _residents(alice.client, alice.resident)
    assert resident.channel == "webchat"
    assert resident.channel_user_id == hashlib.sha256(alice.token.encode()).hexdigest()
    assert _residents(alice.client, alice.token) == [], "the database never holds the cookie"
    replies = response.json()["replies"]
    assert [r["text"] for r in replies] == [GREETING["text"]]
    assert replies[0]["buttons"] == GREETING["buttons"]
    assert response.json()["cursor"] == replies[-1]["id"] > response.json()["id"]


def test_reopening_the_page_with_the_same_cookie_shows_the_whole_conversation(client: TestClient) -> None:
    alice = Browser(client)
    _say(alice, "你好")
    _say(alice, "1")
    reopened = Browser(client, httpx.Cookies({COOKIE: alice.token}))
    history = reopened.get("/webchat/messages", params={"after": 0})
    assert "set-cookie" not in history.headers
    said = [(m["author"], m["text"]) for m in history.json()["messages"]]
    assert said == [("resident", "你好"), ("bot", GREETING["text"]), ("resident", "1"), ("bot", "请选择时间")]
    ids = [m["id"] for m in history.json()["messages"]]
    assert ids == sorted(ids) and history.json()["cursor"] == ids[-1]
    later = reopened.get("/webchat/messages", params={"after": ids[1]}).json()["messages"]
    assert [m["text"] for m in later] == ["1", "请选择时间"]


def test_another_browser_cannot_read_a_conversation_by_any_identifier(alice: Browser, bob: Browser) -> None:
    _say(alice, "我的电话是13812345678")
    for params in (
        {"after": 0},
        {"sender": alice.resident, "after": 0},
        {"sender": "web-old-style-id", "after": 0},
        {"user_id": alice.resident, "resident": alice.resident, "conversation": alice.resident},
    ):
        response = bob.get("/webchat/messages", params=params)
        assert response.status_code == 200 and response.json()["messages"] == [], params
    # A cookie holding A's resident id (the hash), or any value that is not a token, is a stranger's.
    for forged in (alice.resident, alice.token[:42] + "!", alice.token + "x", ""):
        stranger = Browser(alice.client, httpx.Cookies({COOKIE: forged}))
        response = stranger.get("/webchat/messages", params={"after": 0})
        assert response.json()["messages"] == []
        header = _cookie_header(response)
        assert header.startswith(f"{COOKIE}=") and not header.startswith(f"{COOKIE}={forged};")


def test_another_browser_cannot_write_into_a_conversation(alice: Browser, bob: Browser) -> None:
    _say(alice, "你好")
    before = alice.get("/webchat/messages", params={"after": 0}).json()["messages"]
    assert _say(bob, "取消预约", sender=alice.resident).status_code == 200
    assert _say(bob, "取消预约", sender="web-old-style-id", user_id=alice.resident).status_code == 200
    assert alice.get("/webchat/messages", params={"after": 0}).json()["messages"] == before
    theirs = bob.get("/webchat/messages", params={"after": 0}).json()["messages"]
    assert [m["text"] for m in theirs if m["author"] == "resident"] == ["取消预约", "取消预约"]
    assert _inbound(alice) == ["你好"] and _inbound(bob) == ["取消预约", "取消预约"]
    assert _residents(alice.client, "web-old-style-id") == []


def test_text_is_checked_and_nothing_is_stored_for_a_bad_message(alice: Browser) -> None:
    alice.get("/webchat/messages")
    assert _say(alice, "   ").status_code == 400
    assert alice.post("/webchat/messages", json={"sender": "x"}).status_code == 400
    assert _say(alice, "长" * (webchat.MAX_TEXT + 1)).status_code == 400
    assert alice.post("/webchat/messages", content=b"not json").status_code == 400
    assert alice.get("/webchat/messages", params={"after": "x"}).status_code == 400
    assert _inbound(alice) == []


def test_numbered_choice_is_sent_to_rasa_as_the_offered_button(alice: Browser, rasa: FakeRasa) -> None:
    _say(alice, "你好")
    reply = _say(alice, "1").json()
    assert rasa.seen[-1]["message"] == "/book"
    assert [r["text"] for r in reply["replies"]] == ["请选择时间"]


def test_rasa_outage_answers_with_the_holding_reply_and_keeps_the_message(alice: Browser, rasa: FakeRasa) -> None:
    _say(alice, "你好")
    rasa.down = True
    held = _say(alice, "我要找调解员")
    assert held.status_code == 200
    assert [r["text"] for r in held.json()["replies"]] == [HOLDING_REPLY]
    [kept] = _rows(alice.client, Message, Message.id == held.json()["id"])
    assert (kept.text, kept.status) == ("我要找调解员", "pending")


def test_over_the_per_conversation_limit_is_429_and_nothing_is_stored(database_url: str, rasa: FakeRasa) -> None:
    env = {"WEBCHAT_PER_SENDER_PER_MINUTE": "2", "WEBCHAT_PER_ADDRESS_PER_MINUTE": "100"}
    with _serving(database_url, rasa, **env) as client:
        resident, other = Browser(client), Browser(client)
        assert [_say(resident, t).status_code for t in ("一", "二")] == [200, 200]
        refused = _say(resident, "三")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "太快" in refused.json()["error"] and "没有发出" in refused.json()["error"]
        assert _inbound(resident) == sorted(["一", "二"]) and len(rasa.seen) == 2
        # Another conversation from the same address is not held back by this one.
        assert _say(other, "四").status_code == 200


def test_over_the_per_address_limit_is_429_for_every_conversation(database_url: str, rasa: FakeRasa) -> None:
    env = {"WEBCHAT_PER_SENDER_PER_MINUTE": "100", "WEBCHAT_PER_ADDRESS_PER_MINUTE": "3"}
    with _serving(database_url, rasa, **env) as client:
        a, b, fresh = Browser(client), Browser(client), Browser(client)
        assert [_say(a, "一").status_code, _say(a, "二").status_code, _say(b, "三").status_code] == [200, 200, 200]
        assert _say(b, "四").status_code == 429
        # No cookie at all (a new conversation each time) does not escape the address limit.
        assert _say(fresh, "五").status_code == 429
        assert _inbound(a, b) == sorted(["一", "二", "三"])
        assert _inbound(fresh) == [] and len(rasa.seen) == 3


def test_sliding_window_admits_the_limit_then_says_how_long_to_wait() -> None:
    now = [1000.0]
    window = SlidingWindow(60.0, clock=lambda: now[0])
    assert [window.admit([("a", 3)]) for _ in range(3)] == [0.0, 0.0, 0.0]
    now[0] += 10
    assert window.admit([("a", 3)]) == pytest.approx(50.0)
    now[0] += 49
    assert window.admit([("a", 3)]) == pytest.approx(1.0), "a refused attempt is not counted"
    now[0] += 1
    assert [window.admit([("a", 3)]) for _ in range(3)] == [0.0, 0.0, 0.0]
    # Both keys must have room; when one is full, neither records the event.
    assert window.admit([("b", 5), ("a", 3)]) > 0
    assert window.admit([("b", 1)]) == 0.0
    assert window.admit([("c", 0)]) == 0.0 and window.admit([("c", -1)]) == 0.0


def test_sliding_window_forgets_keys_idle_for_a_whole_window() -> None:
    now = [0.0]
    window = SlidingWindow(60.0, clock=lambda: now[0])
    for key in range(100):
        window.admit([(f"k{key}", 1)])
    assert len(window) == 100
    now[0] += 61
    window.admit([("late", 1)])
    assert len(window) == 1


def test_a_retry_with_the_same_client_id_is_answered_not_stored_or_run_again(
    alice: Browser, bob: Browser, rasa: FakeRasa
) -> None:
    alice.get("/webchat/messages")
    first = _say(alice, "你好", client_id="m1")
    again = _say(alice, "你好", client_id="m1")
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert [r["text"] for r in again.json()["replies"]] == [GREETING["text"]]
    assert _inbound(alice) == ["你好"]
    assert len(rasa.seen) == 1
    # Another resident's message with the same client_id is theirs: client ids are scoped by the cookie.
    bob.get("/webchat/messages")
    other = _say(bob, "你好", client_id="m1")
    assert other.status_code == 200 and other.json()["id"] != first.json()["id"]
    assert _inbound(bob) == ["你好"] and len(rasa.seen) == 2


def test_a_retry_of_a_message_a_dead_front_door_stored_runs_its_turn_once(
    client: TestClient, alice: Browser, rasa: FakeRasa
) -> None:
    from sharedcourt.messaging.router import Inbound

    alice.get("/webchat/messages")
    inbound = Inbound(webchat.CHANNEL, alice.resident, "你好", external_id=f"{alice.resident[:32]}:m7")
    assert client.portal is not None
    stored = client.portal.call(client.app.state.router.store, inbound)  # type: ignore[attr-defined]
    retry = _say(alice, "你好", client_id="m7")
    assert retry.status_code == 200 and retry.json()["id"] == stored.message_id
    assert [r["text"] for r in retry.json()["replies"]] == [GREETING["text"]]
    assert len(rasa.seen) == 1 and _inbound(alice) == ["你好"]


@pytest.mark.parametrize("bad", ["", "a b", "x" * 65, 7, "m/1"])
def test_a_malformed_client_id_is_refused_and_nothing_stored(alice: Browser, rasa: FakeRasa, bad: object) -> None:
    alice.get("/webchat/messages")
    response = _say(alice, "你好", client_id=bad)
    assert response.status_code == 400 and "client_id" in response.json()["error"]
    assert _inbound(alice) == [] and rasa.seen == []
