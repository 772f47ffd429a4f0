"""DingTalk: the signed robot callback (verify first, 403 on failure; five-minute window; replayed pairs refused),
strangers ignored, each msgId handled once across front doors (and again after a failed handling), commands by
text and card button, replies through sessionWebhook only on DingTalk's host (SSRF), and the API client (token,
retries) against the local stand-in."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.dingtalk_server import DingTalkStandIn, Listener, dingtalk_sign
from stand_ins.workspace_world import rasa
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.channels.dingtalk import CLAIM_LEASE, Claim, claim_message, mark_handled, release, verify
from sharedcourt.channels.webchat import CHANNEL
from sharedcourt.clients.dingtalk import Card, DingTalkClient, DingTalkError, sign
from sharedcourt.db.audit import DingTalkInbound, SeenSignature
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.ticket import Ticket
from sharedcourt.errors import AuthError
from sharedcourt.messaging.router import Inbound
from sharedcourt.settings import Settings

STAFF_TOKEN = "staff-token-for-tests"
DIRECTOR = "demo-baiyun-director"
VECTOR = "OuzzJR5+xZ4/EYwqtNt6sMYZQMTa/HEGvc9miJe7XzY="


class Recording(httpx.AsyncBaseTransport):
    """The app's DingTalk transport: every URL the app contacts is recorded, then really sent."""

    def __init__(self) -> None:
        self.urls: list[httpx.URL] = []
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


@pytest.fixture
def contacted() -> Recording:
    return Recording()


def _app(database_url: str, standin: DingTalkStandIn, transport: httpx.AsyncBaseTransport | None = None) -> TestClient:
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "STAFF_TOKEN": STAFF_TOKEN,
            "HANDOFF_ACCEPT_SECONDS": "180",
            **standin.settings(),
        }
    )
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa), background=False, dingtalk_transport=transport)
    return TestClient(app)


@pytest.fixture
def client(database_url: str, standin: DingTalkStandIn, contacted: Recording) -> Iterator[TestClient]:
    with _app(database_url, standin, contacted) as test_client:
        yield test_client


def _stored(client: TestClient) -> tuple[set[str], set[str]]:
    """The msgIds recorded (claimed or handled) and the signatures remembered."""

    async def load() -> tuple[set[str], set[str]]:
        async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            handled = await session.scalars(select(DingTalkInbound.msg_id))
            seen = await session.scalars(select(SeenSignature.signature))
            return set(handled), set(seen)

    assert client.portal is not None
    return client.portal.call(load)


def _ticket(client: TestClient, number: str) -> Ticket:
    async def load() -> Ticket:
        async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            return (await session.scalars(select(Ticket).where(Ticket.number == number))).one()

    assert client.portal is not None
    return client.portal.call(load)


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


def _ask_for_a_person(client: TestClient, sender: str) -> str:
    _resident_says(client, sender, "邻居把垃圾堆在我家门口")
    response = client.post(
        "/handoff/requests",
        json={"conversation_id": _conversation_of(client, sender), "dispute_code": "neighbor"},
        headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
    )
    response.raise_for_status()
    number: str = response.json()["ticket"]
    return number


def _callback(client: TestClient, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return client.post("/dingtalk/callback", content=json.dumps(body, ensure_ascii=False).encode(), headers=headers)


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


def test_signature_is_base64_hmac_sha256_of_timestamp_and_secret() -> None:
    # Vector computed independently: printf '1700000000000\nsecret' | openssl dgst -sha256 -hmac secret -binary | base64
    assert sign("secret", "1700000000000") == VECTOR == dingtalk_sign("secret", "1700000000000")
    now = 1_700_000_000_000
    verify("secret", str(now), sign("secret", str(now)), now_ms=now + 4 * 60 * 1000 + 59_000)
    verify("secret", str(now), sign("secret", str(now)), now_ms=now - 4 * 60 * 1000 - 59_000)
    with pytest.raises(AuthError):
        verify("secret", str(now), sign("other", str(now)), now_ms=now)
    for skew in (5 * 60 * 1000 + 1, 59 * 60 * 1000, 61 * 60 * 1000):  # the window is five minutes either side
        with pytest.raises(AuthError):
            verify("secret", str(now), sign("secret", str(now)), now_ms=now + skew)
        with pytest.raises(AuthError):
            verify("secret", str(now), sign("secret", str(now)), now_ms=now - skew)
    with pytest.raises(AuthError):
        verify("secret", "", "", now_ms=now)
    with pytest.raises(AuthError):
        verify("", str(now), sign("", str(now)), now_ms=now)


def test_card_button_accepts_and_the_holder_talks_to_the_resident(client: TestClient, standin: DingTalkStandIn) -> None:
    number = _ask_for_a_person(client, "dt-resident-1")
    card = standin.wait_for(DIRECTOR, number)
    assert card.route == "robot" and card.msg_key == "sampleActionCard2"
    assert "邻居把垃圾堆在我家门口" in card.text
    # Pressing 接单 sends the button's text to the robot: the callback carries it like typed text.
    assert card.buttons()["接单"] == f"接单 {number}"
    response = _callback(client, standin.callback_body(DIRECTOR, card.buttons()["接单"]), standin.signed_headers())
    assert response.status_code == 200
    ack = standin.wait_for(DIRECTOR, "已接单")
    assert ack.route == "session", "the answer goes back through the sessionWebhook while it is valid"
    assert "庭务主任已接单" in _resident_sees(client, "dt-resident-1")[-1]["text"]
    # Text from the holder reaches the resident.
    body = standin.callback_body(DIRECTOR, "您好，我是白云街道共享法庭庭务主任，我来帮您协调。")
    assert _callback(client, body, standin.signed_headers()).status_code == 200
    last = _resident_sees(client, "dt-resident-1")[-1]
    assert (last["author"], last["text"]) == ("staff", "您好，我是白云街道共享法庭庭务主任，我来帮您协调。")
    # A re-delivery of the same msgId is not relayed twice.
    assert _callback(client, body, standin.signed_headers()).status_code == 200
    texts = [m["text"] for m in _resident_sees(client, "dt-resident-1")]
    assert texts.count("您好，我是白云街道共享法庭庭务主任，我来帮您协调。") == 1
    # The resident's next message goes to the holder in DingTalk.
    _resident_says(client, "dt-resident-1", "垃圾已经堆了一个星期了")
    assert "垃圾已经堆了一个星期了" in standin.wait_for(DIRECTOR, "垃圾已经堆了一个星期了").text


def test_second_accept_is_told_who_has_it(client: TestClient, standin: DingTalkStandIn) -> None:
    number = _ask_for_a_person(client, "dt-resident-2")
    standin.wait_for(DIRECTOR, number)
    _callback(client, standin.callback_body(DIRECTOR, f"接单 {number}"), standin.signed_headers())
    other = "demo-baiyun-mediator-1"
    _callback(client, standin.callback_body(other, f"接单 {number}", session_valid=False), standin.signed_headers())
    told = standin.wait_for(other, "已由")
    assert told.route == "robot", "an expired sessionWebhook falls back to the robot API"


@pytest.mark.parametrize(
    "attack", ["forged", "stale", "stale_six_minutes", "future_six_minutes", "missing", "other_secret", "replayed"]
)
def test_bad_callbacks_are_403_and_nothing_is_relayed(
    client: TestClient, standin: DingTalkStandIn, attack: str
) -> None:
    sender = f"dt-resident-{attack}"
    number = _ask_for_a_person(client, sender)
    standin.wait_for(DIRECTOR, number)
    accepted_with = standin.signed_headers()
    assert _callback(client, standin.callback_body(DIRECTOR, f"接单 {number}"), accepted_with).status_code == 200
    before = _resident_sees(client, sender)
    sent_before = len(standin.sent)
    stored_before = _stored(client)
    now_ms = int(time.time() * 1000)
    headers = {
        "forged": {**standin.signed_headers(), "sign": "bm90LXRoZS1yaWdodC1zaWduYXR1cmU="},
        "stale": standin.signed_headers(timestamp=str(now_ms - 2 * 60 * 60 * 1000)),
        "stale_six_minutes": standin.signed_headers(timestamp=str(now_ms - 6 * 60 * 1000)),
        "future_six_minutes": standin.signed_headers(timestamp=str(now_ms + 6 * 60 * 1000)),
        "missing": {"content-type": "application/json"},
        "other_secret": standin.signed_headers(secret="not-our-secret"),
        "replayed": accepted_with,  # a captured genuine (timestamp, sign) with a body of the attacker's choosing
    }[attack]
    for text in ("这是伪造的消息", "交还", f"结束 调解成功 {number}"):
        response = _callback(client, standin.callback_body(DIRECTOR, text), headers)
        assert response.status_code == 403
        assert response.json() == {"error": "forbidden"}
    assert _resident_sees(client, sender) == before
    assert len(standin.sent) == sent_before, "nothing was answered either"
    assert _stored(client) == stored_before, "no msgId and no signature stored"
    assert _ticket(client, number).state == "accepted"


def test_a_replayed_pair_is_refused_by_another_front_door(
    client: TestClient, standin: DingTalkStandIn, database_url: str
) -> None:
    number = _ask_for_a_person(client, "dt-resident-replay-2")
    standin.wait_for(DIRECTOR, number)
    headers = standin.signed_headers()
    assert _callback(client, standin.callback_body(DIRECTOR, f"接单 {number}"), headers).status_code == 200
    with _app(database_url, standin) as other:
        response = _callback(other, standin.callback_body(DIRECTOR, "交还"), headers)
        assert response.status_code == 403
    assert _ticket(client, number).state == "accepted", "the replayed 交还 did nothing"


@pytest.mark.parametrize(
    "target",
    [
        "listener",  # another port on this machine
        "listener_userinfo",  # https://oapi.dingtalk.com@127.0.0.1:port/…: the host is 127.0.0.1
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud's metadata address
        "https://evil.example/robot/sendBySession?session=x",
        "http://oapi.dingtalk.com/robot/sendBySession?session=x",  # DingTalk's host, but not HTTPS
        "https://oapi.dingtalk.com.evil.example/robot/sendBySession",
    ],
)
def test_a_session_webhook_off_dingtalks_host_is_never_contacted(
    client: TestClient, standin: DingTalkStandIn, contacted: Recording, target: str
) -> None:
    with Listener() as listener:
        port = listener.url.rsplit(":", 1)[1]
        webhook = {
            "listener": f"{listener.url}/robot/sendBySession?session=x",
            "listener_userinfo": f"http://oapi.dingtalk.com@127.0.0.1:{port}/robot/sendBySession?session=x",
        }.get(target, target)
        body = standin.callback_body(DIRECTOR, "帮助", webhook=webhook)
        assert _callback(client, body, standin.signed_headers()).status_code == 200
        answer = standin.wait_for(DIRECTOR, "接单")  # the help text, answered through the robot API instead
        assert answer.route == "robot"
        assert listener.requests == []
    assert {(u.host, u.port) for u in contacted.urls} == {("127.0.0.1", int(standin.base_url.rsplit(":", 1)[1]))}


def test_someone_not_on_the_roster_is_ignored(client: TestClient, standin: DingTalkStandIn) -> None:
    number = _ask_for_a_person(client, "dt-resident-stranger")
    standin.wait_for(DIRECTOR, number)
    sent_before, state_before = len(standin.sent), _ticket(client, number).state
    for text in (f"接单 {number}", "帮助"):
        body = standin.callback_body("someone-else-in-the-org", text)
        response = _callback(client, body, standin.signed_headers())
        assert (response.status_code, response.json()) == (200, {})
        assert body["msgId"] not in _stored(client)[0]
    assert _ticket(client, number).state == state_before != "accepted" and _ticket(client, number).holder is None
    assert len(standin.sent) == sent_before, "a stranger gets no answer either"


def test_a_failed_handling_leaves_the_msgid_unrecorded_and_the_retry_is_handled_once(
    client: TestClient, standin: DingTalkStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = "dt-resident-retry"
    number = _ask_for_a_person(client, sender)
    standin.wait_for(DIRECTOR, number)
    _callback(client, standin.callback_body(DIRECTOR, f"接单 {number}"), standin.signed_headers())
    service = client.app.state.handoff.service  # type: ignore[attr-defined]
    real = service.staff_says
    failures = [RuntimeError("the database went away mid-handling")]

    async def flaky(staff_id: str, text: str) -> Any:
        if failures:
            raise failures.pop()
        return await real(staff_id, text)

    monkeypatch.setattr(service, "staff_says", flaky)
    body = standin.callback_body(DIRECTOR, "请把照片发给我")
    with pytest.raises(RuntimeError):
        _callback(client, body, standin.signed_headers())
    assert body["msgId"] not in _stored(client)[0], "a failed handling is not recorded"
    assert "请把照片发给我" not in [m["text"] for m in _resident_sees(client, sender)]
    for _ in range(2):  # DingTalk's retry (signed anew), then one more re-delivery
        assert _callback(client, body, standin.signed_headers()).status_code == 200
    assert [m["text"] for m in _resident_sees(client, sender)].count("请把照片发给我") == 1
    assert body["msgId"] in _stored(client)[0]


def test_two_front_doors_on_one_database_handle_a_retried_msgid_once(
    client: TestClient, standin: DingTalkStandIn, database_url: str
) -> None:
    sender = "dt-resident-replicas"
    number = _ask_for_a_person(client, sender)
    standin.wait_for(DIRECTOR, number)
    _callback(client, standin.callback_body(DIRECTOR, f"接单 {number}"), standin.signed_headers())
    body = standin.callback_body(DIRECTOR, "我们约个时间面谈")
    assert _callback(client, body, standin.signed_headers()).status_code == 200
    with _app(database_url, standin) as other:
        assert _callback(other, body, standin.signed_headers()).status_code == 200
    assert [m["text"] for m in _resident_sees(client, sender)].count("我们约个时间面谈") == 1


async def test_client_caches_the_token_retries_and_refreshes(standin: DingTalkStandIn) -> None:
    client = DingTalkClient(standin.base_url, standin.app_key, standin.app_secret, standin.robot_code, backoff=0.01)
    try:
        await client.send_to_users(["u1"], Card("标题", "正文"))
        await client.send_to_users(["u2"], Card("标题", "正文", (("接单", "接单 T00001"),)))
        tokens = [r for r in standin.requests if r[0] == "/v1.0/oauth2/accessToken"]
        assert len(tokens) == 1, "the token is cached"
        assert standin.sent[-1].msg_key == "sampleActionCard"
        standin.fail_next["/v1.0/robot/oToMessages/batchSend"] = [503, 500]
        await client.send_to_users(["u3"], Card("重试", "正文"))
        assert standin.sent[-1].users == ["u3"]
        standin.tokens.clear()  # DingTalk revoked the token early: one refresh, then it goes through
        await client.send_to_users(["u4"], Card("刷新", "正文"))
        assert standin.sent[-1].users == ["u4"]
        standin.fail_next["/v1.0/robot/oToMessages/batchSend"] = [500, 500, 500]
        with pytest.raises(DingTalkError):
            await client.send_to_users(["u5"], Card("失败", "正文"))
        await client.send_group(
            f"{standin.base_url}/robot/send?access_token=x", standin.group_secret, Card("群", "值班群")
        )
        assert standin.sent[-1].route == "group"
        with pytest.raises(DingTalkError):
            await client.send_group(f"{standin.base_url}/robot/send?access_token=x", "wrong", Card("群", "值班群"))
    finally:
        await client.aclose()
    bad = DingTalkClient(standin.base_url, "wrong", "wrong", standin.robot_code)
    try:
        with pytest.raises(DingTalkError):
            await bad.access_token()
    finally:
        await bad.aclose()


def test_dingtalk_down_is_retried_through_the_outbox(client: TestClient, standin: DingTalkStandIn) -> None:
    standin.fail_next["/v1.0/robot/oToMessages/batchSend"] = [503, 503, 503]  # every attempt of the first send
    number = _ask_for_a_person(client, "dt-resident-down")
    assert not standin.messages_for(DIRECTOR)
    time.sleep(2.1)  # the outbox's first backoff

    async def run_once() -> int:
        sent: int = await client.app.state.outbox.run_once()  # type: ignore[attr-defined]
        return sent

    assert client.portal is not None
    assert client.portal.call(run_once) == 1
    assert number in standin.wait_for(DIRECTOR, number).text


async def test_a_msgid_is_claimed_by_one_front_door_at_a_time(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)
    assert await claim_message(sessions, "msg-a", now) is Claim.MINE
    assert await claim_message(sessions, "msg-a", now) is Claim.BUSY, "a second front door waits (409: retried)"
    await release(sessions, "msg-a")  # the first failed
    assert await claim_message(sessions, "msg-a", now) is Claim.MINE
    # A front door that died mid-handling: after the lease a re-delivery takes the claim over.
    assert await claim_message(sessions, "msg-a", now + CLAIM_LEASE - dt.timedelta(seconds=1)) is Claim.BUSY
    later = now + CLAIM_LEASE + dt.timedelta(seconds=1)
    assert await claim_message(sessions, "msg-a", later) is Claim.MINE
    await mark_handled(sessions, "msg-a", later)
    await release(sessions, "msg-a")  # never forgets a handled message
    assert await claim_message(sessions, "msg-a", later + dt.timedelta(hours=1)) is Claim.HANDLED


def test_a_message_being_handled_elsewhere_is_409_and_handled_later(
    client: TestClient, standin: DingTalkStandIn
) -> None:
    sender = "dt-resident-busy"
    number = _ask_for_a_person(client, sender)
    standin.wait_for(DIRECTOR, number)
    _callback(client, standin.callback_body(DIRECTOR, f"接单 {number}"), standin.signed_headers())
    body = standin.callback_body(DIRECTOR, "稍等，我查一下")

    async def claim_elsewhere() -> Claim:
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        return await claim_message(sessions, body["msgId"], dt.datetime.now(dt.timezone.utc))

    assert client.portal is not None
    assert client.portal.call(claim_elsewhere) is Claim.MINE
    response = _callback(client, body, standin.signed_headers())
    assert response.status_code == 409
    assert "稍等，我查一下" not in [m["text"] for m in _resident_sees(client, sender)]


async def test_the_client_refuses_a_webhook_off_dingtalks_hosts(standin: DingTalkStandIn) -> None:
    client = DingTalkClient(standin.base_url, standin.app_key, standin.app_secret, standin.robot_code)
    try:
        assert client.webhook_allowed("https://oapi.dingtalk.com/robot/sendBySession?session=x")
        assert client.webhook_allowed("https://api.dingtalk.com/v1.0/robot/x")
        assert client.webhook_allowed(f"{standin.base_url}/robot/sendBySession?session=x")
        with Listener() as listener:
            for url in (
                f"{listener.url}/robot/sendBySession",
                "https://oapi.dingtalk.com:8443/robot/sendBySession",
                "http://127.0.0.1/robot/sendBySession",
                "/robot/sendBySession",
                "not a url at all",
            ):
                assert not client.webhook_allowed(url), url
                with pytest.raises(DingTalkError):
                    await client.reply_webhook(url, Card("标题", "正文"))
            assert listener.requests == []
        assert standin.requests == []
    finally:
        await client.aclose()


def test_bad_json_from_a_roster_member_is_400_or_cleaned(client: TestClient, standin: DingTalkStandIn) -> None:
    sender = "dt-resident-bad-json"
    number = _ask_for_a_person(client, sender)
    standin.wait_for(DIRECTOR, number)
    _callback(client, standin.callback_body(DIRECTOR, f"接单 {number}"), standin.signed_headers())
    body = json.dumps(standin.callback_body(DIRECTOR, "PLACEHOLDER"), ensure_ascii=False)
    for bad in (body.replace("PLACEHOLDER", "您好\\ud800"), '{"a":' * 10_000 + "1" + "}" * 10_000, "[1]", "不是JSON"):
        response = client.post("/dingtalk/callback", content=bad.encode(), headers=standin.signed_headers())
        assert response.status_code == 400
    cleaned = body.replace("PLACEHOLDER", "您好\\u0000\\u0007，我是调解员")
    assert (
        client.post("/dingtalk/callback", content=cleaned.encode(), headers=standin.signed_headers()).status_code == 200
    )
    assert _resident_sees(client, sender)[-1] == {"author": "staff", "text": "您好，我是调解员"}
