"""What `make parse` reports: the type and facts the way the conversation understands them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

TODAY = dt.date(2026, 11, 29)  # a Sunday


def ranking(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "confidence": conf} for name, conf in pairs]


def test_understanding_reports_the_type_and_facts_the_way_the_conversation_does() -> None:
    from sharedcourt.cli.understanding import understanding_of

    parsed = {
        "text": "去年十月在江山贺村镇借给他3.5万 电话13812345678",
        "intent": {"name": "dispute_debt", "confidence": 0.91},
        "intent_ranking": ranking(("dispute_debt", 0.91), ("dispute_finance", 0.05), ("inform", 0.02)),
        "entities": [],
    }
    result = understanding_of(parsed, TODAY)
    assert result["code"] == "debt" and result["confidence"] == 0.91 and result["intent"] == "dispute_debt"
    assert result["decision"] == "confirm" and result["urgent"] is False
    assert result["types"] == [["debt", 0.91], ["finance", 0.05]] and result["ask"] is False
    assert result["facts"] == {
        "amount_yuan": 35000,
        "incident_date": "2025-10-01",
        "phone": "13812345678",
        "place_code": "330881121",
        "place_name": "江山市贺村镇",
    }


def test_understanding_takes_the_best_dispute_even_when_another_intent_is_on_top() -> None:
    from sharedcourt.cli.understanding import describe, understanding_of

    parsed = {
        "text": "楼上漏水",
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": ranking(("inform", 0.29), ("dispute_neighbor", 0.27), ("dispute_property_mgmt", 0.22)),
    }
    result = understanding_of(parsed, TODAY)
    assert result["code"] == "neighbor" and result["decision"] == "choices"
    assert result["candidates"][:2] == ["neighbor", "property_mgmt"] and result["facts"] == {}
    assert result["types"] == [["neighbor", 0.27], ["property_mgmt", 0.22]] and result["ask"] is True
    assert describe(result) == (
        "top types: neighbor 0.270, property_mgmt 0.220; the intake would ask the resident to choose among "
        "neighbor/property_mgmt"
    )
    greeting = understanding_of({"text": "你好", "intent": {"name": "greet", "confidence": 0.99}}, TODAY)
    assert greeting["code"] is None and greeting["intent"] == "greet" and greeting["facts"] == {}
    assert greeting["types"] == [] and greeting["ask"] is False and describe(greeting) == "top types: no dispute type"


async def test_understand_text_asks_rasa_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from sharedcourt.cli import understanding
    from sharedcourt.clients.rasa import RasaClient
    from sharedcourt.settings import Settings

    seen: list[str] = []

    async def parse(self: RasaClient, text: str) -> dict[str, Any]:
        seen.append(text)
        return {"intent": {"name": "dispute_labor", "confidence": 0.88}, "intent_ranking": [], "entities": []}

    monkeypatch.setattr(RasaClient, "parse", parse)
    result = await understanding.understand_text(Settings.from_env({}), "老板欠我两万三", today=TODAY)
    assert seen == ["老板欠我两万三"]
    assert result["code"] == "labor" and result["facts"] == {"amount_yuan": 23000}


def test_whether_the_intake_would_ask_follows_the_thresholds() -> None:
    from sharedcourt.cli.understanding import describe, understanding_of
    from sharedcourt.intake.classify import Thresholds

    parsed = {
        "text": "老板欠钱",
        "intent": {"name": "dispute_labor", "confidence": 0.7},
        "intent_ranking": ranking(("dispute_labor", 0.7), ("dispute_debt", 0.2), ("dispute_contract", 0.05)),
    }
    sure = understanding_of(parsed, TODAY, Thresholds(0.6, 0.4, 3))
    assert sure["ask"] is False and describe(sure).endswith("the intake would read back labor")
    unsure = understanding_of(parsed, TODAY, Thresholds(0.6, 0.6, 2))
    assert unsure["ask"] is True and unsure["candidates"] == ["labor", "debt"]
    assert unsure["types"] == [["labor", 0.7], ["debt", 0.2], ["contract", 0.05]]
