"""Classifying the first message: the type read back, choices when unsure, danger words."""

from __future__ import annotations

from typing import Any

import pytest

from sharedcourt.intake.classify import classify, is_danger, offer_choices
from sharedcourt.intake.form import ask


def ranking(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "confidence": conf} for name, conf in pairs]


def test_a_clear_type_is_read_back() -> None:
    result = classify("dispute_labor", 0.93, ranking(("dispute_labor", 0.93), ("dispute_debt", 0.03)))
    assert result.code == "labor"
    assert ask("type_confirmed", {"dispute_code": "labor", "complaint": "老板欠我工资"})[0].text == (
        "您遇到的是拖欠工资的劳动争议，对吗？"
    )


@pytest.mark.parametrize(
    "rank",
    [
        ranking(("dispute_neighbor", 0.48), ("dispute_property_mgmt", 0.41), ("greet", 0.02)),  # close
        ranking(("dispute_neighbor", 0.35), ("inform", 0.3), ("dispute_environment", 0.2)),  # low
    ],
)
def test_close_or_weak_types_become_numbered_choices(rank: list[dict[str, Any]]) -> None:
    result = classify(rank[0]["name"], rank[0]["confidence"], rank)
    assert result.code is None
    assert result.candidates[0] == "neighbor" and len(result.candidates) >= 2
    say = ask("dispute_code", {"type_candidates": result.candidates})[0]
    assert "1. 邻里纠纷" in say.text and "都不是" in say.text
    assert say.buttons[0].payload == "/dispute_neighbor"
    assert say.buttons[-1].payload == "/none_of_these"


@pytest.mark.parametrize(
    "text", ["我老公天天喝酒打人我想离婚孩子才三岁怎么办", "他拿刀要砍我", "我不想活了", "厂里着火了"]
)
def test_danger_words(text: str) -> None:
    assert is_danger(text)


@pytest.mark.parametrize("text", ["楼上漏水好几个月了物业也不管", "老板欠了三个月工资", "打官司要多少钱"])
def test_no_danger_in_ordinary_complaints(text: str) -> None:
    assert not is_danger(text)


def test_choices_for_an_unclear_message() -> None:
    long_facts = "去年十月在江山贺村镇借给朋友3.5万 到现在不还 电话13812345678"
    rank = ranking(("inform", 0.9), ("dispute_debt", 0.04), ("dispute_finance", 0.02), ("greet", 0.01))
    assert offer_choices(rank, long_facts) == ["debt", "finance"]
    assert offer_choices(rank, "13812345678") == []
    fallback = ranking(("nlu_fallback", 0.3), ("dispute_neighbor", 0.28), ("dispute_property_mgmt", 0.25))
    assert offer_choices(fallback, "楼上漏水") == ["neighbor", "property_mgmt"]
