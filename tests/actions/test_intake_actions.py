"""Intake actions with rasa_sdk's Tracker and CollectingDispatcher; cases stored on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions import intake as actions
from actions.wiring import wiring
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.intake.facts import UNKNOWN, needed_facts

NUMBER = re.compile(r"^QZ\d{4}-\d{6}$")


def tracker(
    text: str,
    intent: str,
    confidence: float = 0.9,
    slots: dict[str, Any] | None = None,
    sender: str | None = None,
    ranking: list[dict[str, Any]] | None = None,
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
        "entities": [],
    }
    return Tracker(
        sender or uuid.uuid4().hex,
        dict(slots or {}),
        message,
        [],
        False,
        None,
        {"name": "intake_form"},
        "action_listen",
    )


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture
def db(sessions: async_sessionmaker[AsyncSession]) -> Iterator[async_sessionmaker[AsyncSession]]:
    wiring.sessions = sessions
    yield sessions
    wiring.reset()


async def load_cases(sessions: async_sessionmaker[AsyncSession], conversation_id: str) -> list[Case]:
    async with sessions() as session:
        return list(await session.scalars(select(Case).where(Case.conversation_id == conversation_id)))


async def test_validation_classifies_and_requests_the_type_confirmation() -> None:
    dispatcher = CollectingDispatcher()
    rank = [{"name": "dispute_labor", "confidence": 0.93}, {"name": "dispute_debt", "confidence": 0.04}]
    t = tracker("老板拖欠我三个月工资两万三一直不给", "dispute_labor", 0.93, ranking=rank)
    events = await actions.ValidateIntakeForm().run(dispatcher, t, {})
    slots = slot_events(events)
    assert slots["dispute_code"] == "labor" and slots["amount_yuan"] == 23000 and slots["months_unpaid"] == 3
    assert slots["requested_slot"] == "type_confirmed"
    assert dispatcher.messages == []  # the question comes from action_ask_type_confirmed


async def test_ask_actions_word_the_questions_and_offer_buttons() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("", "affirm", slots={"dispute_code": "labor", "complaint": "老板拖欠我工资"})
    await actions.ASK_ACTIONS["type_confirmed"]().run(dispatcher, t, {})
    assert dispatcher.messages[0]["text"] == "您遇到的是拖欠工资的劳动争议，对吗？"
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/deny"]
    dispatcher = CollectingDispatcher()
    await actions.ASK_ACTIONS["employer"]().run(dispatcher, t, {})
    assert "哪家单位" in dispatcher.messages[0]["text"]


async def test_a_request_for_a_person_rejects_the_form() -> None:
    slots = {"dispute_code": "debt", "type_confirmed": True, "requested_slot": "party"}
    events = await actions.ValidateIntakeForm().run(
        CollectingDispatcher(), tracker("转人工", "request_human", 0.95, slots), {}
    )
    assert events == []


async def test_a_bad_phone_is_asked_again() -> None:
    slots = {"dispute_code": "debt", "type_confirmed": True, "requested_slot": "phone"}
    slots.update({k: "有" for k in needed_facts("debt") if k != "phone"})
    dispatcher = CollectingDispatcher()
    events = await actions.ValidateIntakeForm().run(dispatcher, tracker("138123", "inform", 0.8, slots), {})
    assert "phone" not in slot_events(events) and slot_events(events)["requested_slot"] == "phone"
    assert "11位手机号" in dispatcher.messages[0]["text"]


async def test_danger_in_the_form_stores_an_urgent_case_at_once(db: async_sessionmaker[AsyncSession]) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("我老公天天喝酒打人我想离婚孩子才三岁怎么办", "dispute_family", 0.9)
    events = await actions.ValidateIntakeForm().run(dispatcher, t, {})
    assert dispatcher.messages[0]["text"].startswith("【紧急提醒】")
    slots = slot_events(events)
    assert slots["urgent"] is True and NUMBER.match(slots["case_number"])
    [case] = await load_cases(db, t.sender_id)
    assert case.urgent and case.status == "open" and case.number == slots["case_number"]
    assert case.dispute_code == "family"


async def test_emergency_then_the_confirmed_case_is_one_case(db: async_sessionmaker[AsyncSession]) -> None:
    sender = uuid.uuid4().hex
    dispatcher = CollectingDispatcher()
    events = await actions.ActionEmergency().run(
        dispatcher, tracker("他拿刀要砍我", "emergency", 0.97, sender=sender), {}
    )
    assert "110" in dispatcher.messages[0]["text"] and "120" in dispatcher.messages[0]["text"]
    number = slot_events(events)["case_number"]
    slots = {
        "dispute_code": "family",
        "type_confirmed": True,
        "party": "丈夫",
        "what_happened": "丈夫喝酒后打人",
        "incident_date": "2026-11-28",
        "place_code": "330802009",
        "place_name": "柯城区白云街道",
        "children": "一个三岁的孩子",
        "desired_outcome": "离婚",
        "steps_taken": "报过警",
        "evidence": UNKNOWN,
        "phone": "13812345678",
        "summary_confirmed": True,
        "urgent": True,
        "case_number": number,
    }
    dispatcher = CollectingDispatcher()
    events = await actions.ActionIntakeDone().run(dispatcher, tracker("/affirm", "affirm", 1.0, slots, sender), {})
    assert number in dispatcher.messages[0]["text"]
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/find_site", "/request_human"]
    [case] = await load_cases(db, sender)
    assert case.number == number and case.status == "confirmed" and case.urgent
    assert case.facts["place_code"] == "330802009" and case.facts["phone"] == "13812345678"
    assert case.facts["unknown"] == ["evidence"] and case.facts["transcript"] == sender
    assert "纠纷类型：婚姻家庭继承纠纷" in case.summary


async def test_the_case_belongs_to_the_front_door_conversation(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session, session.begin():
        resident = Resident(channel="webchat", channel_user_id=uuid.uuid4().hex)
        session.add(resident)
        await session.flush()
        conversation = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conversation)
        await session.flush()
        conversation_id, resident_id = conversation.id, resident.id
    slots = {"dispute_code": "administrative", "type_confirmed": True, "complaint": "拆违不服"}
    dispatcher = CollectingDispatcher()
    await actions.ActionIntakeDone().run(dispatcher, tracker("", "affirm", 1.0, slots, conversation_id), {})
    assert "行政复议" in dispatcher.messages[0]["text"]
    [case] = await load_cases(db, conversation_id)
    assert case.resident_id == resident_id and case.status == "redirected" and case.dispute_code == "administrative"


async def test_saving_before_a_handoff(db: async_sessionmaker[AsyncSession]) -> None:
    sender = uuid.uuid4().hex
    assert (
        await actions.ActionIntakeSave().run(
            CollectingDispatcher(), tracker("", "request_human", slots={}, sender=sender), {}
        )
        == []
    )
    slots = {"type_candidates": ["neighbor", "family"], "complaint": "隔壁天天吵"}
    events = await actions.ActionIntakeSave().run(
        CollectingDispatcher(), tracker("", "none_of_these", 0.9, slots, sender), {}
    )
    [case] = await load_cases(db, sender)
    assert case.status == "open" and case.number == slot_events(events)["case_number"]
    assert case.facts["complaint"] == "隔壁天天吵"


async def test_low_confidence_offers_numbered_choices() -> None:
    rank = [
        {"name": "nlu_fallback", "confidence": 0.3},
        {"name": "dispute_neighbor", "confidence": 0.28},
        {"name": "dispute_property_mgmt", "confidence": 0.25},
        {"name": "greet", "confidence": 0.02},
    ]
    dispatcher = CollectingDispatcher()
    t = tracker("楼上的水一直往下滴 找谁都不管", "nlu_fallback", 0.3, ranking=rank)
    events = await actions.ActionIntakeFallback().run(dispatcher, t, {})
    assert slot_events(events)["type_candidates"] == ["neighbor", "property_mgmt"]
    message = dispatcher.messages[0]
    assert "1. 邻里纠纷" in message["text"] and "3. 都不是" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == [
        "/dispute_neighbor",
        "/dispute_property_mgmt",
        "/none_of_these",
    ]


async def test_low_confidence_without_a_dispute_gives_the_menu() -> None:
    rank = [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "greet", "confidence": 0.25}]
    dispatcher = CollectingDispatcher()
    await actions.ActionIntakeFallback().run(dispatcher, tracker("嗯嗯啊", "nlu_fallback", 0.3, ranking=rank), {})
    assert dispatcher.messages[0]["response"] == "utter_default"


async def test_a_new_session_keeps_the_slots_and_the_form_going() -> None:
    slots = {"dispute_code": "debt", "type_confirmed": True, "requested_slot": "incident_date", "amount_yuan": 5000}
    events = await actions.ActionSessionStart().run(CollectingDispatcher(), tracker("", "greet", slots=slots), {})
    kinds = [e["event"] for e in events]
    assert kinds[0] == "session_started" and kinds[-1] == "action"
    assert {"event": "active_loop", "name": "intake_form", "timestamp": None} in events
    assert slot_events(events)["amount_yuan"] == 5000
    done = {"dispute_code": "debt", "summary_confirmed": True, "case_number": "QZ2026-000001", "requested_slot": None}
    events = await actions.ActionSessionStart().run(CollectingDispatcher(), tracker("", "greet", slots=done), {})
    assert not any(e["event"] == "active_loop" for e in events)


def test_every_domain_action_is_served(repo_root: Path) -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((repo_root / "bot/domain/intake.yml").read_text(encoding="utf-8"))
    missing = [a for a in domain["actions"] if a not in executor.actions]
    assert missing == []
