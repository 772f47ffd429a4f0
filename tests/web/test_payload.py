"""Bad text in JSON bodies: invalid JSON and unpaired surrogates refused with 400, control characters removed;
never a 500, nothing half-stored (checked through the web chat POST on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.conversation import Message
from sharedcourt.errors import BadRequest
from sharedcourt.settings import Settings
from sharedcourt.web.payload import NOT_JSON, SURROGATE, clean_text, parse_object

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[1, 2]", b'"text"', b'{"a": NaN}', b'{"a": Infinity}', b'{"a": "\xff\xfe"}', b'{"a": "x\x00"}'],
)
def test_what_is_not_one_utf8_json_object_is_refused(body: bytes) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_object(body)
    assert str(refused.value) == NOT_JSON


@pytest.mark.parametrize(
    "body", [rb'{"text": "a\ud800b"}', rb'{"text": "\udc00"}', rb'{"\ud83d": 1}', rb'{"list": ["ok", ["\ude00x"]]}']
)
def test_an_unpaired_surrogate_anywhere_is_refused(body: bytes) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_object(body)
    assert str(refused.value) == SURROGATE


def test_a_surrogate_pair_is_one_character_and_kept() -> None:
    assert parse_object(rb'{"text": "\ud83d\ude00 ok"}') == {"text": "\U0001f600 ok"}


def test_control_characters_are_removed_and_line_breaks_kept() -> None:
    body = json.dumps({"te\u0000xt": ["a\u0000b\u0007c\u001bd\u007fe\u0085f", {"k": "1\r\n2\r3\n4\t5"}], "n": 3})
    assert parse_object(body.encode()) == {"text": ["abcdef", {"k": "1\n2\n3\n4\t5"}], "n": 3}


def test_clean_text_counts_what_it_removed() -> None:
    assert clean_text("a\x00b\x01\u200bc") == ("ab\u200bc", 2)


def test_nesting_deeper_than_the_parser_allows_is_refused() -> None:
    with pytest.raises(BadRequest):
        parse_object(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


# --- through the web chat POST, on each database ------------------------------------------------------------


class Rasa:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/webhooks/rest/webhook":
            self.texts.append(json.loads(request.content)["message"])
        return httpx.Response(200, json=[{"text": "收到"}])


@pytest.fixture
def rasa() -> Rasa:
    return Rasa()


@pytest.fixture
def chat(database_url: str, sessions: Any, rasa: Rasa) -> Iterator[TestClient]:
    """The app on a clean database; TestClient keeps cookies between requests like a browser."""
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": "staff-token-for-payload"})
    with TestClient(create_app(settings, rasa_transport=httpx.MockTransport(rasa), background=False)) as c:
        yield c


async def _last_id(sessions: Any) -> int:
    """The newest message id (tests look only after it: other modules' tests may leave rows)."""
    async with sessions() as session:
        last: int = await session.scalar(select(func.max(Message.id))) or 0
        return last


async def _inbound_texts(sessions: Any, after: int) -> list[str]:
    async with sessions() as session:
        query = select(Message.text).where(Message.direction == "in", Message.id > after).order_by(Message.id)
        return list(await session.scalars(query))


def _post(chat: TestClient, raw: bytes) -> httpx.Response:
    return chat.post("/webchat/messages", content=raw, headers=JSON)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (rb'{"sender": "bad-text-1", "text": "\u4f60\u597d\ud800"}', SURROGATE),
        (rb'{"sender": "bad-text-1", "text": "\udfff"}', SURROGATE),
        (b'{"sender": "bad-text-1", "text": "\xe4\xbd"}', NOT_JSON),
        (b'{"sender": "bad-text-1", "text": "a\x00b"}', NOT_JSON),
        (b"{not json", NOT_JSON),
    ],
    ids=["surrogate-after-text", "lone-low-surrogate", "broken-utf8", "raw-nul", "not-json"],
)
async def test_bad_text_in_web_chat_is_refused_with_400_and_nothing_stored(
    chat: TestClient, sessions: Any, rasa: Rasa, raw: bytes, error: str
) -> None:
    before = await _last_id(sessions)
    response = _post(chat, raw)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert await _inbound_texts(sessions, before) == []
    assert rasa.texts == []


async def test_control_characters_in_web_chat_are_removed_and_the_message_kept(
    chat: TestClient, sessions: Any, rasa: Rasa
) -> None:
    raw = rb'{"sender": "bad-text-2", "text": "\u6211\u0000\u8981\u0007\u8c03\u89e3\r\n\u8c22\u8c22\u001b"}'
    before = await _last_id(sessions)
    response = _post(chat, raw)
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["replies"]] == ["收到"]
    assert await _inbound_texts(sessions, before) == ["我要调解\n谢谢"]
    assert rasa.texts == ["我要调解\n谢谢"]
    # The same client goes on: the conversation continues (and a second message is stored after the first).
    assert _post(chat, rb'{"sender": "bad-text-2", "text": "\u597d\u0000"}').status_code == 200
    assert await _inbound_texts(sessions, before) == ["我要调解\n谢谢", "好"]
