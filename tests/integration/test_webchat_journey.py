"""Web chat against the real Rasa server, action server and app."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from sqlalchemy import select

from sharedcourt.channels.webchat import COOKIE, resident_id
from sharedcourt.cli.procs import start_rasa
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import make_engine, make_sessionmaker
from sharedcourt.messaging.router import HOLDING_REPLY

from .conftest import System, new_sender

pytestmark = pytest.mark.integration
CJK = re.compile(r"[\u4e00-\u9fff]")


def _stored(database_url: str, sender: str) -> list[Message]:
    async def load() -> list[Message]:
        engine = make_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                rows = await session.scalars(
                    select(Message)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .join(Resident, Resident.id == Conversation.resident_id)
                    .where(Resident.channel_user_id == sender)
                    .order_by(Message.id)
                )
                return list(rows)
        finally:
            await engine.dispose()

    return asyncio.run(load())


def test_chinese_conversation_is_answered_and_stored_in_order(system: System) -> None:
    sender = new_sender()
    greeting = system.say(sender, "你好")
    assert greeting["replies"], "no reply to 你好"
    assert "共享法庭" in greeting["replies"][0]["text"]
    assert greeting["replies"][0]["buttons"], "the greeting offers numbered choices"
    human = system.say(sender, "我要找调解员")
    assert all(CJK.search(r["text"]) for r in human["replies"])
    # In working hours a person is contacted, outside them a callback is registered: both say 联系.
    assert any("联系" in r["text"] for r in human["replies"]), human
    rows = _stored(system.settings.database_url, sender)
    assert [(m.direction, m.text) for m in rows if m.direction == "in"] == [("in", "你好"), ("in", "我要找调解员")]
    assert [m.direction for m in rows] == ["in", "out", "in", *["out"] * len(human["replies"])]
    assert all(m.status == "processed" for m in rows if m.direction == "in")


def test_numbered_choice_follows_the_offered_button(system: System) -> None:
    sender = new_sender()
    greeting = system.say(sender, "你好")
    titles = [b["title"] for b in greeting["replies"][0]["buttons"]]
    human_choice = titles.index("人工服务") + 1
    reply = system.say(sender, str(human_choice))
    assert any("联系" in r["text"] for r in reply["replies"]), reply


@pytest.mark.parametrize("command", ["/greet", "/restart", '/inform{"x":1}'])
def test_leading_slash_is_not_a_command(system: System, command: str) -> None:
    sender = new_sender()
    system.say(sender, "你好")
    conversation = _stored(system.settings.database_url, sender)[0].conversation_id
    events_before = len(system.tracker(conversation)["events"])
    system.say(sender, command)
    tracker = system.tracker(conversation)
    latest = tracker["latest_message"]
    assert latest["text"].startswith("／"), latest["text"]
    # An injected command is parsed with confidence exactly 1.0; real NLU never is.
    assert latest["intent"].get("confidence", 0) < 1.0
    assert not any(e.get("event") == "restart" for e in tracker["events"])
    assert len(tracker["events"]) > events_before  # history kept, not wiped by a restart
    assert not any(e.get("event") == "slot" and e.get("name") == "x" for e in tracker["events"])


def test_rasa_outage_holds_then_answers_without_loss(system: System) -> None:
    sender = new_sender()
    system.say(sender, "你好")
    system.stack.stop("rasa")
    try:
        held = system.say(sender, "我要找调解员")
        assert [r["text"] for r in held["replies"]] == [HOLDING_REPLY]
        rows = _stored(system.settings.database_url, sender)
        assert [m.status for m in rows if m.direction == "in"] == ["processed", "pending"]
    finally:
        start_rasa(system.stack, system.model)
        system.stack.wait_healthy("rasa", f"{system.settings.rasa_url}/", 600)  # minutes to load under CPU load
    cursor = held["cursor"]
    deadline = time.monotonic() + 60
    answered: list[str] = []
    while time.monotonic() < deadline and not answered:
        answered = [m["text"] for m in system.poll(sender, cursor)["messages"] if m["author"] == "bot"]
        time.sleep(0.5)
    assert answered and any("联系" in t for t in answered), answered
    rows = _stored(system.settings.database_url, sender)
    assert [m.status for m in rows if m.direction == "in"] == ["processed", "processed"]


def test_the_server_issues_the_cookie_and_a_reopened_page_shows_the_conversation(system: System) -> None:
    with httpx.Client(timeout=60) as browser:
        first = browser.get(f"{system.url}/webchat/messages", params={"after": 0})
        assert first.json()["messages"] == []
        flags = [p.strip().lower() for p in first.headers["set-cookie"].split(";")]
        assert flags[0].startswith(f"{COOKIE.lower()}=") and "httponly" in flags and "samesite=strict" in flags
        assert "secure" not in flags  # PUBLIC_URL is http://127.0.0.1 here
        token = browser.cookies[COOKIE]
        greeting = browser.post(f"{system.url}/webchat/messages", json={"text": "你好"}).json()
    assert "共享法庭" in greeting["replies"][0]["text"]
    rows = _stored(system.settings.database_url, resident_id(token))
    assert [m.text for m in rows if m.direction == "in"] == ["你好"]
    # The page reopened in the same browser: the same cookie, the whole conversation from after=0.
    with httpx.Client(timeout=60) as reopened:
        reopened.cookies.set(COOKIE, token, domain="127.0.0.1", path="/")
        history = reopened.get(f"{system.url}/webchat/messages", params={"after": 0}).json()["messages"]
    assert [(m["author"], m["text"]) for m in history][:2] == [
        ("resident", "你好"),
        ("bot", greeting["replies"][0]["text"]),
    ]
    assert [m["id"] for m in history] == [m.id for m in rows]


def test_another_browser_can_neither_read_nor_write_the_conversation(system: System) -> None:
    victim = new_sender()
    system.say(victim, "我的电话是13812345678，对方欠我两万元")
    before = system.poll(victim, 0)["messages"]
    with httpx.Client(timeout=60) as stranger:
        url = f"{system.url}/webchat/messages"
        tries: list[dict[str, str]] = [{"after": "0"}, {"sender": victim, "after": "0"}, {"user_id": victim}]
        for params in tries:
            assert stranger.get(url, params=params).json()["messages"] == [], params
        written = stranger.post(url, json={"sender": victim, "text": "取消预约"})
        assert written.status_code == 200
        theirs = resident_id(stranger.cookies[COOKIE])
    assert system.poll(victim, 0)["messages"] == before
    assert [m.text for m in _stored(system.settings.database_url, victim) if m.direction == "in"] == [
        "我的电话是13812345678，对方欠我两万元"
    ]
    assert [m.text for m in _stored(system.settings.database_url, theirs) if m.direction == "in"] == ["取消预约"]
