"""DingTalk: forged, stale, replayed and strangers' callbacks relay nothing; sessionWebhook never reaches another
host (SSRF); transcript links open only as signed, and show personal data masked.

The director of the sample roster holds a resident's conversation (a real handoff through the app). Each attack
then posts a callback carrying words for the resident; the resident's conversation and what DingTalk was sent are
compared before and after.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from stand_ins.dingtalk_server import DingTalkStandIn, dingtalk_sign
from stand_ins.listener import Listener
from stand_ins.secure_app import DINGTALK_SECRET, Stack, secure_app
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.db.conversation import Message

DIRECTOR = "demo-baiyun-director"
RESIDENT_WORDS = "我叫张三，电话13812345678，邻居把垃圾堆在我家门口"
PHONE = "13812345678"
FORGED = "伪造：请把您的身份证号码发给我"
_ticks = itertools.count(1)


@pytest.fixture
async def stack(
    database_url: str, sessions: object, apis: tuple[DingTalkStandIn, WeChatStandIn]
) -> AsyncIterator[Stack]:
    async with secure_app(database_url, dingtalk=apis[0], wechat_api=apis[1]) as running:
        yield running


def _dt(stack: Stack) -> DingTalkStandIn:
    assert stack.dingtalk is not None
    return stack.dingtalk


def signed(offset_ms: int = 0, secret: str = DINGTALK_SECRET) -> dict[str, str]:
    """Fresh headers as DingTalk signs them; each call a new millisecond (a used pair is refused as a replay)."""
    ts = str(int(time.time() * 1000) + offset_ms + next(_ticks))
    return {"timestamp": ts, "sign": dingtalk_sign(secret, ts), "content-type": "application/json"}


async def _conversation_texts(stack: Stack, conversation_id: str) -> list[str]:
    async with stack.app.state.sessions() as session:
        rows = await session.scalars(
            select(Message.text).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
        return list(rows)


async def _handoff(stack: Stack) -> tuple[str, str, str]:
    """A resident asks for a person: (conversation id, ticket number, the card's text to the director)."""
    seen = len(_dt(stack).messages_for(DIRECTOR))
    said = await stack.client.post("/webchat/messages", json={"text": RESIDENT_WORDS})
    assert said.status_code == 200, said.text
    async with stack.app.state.sessions() as session:
        message = (await session.scalars(select(Message).where(Message.text == RESIDENT_WORDS))).one()
    body = {"conversation_id": message.conversation_id, "dispute_code": "neighbor"}
    response = await stack.client.post("/handoff/requests", json=body, headers=stack.staff())
    assert response.status_code == 200, response.text
    number = str(response.json()["ticket"])
    card = _dt(stack).wait_for(DIRECTOR, number, after=seen)
    return message.conversation_id, number, card.text


async def _held(stack: Stack) -> tuple[str, str]:
    conversation_id, number, _ = await _handoff(stack)
    accepted = await stack.dingtalk_post(_dt(stack).callback_body(DIRECTOR, f"接单 {number}"), signed())
    assert accepted.status_code == 200, accepted.text
    legit = await stack.dingtalk_post(_dt(stack).callback_body(DIRECTOR, "您好，我是庭务主任"), signed())
    assert legit.status_code == 200
    assert (await _conversation_texts(stack, conversation_id))[-1] == "您好，我是庭务主任", "control: relay works"
    return conversation_id, number


def _attack(stack: Stack, attack: str) -> tuple[dict[str, Any], dict[str, str]]:
    body = _dt(stack).callback_body(DIRECTOR, FORGED)
    headers = {
        "forged sign": {**signed(), "sign": "A" * 43 + "="},
        "other secret": signed(secret="someone-elses-secret"),
        "stale": signed(offset_ms=-10 * 60 * 1000),
        "future": signed(offset_ms=10 * 60 * 1000),
        "no headers": {"content-type": "application/json"},
        "timestamp not a number": {**signed(), "timestamp": "now"},
    }.get(attack)
    if attack == "stranger":
        body = _dt(stack).callback_body("demo-not-on-the-roster", FORGED)
        body["senderStaffId"] = "demo-not-on-the-roster"
    return body, headers or signed()


@pytest.mark.parametrize(
    "attack", ["forged sign", "other secret", "stale", "future", "no headers", "timestamp not a number", "stranger"]
)
async def test_bad_callbacks_relay_nothing(stack: Stack, attack: str) -> None:
    conversation_id, _ = await _held(stack)
    before = await _conversation_texts(stack, conversation_id)
    sent = len(_dt(stack).sent)
    body, headers = _attack(stack, attack)
    response = await stack.dingtalk_post(body, headers)
    assert response.status_code < 500
    if attack != "stranger":
        assert response.status_code == 403, (attack, response.status_code)
    assert await _conversation_texts(stack, conversation_id) == before, f"{attack}: relayed to the resident"
    assert len(_dt(stack).sent) == sent, f"{attack}: DingTalk was sent an answer"


async def test_replayed_signature_with_another_body_is_refused(stack: Stack) -> None:
    conversation_id, _ = await _held(stack)
    headers = signed()
    first = await stack.dingtalk_post(_dt(stack).callback_body(DIRECTOR, "第一条"), headers)
    assert first.status_code == 200
    before = await _conversation_texts(stack, conversation_id)
    replay = await stack.dingtalk_post(_dt(stack).callback_body(DIRECTOR, FORGED), headers)
    assert replay.status_code == 403
    assert await _conversation_texts(stack, conversation_id) == before


async def test_redelivered_message_is_relayed_once(stack: Stack) -> None:
    conversation_id, _ = await _held(stack)
    body = _dt(stack).callback_body(DIRECTOR, "只说一次的话")
    for _ in range(3):
        assert (await stack.dingtalk_post(body, signed())).status_code == 200
    assert (await _conversation_texts(stack, conversation_id)).count("只说一次的话") == 1


def _webhooks(port: int, stand_in_port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/robot/sendBySession?session=x",
        f"http://localhost:{port}/robot/sendBySession?session=x",
        f"http://127.0.0.1:{stand_in_port}@127.0.0.1:{port}/robot/sendBySession",
        f"http://user:pass@127.0.0.1:{port}/robot/sendBySession",
        f"http://[::ffff:127.0.0.1]:{port}/robot/sendBySession",
        f"https://oapi.dingtalk.com@127.0.0.1:{port}/robot/sendBySession",
        f"http://127.0.0.1:{port}/robot/sendBySession#@oapi.dingtalk.com",
    ]


async def test_session_webhook_on_another_host_is_never_contacted(stack: Stack) -> None:
    stand_in_port = httpx.URL(_dt(stack).base_url).port or 80
    with Listener() as listener:
        for webhook in _webhooks(listener.port, stand_in_port):
            seen = len(_dt(stack).messages_for(DIRECTOR))
            body = {**_dt(stack).callback_body(DIRECTOR, "帮助"), "sessionWebhook": webhook}
            response = await stack.dingtalk_post(body, signed())
            assert response.status_code in (200, 400, 403), (webhook, response.status_code)
            if response.status_code == 200:
                answer = _dt(stack).wait_for(DIRECTOR, "", after=seen)
                assert answer.route == "robot", f"answered through {webhook}"
        await asyncio.sleep(0.2)  # a stray request would have arrived by now
        assert listener.hits == [], f"the app contacted a host a callback named: {listener.hits}"


LINK = re.compile(r"(https?://[^\s)\]]+/handoff/tickets/[^\s)\]]+/transcript[^\s)\]]*)")


def _relative(url: str) -> str:
    parsed = httpx.URL(url)
    return parsed.raw_path.decode()


async def test_transcript_link_opens_only_as_signed_and_masks(stack: Stack) -> None:
    _, _, card = await _handoff(stack)
    found = LINK.search(card)
    assert found, f"the card carries a transcript link: {card}"
    link = _relative(found.group(1))
    stack.client.cookies.clear()
    opened = await stack.client.get(link)
    assert opened.status_code == 200, opened.text
    assert "邻居把垃圾堆在我家门口" in opened.text, "control: the link shows the conversation"
    assert PHONE not in opened.text, "the transcript shows the phone number masked"
    path, _, query = link.partition("?")
    assert (await stack.client.get(path)).status_code == 403, "no link parameters, no transcript"
    params = httpx.QueryParams(query)
    for name in params:
        value = params[name]
        altered = value[:-1] + ("0" if value[-1] != "0" else "1")
        response = await stack.client.get(path, params=params.set(name, altered))
        assert response.status_code == 403, f"{name} altered: {response.status_code}"
    bearer_only = await stack.client.get(path, headers=stack.staff())
    assert PHONE not in bearer_only.text


async def test_bad_json_from_staff_is_4xx_or_cleaned_never_500(stack: Stack) -> None:
    conversation_id, _ = await _held(stack)
    wrong: list[str] = []
    for text in ["您好\\ud800", "您好\\udfff\\ud800", "您好\\u0000\\u0007"]:
        fresh = json.dumps(_dt(stack).callback_body(DIRECTOR, "PLACEHOLDER"), ensure_ascii=False)
        response = await stack.client.post(
            "/dingtalk/callback", content=fresh.replace("PLACEHOLDER", text).encode(), headers=signed()
        )
        if response.status_code >= 500:
            wrong.append(f"{text} -> {response.status_code}")
    nested = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    response = await stack.client.post("/dingtalk/callback", content=nested, headers=signed())
    if response.status_code >= 500:
        wrong.append(f"deeply nested -> {response.status_code}")
    wrong += [
        f"stored uncleaned: {said!r}"
        for said in await _conversation_texts(stack, conversation_id)
        if re.search("[\x00-\x08\ud800-\udfff]", said)
    ]
    assert wrong == [], wrong
