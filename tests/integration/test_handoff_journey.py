"""The handoff journey against the real system: web chat, Rasa, the action server, the app, and DingTalk's
stand-in (the app is restarted with DINGTALK_* pointing at it, then restored)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from stand_ins.dingtalk_server import DingTalkStandIn, Sent
from stand_ins.rosters import always_on_duty

from sharedcourt.cli.procs import start_app
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import make_engine, make_sessionmaker
from sharedcourt.db.ticket import Rating, Ticket

from .conftest import System, new_sender

pytestmark = pytest.mark.integration


@dataclasses.dataclass
class Desk:
    """The system with its app talking to the DingTalk stand-in."""

    system: System
    dingtalk: DingTalkStandIn

    @property
    def url(self) -> str:
        return self.system.url

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = self.system.say(sender, text)["replies"]
        return replies

    def messages(self, sender: str, after: int = 0) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.system.poll(sender, after)["messages"]
        return found

    def wait_resident(self, sender: str, contains: str, after: int = 0, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages(sender, after):
                if contains in message["text"]:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"{sender} never saw {contains!r}: {[m['text'] for m in self.messages(sender, after)]}")

    def staff(self, staff_id: str, text: str) -> None:
        response = self.dingtalk.say(self.url, staff_id, text)
        assert response.status_code == 200, response.text


def _restart_app(system: System, settings: Any) -> None:
    system.stack.stop("app")
    system.stack.settings = settings
    start_app(system.stack)
    system.stack.wait_healthy("app", f"http://127.0.0.1:{settings.port}/webchat/messages?after=0", 60)


@pytest.fixture(scope="module")
def desk(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    original = system.stack.settings
    roster = always_on_duty(tmp_path_factory.mktemp("roster"))
    with DingTalkStandIn() as dingtalk:
        extra = {**original.extra, **dingtalk.settings(), "HANDOFF_TICK_SECONDS": "1", "HANDOFF_ROSTER": str(roster)}
        _restart_app(system, dataclasses.replace(original, extra=extra))
        try:
            yield Desk(system, dingtalk)
        finally:
            _restart_app(system, original)


def _load(database_url: str, sender: str) -> tuple[str, list[Ticket], list[Rating]]:
    async def load() -> tuple[str, list[Ticket], list[Rating]]:
        engine = make_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                conversation: str = (
                    await session.scalars(
                        select(Conversation.id).join(Resident).where(Resident.channel_user_id == sender)
                    )
                ).one()
                tickets = list(await session.scalars(select(Ticket).where(Ticket.conversation_id == conversation)))
                ratings = list(
                    await session.scalars(select(Rating).where(Rating.ticket_id.in_([t.id for t in tickets])))
                )
                return conversation, tickets, ratings
        finally:
            await engine.dispose()

    return asyncio.run(load())


def test_resident_to_mediator_and_back(desk: Desk) -> None:
    sender = new_sender()
    desk.say(sender, "你好")
    desk.say(sender, "邻居家装修把我家的墙震裂了，找他们赔偿一直不理")
    conversation, _, _ = _load(desk.system.settings.database_url, sender)

    # The resident asks for a person: the bot says truthfully who is being contacted ...
    asked = time.monotonic()
    replies = desk.say(sender, "我要找调解员")
    assert any("已为您联系" in r["text"] and "共享法庭" in r["text"] for r in replies), replies
    slots_before = desk.system.tracker(conversation)["slots"]  # what the bot knows when the person takes over
    # ... and the person on duty gets the summary card in DingTalk, with the resident's own words.
    card: Sent = desk.dingtalk.wait_for(None, "居民请求人工服务")
    print(f"request -> DingTalk card: {time.monotonic() - asked:.3f} s")
    person = card.users[0]
    assert "墙震裂" in card.text and "接单" in card.buttons()
    _, [ticket], _ = _load(desk.system.settings.database_url, sender)
    assert ticket.state == "offered" and desk.dingtalk.base_url  # routed and offered

    # The person presses 接单 on the card; the resident is told, Rasa is paused.
    cursor = desk.messages(sender)[-1]["id"]
    desk.staff(person, card.buttons()["接单"])
    desk.wait_resident(sender, "已接单", after=cursor)
    assert desk.system.tracker(conversation)["paused"] is True

    # The person's reply from DingTalk reaches the resident's web chat.
    accepted = time.monotonic()
    desk.staff(person, "您好，我是共享法庭的调解员，请问墙上的裂缝有多长？有照片吗？")
    seen = desk.wait_resident(sender, "裂缝有多长", after=cursor)
    print(f"acceptance -> resident sees the reply: {time.monotonic() - accepted:.3f} s")
    assert seen["author"] == "staff"

    # The resident's next message reaches the person, not the bot.
    events_before = len(desk.system.tracker(conversation)["events"])
    assert desk.say(sender, "有照片，裂缝大概一米长") == []
    assert "裂缝大概一米长" in desk.dingtalk.wait_for(person, "裂缝大概一米长").text
    assert len(desk.system.tracker(conversation)["events"]) == events_before, "Rasa never saw it"

    # Hand-back: Rasa resumes with its state intact, and the resident is asked for a rating.
    cursor = desk.messages(sender)[-1]["id"]
    desk.staff(person, "交还")
    desk.wait_resident(sender, "交还给智能助手", after=cursor)
    prompt = desk.wait_resident(sender, "打分", after=cursor)
    assert [b["title"][0] for b in prompt["buttons"]] == ["1", "2", "3", "4", "5"]
    tracker = desk.system.tracker(conversation)
    assert tracker["paused"] is False
    kinds = [(e["event"], e.get("name")) for e in tracker["events"][-2:]]
    assert kinds == [("resume", None), ("action", "action_listen")]
    assert {k: v for k, v in tracker["slots"].items() if v is not None} == {
        k: v for k, v in slots_before.items() if v is not None
    }, "the bot's state is intact"

    # The bot answers again: the rating, then an optional comment.
    rated = desk.say(sender, "5")
    assert any("意见或建议" in r["text"] for r in rated), rated
    thanks = desk.say(sender, "调解员很耐心，谢谢")
    assert any("感谢您的评价" in r["text"] for r in thanks), thanks
    _, [ticket], [rating] = _load(desk.system.settings.database_url, sender)
    assert ticket.state == "closed" and ticket.accepted_at and ticket.closed_at
    assert (rating.score, rating.comment) == (5, "调解员很耐心，谢谢")
    status = desk.say(sender, "我的案件")
    assert any(ticket.number and ticket.number in r["text"] for r in status), status


def test_forged_callback_relays_nothing(desk: Desk) -> None:
    sender = new_sender()
    desk.say(sender, "老板拖欠工资三个月了")
    already = len(desk.dingtalk.sent)
    desk.say(sender, "转人工")
    card = desk.dingtalk.wait_for(None, "居民请求人工服务", after=already)
    body = desk.dingtalk.callback_body(card.users[0], card.buttons()["接单"])
    headers = desk.dingtalk.signed_headers(secret="forged-secret")
    response = httpx.post(f"{desk.url}/dingtalk/callback", json=body, headers=headers, timeout=10)
    assert response.status_code == 403
    _, [ticket], _ = _load(desk.system.settings.database_url, sender)
    assert ticket.holder is None and ticket.state == "offered"
