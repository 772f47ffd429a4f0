"""A realistic complaint through the real system: web chat → router → Rasa → intake form → stored case."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select

from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import make_engine, make_sessionmaker

from .conftest import System, new_sender

pytestmark = pytest.mark.integration

# What a resident answers, by a word of the question asked.
ANSWERS = (
    ("哪家单位", "衢州市某某电子厂"),
    ("具体说说", "在厂里做了一年多 从八月开始就没发过工资 老板一直拖着"),
    ("什么时候发生", "八月份开始的"),
    ("怎么解决", "把工资结清"),
    ("发生在哪里", "柯城区白云街道"),
    ("拖欠了几个月", "三个月"),
    ("被拖欠", "两万三"),
    ("报警", "找过劳动监察 没用"),
    ("证据", "有考勤记录和微信聊天记录"),
    ("电话", "13812345678"),
)
# Said in the first message, so never asked.
NOT_ASKED = ("发生在哪里", "拖欠了几个月", "被拖欠", "具体说说")


def _texts(reply: dict[str, Any]) -> str:
    return "\n".join(r["text"] for r in reply["replies"])


def _button_number(reply: dict[str, Any], payload: str) -> str | None:
    for message in reply["replies"]:
        for i, button in enumerate(message.get("buttons") or [], 1):
            if button["payload"] == payload:
                return str(i)
    return None


def _cases(database_url: str, sender: str) -> list[Case]:
    async def load() -> list[Case]:
        engine = make_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                rows = await session.scalars(
                    select(Case)
                    .join(Conversation, Conversation.id == Case.conversation_id)
                    .join(Resident, Resident.id == Conversation.resident_id)
                    .where(Resident.channel_user_id == sender)
                )
                return list(rows)
        finally:
            await engine.dispose()

    return asyncio.run(load())


class Transcript:
    """Says through the web chat and keeps the dialogue (printed with `pytest -s`)."""

    def __init__(self, system: System, sender: str) -> None:
        self.system, self.sender = system, sender
        self.lines: list[str] = []

    def say(self, text: str) -> dict[str, Any]:
        reply = self.system.say(self.sender, text)
        self.lines.append(f"居民：{text}")
        for message in reply["replies"]:
            buttons = " ".join(f"[{b['title']}]" for b in message.get("buttons") or [])
            self.lines.append(f"助手：{message['text']} {buttons}".rstrip())
        return reply


def answer_until_summary(
    chat: Transcript, reply: dict[str, Any], answers: Sequence[tuple[str, str]], limit: int
) -> tuple[dict[str, Any], list[str]]:
    """Answer each question by the first matching word in `answers` until the summary (or `limit` turns)."""
    asked: list[str] = []
    for _ in range(limit):
        text = _texts(reply)
        if "以上信息对吗" in text:
            break
        answer = next((a for word, a in answers if word in text), None)
        assert answer is not None, f"unexpected question: {text}"
        asked.append(text)
        reply = chat.say(answer)
    return reply, asked


def test_a_wage_complaint_from_first_message_to_a_stored_case(system: System) -> None:
    sender = new_sender()
    chat = Transcript(system, sender)
    try:
        _journey(system, sender, chat)
    finally:
        print("\n".join(chat.lines))


def _journey(system: System, sender: str, chat: Transcript) -> None:
    reply = chat.say("老板拖欠我三个月工资两万三一直不给 我在柯城区白云街道上班")
    text = _texts(reply)
    if "对吗" not in text:  # the model was unsure: it offers numbered choices; pick labour
        number = _button_number(reply, "/dispute_labor")
        assert number, text
        reply = chat.say(number)
    else:
        assert "劳动争议" in text, text
        reply = chat.say("对")
    reply, asked = answer_until_summary(chat, reply, ANSWERS, 15)
    summary = _texts(reply)
    assert "以上信息对吗" in summary, asked
    # said in the first message: never asked
    assert not any(word in q for q in asked for word in NOT_ASKED), asked
    assert "柯城区白云街道" in summary and "23000元" in summary and "13812345678" in summary

    reply = chat.say("金额不对，是两万八")
    assert "28000元" in _texts(reply)
    confirm = _button_number(reply, "/affirm")
    assert confirm is not None
    reply = chat.say(confirm)
    match = re.search(r"QZ\d{4}-\d{6}", _texts(reply))
    assert match, _texts(reply)

    [case] = _cases(system.settings.database_url, sender)
    assert case.number == match.group(0)
    assert case.status == "confirmed" and case.dispute_code == "labor" and not case.urgent
    assert case.facts["amount_yuan"] == 28000
    assert case.facts["place_code"] == "330802009"
    assert case.facts["phone"] == "13812345678"
    assert case.facts["transcript"] == case.conversation_id


def test_danger_first_then_an_urgent_case(system: System) -> None:
    sender = new_sender()
    reply = system.say(sender, "他拿刀要砍我 救命")
    text = _texts(reply)
    assert "110" in text and "120" in text, text
    [case] = _cases(system.settings.database_url, sender)
    assert case.urgent and case.status == "open"
