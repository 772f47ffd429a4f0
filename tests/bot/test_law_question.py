"""The Rasa component that turns short questions about the law into `ask_law`, run in the Rasa interpreter."""

from __future__ import annotations

import pytest
from rasa_python import in_rasa

SCRIPT = r"""
import json, sys
from rasa.shared.nlu.training_data.message import Message
from bot.components.law_question import LawQuestionRouter

ranking = [{"name": "dispute_labor", "confidence": 0.8}, {"name": "dispute_personal_injury", "confidence": 0.15},
           {"name": sys.argv[2], "confidence": 0.05}]
message = Message(data={"text": sys.argv[1], "intent": ranking[0], "intent_ranking": ranking})
LawQuestionRouter().process([message])
print(json.dumps({"intent": message.get("intent"), "ranking": message.get("intent_ranking")}, ensure_ascii=False))
"""


def route(text: str, third: str = "ask_law") -> dict:
    return in_rasa(SCRIPT, text, third)


def test_a_question_about_the_law_leads_with_ask_law_and_keeps_the_dispute_order() -> None:
    result = route("工伤赔偿标准是多少")
    assert result["intent"] == {"name": "ask_law", "confidence": 0.9}
    names = [r["name"] for r in result["ranking"]]
    assert names == ["ask_law", "dispute_labor", "dispute_personal_injury"]
    assert result["ranking"][1]["confidence"] == pytest.approx(0.08)


def test_a_description_of_ones_own_dispute_is_left_alone() -> None:
    result = route("老板拖欠我三个月工资两万三一直不给", third="inform")
    assert result["intent"]["name"] == "dispute_labor" and result["ranking"][0]["confidence"] == 0.8
