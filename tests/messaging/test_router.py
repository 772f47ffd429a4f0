"""Router: store first, bot or human, command escaping, Rasa outages."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients.rasa import RasaClient
from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.errors import DuplicateMessage
from sharedcourt.messaging.replies import Button
from sharedcourt.messaging.router import HOLDING_REPLY, Inbound, Router, choice_number, escape_command, rasa_text


class FakeRasa:
    """A Rasa REST channel stand-in that records what it was sent and can be switched off."""

    def __init__(self) -> None:
        self.up = True
        self.received: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = [{"text": "您好"}]

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        body = json.loads(request.content)
        self.received.append(body)
        return httpx.Response(200, json=[{"recipient_id": body["sender"], **r} for r in self.replies])

    def client(self) -> RasaClient:
        return RasaClient("http://rasa.test", "t", transport=httpx.MockTransport(self.handler))


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def router(sessions: async_sessionmaker[AsyncSession], rasa: FakeRasa) -> Router:
    return Router(sessions, rasa.client())


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> list[Message]:
    async with sessions() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2", 2), ("２", 2), ("第二个", 2), ("第3项", 3), (" 1 ", 1), ("12345", None), ("我选2", None)],
)
def test_choice_number(text: str, expected: int | None) -> None:
    assert choice_number(text) == expected


@pytest.mark.parametrize("text", ["/greet", "/restart", '/inform{"x":1}', "  /request_human"])
def test_leading_slash_is_never_a_command(text: str) -> None:
    escaped = escape_command(text)
    assert not escaped.startswith("/")
    assert escaped.startswith("／")


def test_button_number_maps_to_the_bots_own_payload() -> None:
    offered = (Button("我要调解", "/start_mediation"), Button("人工服务", "/request_human"))
    assert rasa_text("2", offered) == "/request_human"
    assert rasa_text("我要调解", offered) == "/start_mediation"
    assert rasa_text("3", offered) == "3"  # out of range: plain text


async def test_message_stored_before_rasa_and_reply_stored(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    replies = await router.handle(Inbound(channel="webchat", user_id="u1", text="你好"))
    assert [r.text for r in replies] == ["您好"]
    rows = await _messages(sessions)
    assert [(m.direction, m.text, m.status) for m in rows] == [("in", "你好", "processed"), ("out", "您好", "stored")]
    assert rasa.received[0]["sender"] == rows[0].conversation_id


async def test_slash_text_reaches_rasa_escaped(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    await router.handle(Inbound(channel="webchat", user_id="u1", text='/inform{"amount":1}'))
    assert rasa.received[0]["message"] == '／inform{"amount":1}'
    assert (await _messages(sessions))[0].text == '/inform{"amount":1}'  # the transcript keeps what was typed


async def test_numbered_choice_sends_offered_payload(router: Router, rasa: FakeRasa) -> None:
    rasa.replies = [{"text": "请选择", "buttons": [{"title": "邻里纠纷", "payload": "/dispute_neighbor"}]}]
    await router.handle(Inbound(channel="webchat", user_id="u1", text="你好"))
    await router.handle(Inbound(channel="webchat", user_id="u1", text="1"))
    assert rasa.received[-1]["message"] == "/dispute_neighbor"


async def test_duplicate_external_id_is_stored_once(router: Router, sessions: Any) -> None:
    await router.store(Inbound(channel="wechat", user_id="o1", text="hi", external_id="m1"))
    with pytest.raises(DuplicateMessage):
        await router.store(Inbound(channel="wechat", user_id="o1", text="hi", external_id="m1"))
    assert len(await _messages(sessions)) == 1


async def test_rasa_down_holds_and_later_answers_in_order(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    rasa.up = False
    first = await router.handle(Inbound(channel="webchat", user_id="u1", text="第一句"))
    second = await router.handle(Inbound(channel="webchat", user_id="u1", text="第二句"))
    assert [r.text for r in first] == [HOLDING_REPLY]
    assert [r.text for r in second] == [HOLDING_REPLY]
    assert await router.drain() == 0  # still down: nothing answered, nothing lost
    statuses = [m.status for m in await _messages(sessions) if m.direction == "in"]
    assert statuses == ["pending", "pending"]
    rasa.up = True
    assert await router.drain() == 2
    assert [b["message"] for b in rasa.received] == ["第一句", "第二句"]
    statuses = [m.status for m in await _messages(sessions) if m.direction == "in"]
    assert statuses == ["processed", "processed"]


async def test_new_message_after_outage_drains_older_first(router: Router, rasa: FakeRasa) -> None:
    rasa.up = False
    await router.handle(Inbound(channel="webchat", user_id="u1", text="旧消息"))
    rasa.up = True
    await router.handle(Inbound(channel="webchat", user_id="u1", text="新消息"))
    assert [b["message"] for b in rasa.received] == ["旧消息", "新消息"]


async def test_human_mode_relays_and_skips_rasa(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    relayed: list[int] = []

    async def relay(message_id: int) -> None:
        relayed.append(message_id)

    router.relay = relay
    stored = await router.store(Inbound(channel="webchat", user_id="u1", text="你好"))
    async with sessions() as session, session.begin():
        conv = await session.get_one(Conversation, stored.conversation_id)
        conv.mode = "human"
    replies = await router.process(stored.message_id)
    assert replies == []
    assert relayed == [stored.message_id]
    assert rasa.received == []


async def test_messages_a_crash_left_half_way_are_answered_later(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    # A crash between storing and answering: two messages stuck, an hour old; a third just arrived.
    old = [
        (await router.store(Inbound(channel="webchat", user_id=u, text=t))).message_id
        for u, t in (("u1", "还在吗"), ("u2", "我的预约"))
    ]
    fresh = (await router.store(Inbound(channel="webchat", user_id="u3", text="你好"))).message_id
    async with sessions() as session, session.begin():
        hour_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
        await session.execute(update(Message).where(Message.id.in_(old)).values(created_at=hour_ago))
        await session.execute(update(Message).where(Message.id == old[1]).values(status="processing"))
    assert await router.recover(dt.timedelta(minutes=5)) == 2
    assert await router.drain() == 2
    assert [b["message"] for b in rasa.received] == ["还在吗", "我的预约"]
    statuses = {m.id: m.status for m in await _messages(sessions) if m.direction == "in"}
    # the young one may be in another replica's hands: untouched
    assert statuses == {old[0]: "processed", old[1]: "processed", fresh: "received"}
