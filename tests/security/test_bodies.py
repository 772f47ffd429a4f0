"""Oversized and malformed bodies on every POST route the app serves: 4xx, never 5xx, and nothing stored.

Each route gets the credential it expects (staff bearer, DingTalk signature, WeChat/WeCom signed query, the web
chat cookie), so the body itself is what is judged. Bad text may be cleaned instead of refused (NUL escaped in
JSON, per the bad-text policy in web/payload.py): then the answer may be 2xx, but what is stored holds no NUL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from stand_ins.dingtalk_server import dingtalk_sign, fresh_timestamp
from stand_ins.secure_app import DINGTALK_SECRET, Stack, secure_app, wecom_push, wecom_text
from stand_ins.served_routes import sample_url, served

from sharedcourt.db.conversation import Message

LIMIT = 64 * 1024  # MAX_BODY_BYTES for this suite (the default), set explicitly below
CHUNK = 8 * 1024
FORM = "application/x-www-form-urlencoded"

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'.encode() for i in range(1, 10))
    + b"]><xml><Content>&lol9;</Content><Encrypt>&lol9;</Encrypt></xml>"
)
CASES: dict[str, bytes] = {
    "invalid json": b'{"text": ',
    "json not an object": b'["text", "sender"]',
    "lone surrogate": b'{"text": "\\ud800 \xe4\xbd\xa0\xe5\xa5\xbd", "staff": "a", "conversation_id": "\\udfff"}',
    "raw NUL byte": b'{"text": "a\x00b"}',
    "invalid utf-8": b'{"text": "\xff\xfe\xfa"}',
    "nan": b'{"text": NaN}',
    "deeply nested json": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "billion laughs": BILLION_LAUGHS,
    "external entity": b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>',
    "deeply nested xml": b"<xml>" + b"<a>" * 5_000 + b"</a>" * 5_000 + b"</xml>",
    "truncated xml": b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[abc",
}
# Bad text the policy may clean rather than refuse.
CLEANABLE: dict[str, bytes] = {"escaped NUL and controls": b'{"text": "\xe4\xbd\xa0\\u0000\\u0007\xe5\xa5\xbd"}'}


@pytest.fixture
async def stack(database_url: str, sessions: object) -> AsyncIterator[Stack]:
    async with secure_app(database_url, MAX_BODY_BYTES=str(LIMIT)) as running:
        yield running


def post_routes(app: Any) -> list[str]:
    """Every POST path the app serves, parameters filled in."""
    return sorted(sample_url(path) for method, path in served(app.routes) if method == "POST")


def credentials(stack: Stack, path: str) -> dict[str, Any]:
    """What a legitimate caller of `path` sends besides the body (headers and query)."""
    if path in ("/dingtalk/callback", "/dingtalk/card-callback"):  # card presses are signed like robot messages
        ts = fresh_timestamp()
        return {"headers": {"timestamp": ts, "sign": dingtalk_sign(DINGTALK_SECRET, ts)}}
    if path == "/wechat/callback":
        return {"params": stack.wechat.push(stack.wechat.text("oBodies0000000000000000001", "x")).params}
    if path == "/wecom/callback":
        return {"params": wecom_push(wecom_text("bodies", "x", 7_000_001))[0]}
    if path.startswith(("/webchat/", "/console/login")):
        return {}
    return {"headers": stack.staff()}


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), CHUNK):
        yield body[start : start + CHUNK]


async def _post(stack: Stack, path: str, content: Any, content_type: str = "") -> httpx.Response:
    extra = credentials(stack, path)
    # The type the route reads (a form parser ignores a JSON body it never reads).
    content_type = content_type or (
        "application/x-www-form-urlencoded" if path == "/console/login" else "application/json"
    )
    headers = {"content-type": content_type, **extra.get("headers", {})}
    return await stack.client.post(path, content=content, headers=headers, params=extra.get("params"))


async def _stored_texts(stack: Stack) -> list[str]:
    async with stack.app.state.sessions() as session:
        return list(await session.scalars(select(Message.text)))


async def _bad_bodies(stack: Stack, case: str, paths: list[str]) -> list[str]:
    """What went wrong posting CASES[case] to each path (status not 4xx, or something stored or run)."""
    wrong: list[str] = []
    for path in paths:
        before = (await stack.count(), len(stack.rasa.received))
        for content_type in ("application/json", "text/xml", FORM):
            response = await _post(stack, path, CASES[case], content_type)
            if not 400 <= response.status_code < 500:
                wrong.append(f"{path} [{content_type}] -> {response.status_code}")
        if (await stack.count(), len(stack.rasa.received)) != before:
            wrong.append(f"{path}: stored or ran something")
    return wrong


@pytest.mark.parametrize("case", sorted(CASES))
async def test_bad_body_is_4xx_and_stores_nothing(stack: Stack, case: str) -> None:
    assert await _bad_bodies(stack, case, post_routes(stack.app)) == []


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_oversized_body_is_413_before_anything_is_stored(stack: Stack, declared: bool) -> None:
    body = b'{"text": "' + "长".encode() * LIMIT + b'"}'
    wrong: list[str] = []
    for path in post_routes(stack.app):
        before = (await stack.count(), len(stack.rasa.received))
        response = await _post(stack, path, body if declared else _chunks(body))
        if response.status_code != 413:
            wrong.append(f"{path} -> {response.status_code}")
        if (await stack.count(), len(stack.rasa.received)) != before:
            wrong.append(f"{path}: stored or ran something")
    assert wrong == [], wrong


async def test_a_body_at_the_limit_is_still_read(stack: Stack) -> None:
    text = "好" * ((LIMIT - 200) // 3)
    response = await stack.client.post("/webchat/messages", json={"text": text})
    assert response.status_code in (200, 400), "at the limit the route judges the content (too long text: 400)"
    assert response.status_code != 413


@pytest.mark.parametrize("case", sorted(CLEANABLE))
async def test_bad_text_is_cleaned_or_refused_never_500(stack: Stack, case: str) -> None:
    wrong: list[str] = []
    for path in post_routes(stack.app):
        response = await _post(stack, path, CLEANABLE[case])
        if response.status_code >= 500 or response.status_code < 200:
            wrong.append(f"{path} -> {response.status_code}")
    assert wrong == [], wrong
    for text in await _stored_texts(stack):
        assert "\x00" not in text and "\x07" not in text, f"stored uncleaned: {text!r}"
    said = await stack.client.post("/webchat/messages", content=CLEANABLE[case], headers={"content-type": "json"})
    if said.status_code == 200:
        assert "你好" in await _stored_texts(stack), "cleaned, not lost"
