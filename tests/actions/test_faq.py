"""The 普法 actions are thin: the latest message in, the replies said and the carried-over type as events; a
question it cannot answer is counted for the console, and the stream schedule offers reminder buttons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.faq import ActionAnswerLaw, ActionPufaStreams, ActionStopPufaReminders
from actions.wiring import wiring
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.faq import FaqUnanswered, PufaStreamReminder
from sharedcourt.db.session import unit_of_work
from sharedcourt.settings import Settings


def _tracker(text: str, intent: str, ranking: list[dict[str, Any]] | None = None, sender: str = "s1") -> Tracker:
    latest: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    latest["intent_ranking"] = ranking or [{"name": intent, "confidence": 0.9}]
    events = [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker(sender, {}, latest, events, False, None, None, "action_listen")


@pytest.fixture
def clock() -> Iterator[None]:
    wiring.clock = lambda: dt.datetime(2026, 12, 11, 4, 0, tzinfo=dt.timezone.utc)
    yield
    wiring.reset()


@pytest.fixture
def db(sessions: Any) -> Iterator[Any]:
    wiring.sessions = sessions
    wiring.conf = Settings.from_env({"FAQ_REFRESH_SECONDS": "0"})
    yield sessions
    wiring.reset()


async def test_a_question_is_answered_with_sources_and_the_type_is_kept(db: Any) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerLaw().run(dispatcher, _tracker("离婚后孩子抚养费一般怎么算", "ask_law"), {})
    assert 1 <= len(dispatcher.messages) <= 2
    last = dispatcher.messages[-1]
    assert "来源：《中华人民共和国民法典》第一千零八十五条" in last["text"]
    assert any(b["payload"] == "/start_mediation" for b in last["buttons"])
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"faq_dispute": "family", "faq_entry": "seed-family-child-support"}


async def test_a_question_it_cannot_answer_is_declined_and_nothing_is_kept(db: Any) -> None:
    dispatcher = CollectingDispatcher()
    ranking = [{"name": "ask_law", "confidence": 0.6}, {"name": "dispute_consumer", "confidence": 0.3}]
    events = await ActionAnswerLaw().run(dispatcher, _tracker("怎么把红烧肉做得好吃", "ask_law", ranking), {})
    (message,) = dispatcher.messages
    assert "没有把握" in message["text"] and "来源" not in message["text"]
    assert {b["title"] for b in message["buttons"]} == {"问共享律师", "转人工", "申请调解"}
    assert {e["name"]: e["value"] for e in events if e["event"] == "slot"} == {"faq_dispute": None, "faq_entry": None}
    async with db() as session:
        (row,) = list(await session.scalars(select(FaqUnanswered)))
    assert row.text == "怎么把红烧肉做得好吃" and row.dispute_code == "consumer" and row.count == 1


async def test_the_stream_schedule_uses_the_action_servers_clock(clock: None) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionPufaStreams().run(dispatcher, _tracker("江山最近有什么普法直播", "pufa_streams"), {})
    (message,) = dispatcher.messages
    assert events == [] and "江山市" in message["text"] and "12月10日" not in message["text"]
    assert message["buttons"] and all(b["payload"].startswith("/pufa_remind{") for b in message["buttons"])


async def test_the_intent_to_stop_cancels_the_residents_pending_stream_reminders(db: Any) -> None:
    start = dt.datetime(2026, 12, 20, 11, 30, tzinfo=dt.timezone.utc)
    async with unit_of_work(db) as session:
        resident = Resident(channel="webchat", channel_user_id="u-stop")
        session.add(resident)
        await session.flush()
        conversation = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conversation)
        await session.flush()
        conversation_id = conversation.id
        session.add(
            PufaStreamReminder(
                resident_id=resident.id,
                conversation_id=conversation_id,
                stream_key="k1",
                county="江山市",
                title="农村土地承包那些事",
                starts_at=start,
                due_at=start - dt.timedelta(minutes=30),
            )
        )
    dispatcher = CollectingDispatcher()
    tracker = _tracker("直播不用提醒了", "stop_pufa_reminders", sender=conversation_id)
    assert await ActionStopPufaReminders().run(dispatcher, tracker, {}) == []
    (message,) = dispatcher.messages
    assert "《农村土地承包那些事》的开播提醒已取消" in message["text"]
    async with db() as session:
        (row,) = list(await session.scalars(select(PufaStreamReminder)))
    assert row.status == "cancelled"
