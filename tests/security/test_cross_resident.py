"""Cross-resident: one web chat resident can neither read nor write another's conversation, by any parameter.

Each resident is a browser with its own cookie jar (an httpx client on the same app). Resident A talks about her
phone number; resident B then tries every identifier of A's the server holds (her router user id, her resident id,
her conversation id), in every place a client can put one (query, JSON body, a cookie made from them, A's cookie
altered), and must see none of A's words and add nothing to A's conversation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from stand_ins.secure_app import Stack, secure_app

from sharedcourt.db.conversation import Conversation, Message, Resident

SECRET_WORDS = "我叫张三，电话13812345678，邻居欠我三千元"
PHONE = "13812345678"


@pytest.fixture
async def stack(database_url: str, sessions: object) -> AsyncIterator[Stack]:
    async with secure_app(database_url) as running:
        yield running


def browser(stack: Stack) -> httpx.AsyncClient:
    """Another browser on the same app: its own cookie jar."""
    transport = httpx.ASGITransport(app=stack.app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30)


async def _ids_of(stack: Stack, text: str) -> dict[str, str]:
    """Every identifier the server holds for the resident who said `text`."""
    async with stack.app.state.sessions() as session:
        message = (await session.scalars(select(Message).where(Message.text == text))).one()
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        resident = await session.get(Resident, conversation.resident_id)
        assert resident is not None
        return {
            "user": resident.channel_user_id,
            "resident": str(resident.id),
            "conversation": str(conversation.id),
        }


async def _texts_in(stack: Stack, conversation_id: str) -> list[str]:
    async with stack.app.state.sessions() as session:
        rows = await session.scalars(select(Message.text).where(Message.conversation_id == conversation_id))
        return list(rows)


def _leaks(response: httpx.Response) -> bool:
    return PHONE in response.text or "张三" in response.text


async def _resident_a(stack: Stack, a: httpx.AsyncClient) -> dict[str, str]:
    said = await a.post("/webchat/messages", json={"text": SECRET_WORDS})
    assert said.status_code == 200, said.text
    again = await a.get("/webchat/messages", params={"after": 0})
    assert again.status_code == 200 and PHONE in again.text, "the same browser sees its earlier conversation"
    return await _ids_of(stack, SECRET_WORDS)


def _guesses(ids: dict[str, str]) -> list[dict[str, str]]:
    names = ("sender", "user_id", "resident_id", "conversation_id", "conversation", "id")
    return [{name: value} for name in names for value in ids.values()]


async def test_resident_b_cannot_read_a_by_any_parameter(stack: Stack) -> None:
    async with browser(stack) as a, browser(stack) as b:
        ids = await _resident_a(stack, a)
        cookie_name, token = next(iter(a.cookies.items()))
        for guess in _guesses(ids):
            response = await b.get("/webchat/messages", params={"after": 0, **guess})
            assert response.status_code < 500
            assert not _leaks(response), f"B read A's conversation with {guess}"
        altered = token[:-1] + ("A" if token[-1] != "A" else "B")
        for forged in [*ids.values(), altered, token.upper(), ""]:
            b.cookies.clear()
            response = await b.get(
                "/webchat/messages", params={"after": 0}, headers={"cookie": f"{cookie_name}={forged}"}
            )
            assert response.status_code < 500
            assert not _leaks(response), f"B read A's conversation with the cookie {forged!r}"


async def test_resident_b_cannot_write_into_a(stack: Stack) -> None:
    async with browser(stack) as a, browser(stack) as b:
        ids = await _resident_a(stack, a)
        before = await _texts_in(stack, ids["conversation"])
        for guess in _guesses(ids):
            response = await b.post("/webchat/messages", json={"text": "取消我的预约", **guess}, params=guess)
            assert response.status_code < 500
            assert not _leaks(response), f"B's answer shows A's conversation ({guess})"
    assert await _texts_in(stack, ids["conversation"]) == before, "B's words landed in A's conversation"
    assert all(
        body.get("message") != "取消我的预约" for body in stack.rasa.received if body.get("sender") == ids["user"]
    )


async def test_no_resident_identifier_travels_in_a_url(stack: Stack) -> None:
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(str(request.url))

    async with browser(stack) as a:
        a.event_hooks["request"].append(record)
        ids = await _resident_a(stack, a)
        await a.post("/webchat/messages", json={"text": "你好"})
        cookie_values = list(a.cookies.values())
    for url in seen:
        assert not any(value in url for value in [*ids.values(), *cookie_values]), url
    page = await stack.client.get("/")
    assert page.status_code == 200 and "sender=" not in page.text, "the page puts no resident id in a URL"
