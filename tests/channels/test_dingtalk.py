"""DingTalk: the signed robot callback (verify first, 403 on failure), commands by text and card button,
replies through sessionWebhook, and the API client (token, retries) against the local stand-in."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from stand_ins.dingtalk_server import DingTalkStandIn, dingtalk_sign
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.channels.dingtalk import verify
from sharedcourt.clients.dingtalk import Card, DingTalkClient, DingTalkError, sign
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.errors import AuthError
from sharedcourt.settings import Settings

STAFF_TOKEN = "staff-token-for-tests"
DIRECTOR = "demo-baiyun-director"
VECTOR = "OuzzJR5+xZ4/EYwqtNt6sMYZQMTa/HEGvc9miJe7XzY="


def _rasa(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/webhooks/rest/webhook":
        return httpx.Response(200, json=[{"text": "机器人回复"}])
    return httpx.Response(200, json={})


@pytest.fixture
def standin() -> Iterator[DingTalkStandIn]:
    with DingTalkStandIn() as server:
        yield server


@pytest.fixture
def client(database_url: str, standin: DingTalkStandIn) -> Iterator[TestClient]:
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "STAFF_TOKEN": STAFF_TOKEN,
            "HANDOFF_ACCEPT_SECONDS": "180",
            **standin.settings(),
        }
    )
    app = create_app(settings, rasa_transport=httpx.MockTransport(_rasa), background=False)
    with TestClient(app) as test_client:
        yield test_client


def _conversation_of(client: TestClient, sender: str) -> str:
    async def find() -> str:
        async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            found: str = (
                await session.scalars(select(Conversation.id).join(Resident).where(Resident.channel_user_id == sender))
            ).one()
            return found

    assert client.portal is not None
    return client.portal.call(find)


def _ask_for_a_person(client: TestClient, sender: str) -> str:
    client.post("/webchat/messages", json={"sender": sender, "text": "邻居把垃圾堆在我家门口"}).raise_for_status()
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
    messages: list[dict[str, Any]] = client.get("/webchat/messages", params={"sender": sender}).json()["messages"]
    return messages


def test_signature_is_base64_hmac_sha256_of_timestamp_and_secret() -> None:
    # Vector computed independently: printf '1700000000000\nsecret' | openssl dgst -sha256 -hmac secret -binary | base64
    assert sign("secret", "1700000000000") == VECTOR == dingtalk_sign("secret", "1700000000000")
    now = 1_700_000_000_000
    verify("secret", str(now), sign("secret", str(now)), now_ms=now + 59 * 60 * 1000)
    with pytest.raises(AuthError):
        verify("secret", str(now), sign("other", str(now)), now_ms=now)
    with pytest.raises(AuthError):
        verify("secret", str(now), sign("secret", str(now)), now_ms=now + 61 * 60 * 1000)
    with pytest.raises(AuthError):
        verify("secret", str(now), sign("secret", str(now)), now_ms=now - 61 * 60 * 1000)
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
    client.post("/webchat/messages", json={"sender": "dt-resident-1", "text": "垃圾已经堆了一个星期了"})
    assert "垃圾已经堆了一个星期了" in standin.wait_for(DIRECTOR, "垃圾已经堆了一个星期了").text


def test_second_accept_is_told_who_has_it(client: TestClient, standin: DingTalkStandIn) -> None:
    number = _ask_for_a_person(client, "dt-resident-2")
    standin.wait_for(DIRECTOR, number)
    _callback(client, standin.callback_body(DIRECTOR, f"接单 {number}"), standin.signed_headers())
    other = "demo-baiyun-mediator-1"
    _callback(client, standin.callback_body(other, f"接单 {number}", session_valid=False), standin.signed_headers())
    told = standin.wait_for(other, "已由")
    assert told.route == "robot", "an expired sessionWebhook falls back to the robot API"


@pytest.mark.parametrize("attack", ["forged", "stale", "missing", "other_secret"])
def test_bad_callbacks_are_403_and_nothing_is_relayed(
    client: TestClient, standin: DingTalkStandIn, attack: str
) -> None:
    sender = f"dt-resident-{attack}"
    number = _ask_for_a_person(client, sender)
    standin.wait_for(DIRECTOR, number)
    _callback(client, standin.callback_body(DIRECTOR, f"接单 {number}"), standin.signed_headers())
    before = _resident_sees(client, sender)
    sent_before = len(standin.sent)
    stale = str(int(time.time() * 1000) - 2 * 60 * 60 * 1000)
    headers = {
        "forged": {**standin.signed_headers(), "sign": "bm90LXRoZS1yaWdodC1zaWduYXR1cmU="},
        "stale": standin.signed_headers(timestamp=stale),
        "missing": {"content-type": "application/json"},
        "other_secret": standin.signed_headers(secret="not-our-secret"),
    }[attack]
    for text in ("这是伪造的消息", "交还", f"结束 调解成功 {number}"):
        response = _callback(client, standin.callback_body(DIRECTOR, text), headers)
        assert response.status_code == 403
        assert response.json() == {"error": "forbidden"}
    assert _resident_sees(client, sender) == before
    assert len(standin.sent) == sent_before, "nothing was answered either"


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
