"""普法 answers through the real system (issue 15): web chat → router → Rasa → action server → knowledge base."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import System, new_sender

pytestmark = pytest.mark.integration


def _texts(reply: dict[str, Any]) -> str:
    return "\n".join(r["text"] for r in reply["replies"])


def _payloads(reply: dict[str, Any]) -> set[str]:
    return {b["payload"] for r in reply["replies"] for b in r.get("buttons") or []}


def test_a_question_is_answered_with_its_source_then_mediation_carries_the_type(system: System) -> None:
    sender = new_sender()
    answer = system.say(sender, "工伤赔偿标准是多少")
    text = _texts(answer)
    assert "来源：《工伤保险条例》第三十条" in text and "对吗" not in text, text
    assert len(answer["replies"]) <= 2 and "/start_mediation" in _payloads(answer)

    intake = _texts(system.say(sender, "那我要调解"))
    assert "劳动争议" in intake and "对吗" in intake, intake


def test_a_question_about_debt_names_the_civil_code(system: System) -> None:
    text = _texts(system.say(new_sender(), "借钱不还多久过诉讼时效"))
    assert "来源：《中华人民共和国民法典》第一百八十八条" in text, text


def test_a_dispute_description_still_starts_the_intake(system: System) -> None:
    reply = system.say(new_sender(), "老板拖欠我三个月工资两万三一直不给 我在柯城区白云街道上班")
    text = _texts(reply)
    assert "来源：" not in text, text
    assert ("劳动争议" in text and "对吗" in text) or "/dispute_labor" in _payloads(reply), text
