"""Web chat against the real Rasa server, action server and app."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from sqlalchemy import select

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
        system.stack.wait_healthy("rasa", f"{system.settings.rasa_url}/", 240)
    cursor = held["cursor"]
    deadline = time.monotonic() + 60
    answered: list[str] = []
    while time.monotonic() < deadline and not answered:
        answered = [m["text"] for m in system.poll(sender, cursor)["messages"] if m["author"] == "bot"]
        time.sleep(0.5)
    assert answered and any("联系" in t for t in answered), answered
    rows = _stored(system.settings.database_url, sender)
    assert [m.status for m in rows if m.direction == "in"] == ["processed", "processed"]
