"""Classifying the first message: the type read back, choices when unsure, danger words."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sharedcourt.errors import ConfigError
from sharedcourt.intake.classify import Thresholds, classify, default_thresholds, is_danger, offer_choices
from sharedcourt.intake.facts import next_slot
from sharedcourt.intake.form import Turn, advance, ask
from sharedcourt.settings import Settings


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


# --------------------------------------------------------------------------------------------------------
# Knowing when it is unsure: the thresholds decide between reading one type back and numbered choices.

CLEAR = ranking(("dispute_labor", 0.85), ("dispute_debt", 0.1), ("dispute_contract", 0.03))


def test_a_confident_type_clear_of_the_second_is_read_back() -> None:
    result = classify("dispute_labor", 0.85, CLEAR, Thresholds(0.8, 0.5, 3))
    assert (result.code, result.confidence, result.candidates) == ("labor", 0.85, ["labor", "debt", "contract"])


@pytest.mark.parametrize(
    ("limits", "offered"),
    [
        (Thresholds(0.9, 0.2, 3), ["labor", "debt", "contract"]),  # below the confidence threshold
        (Thresholds(0.9, 0.2, 2), ["labor", "debt"]),  # two choices offered
        (Thresholds(0.5, 0.8, 2), ["labor", "debt"]),  # confident, but not clear enough of the second
    ],
)
def test_below_the_thresholds_the_top_types_are_offered(limits: Thresholds, offered: list[str]) -> None:
    result = classify("dispute_labor", 0.85, CLEAR, limits)
    assert result.code is None and result.confidence == 0.85 and result.candidates == offered


def test_the_defaults_are_the_settings_defaults() -> None:
    shipped = Settings()
    assert default_thresholds() == Thresholds(
        shipped.classify_confident, shipped.classify_margin, shipped.classify_choices
    )
    limits = Thresholds.from_settings(
        Settings.from_env({"CLASSIFY_CONFIDENT": "0.7", "CLASSIFY_MARGIN": "0.1", "CLASSIFY_CHOICES": "2"})
    )
    assert limits == Thresholds(0.7, 0.1, 2)


@pytest.mark.parametrize(
    ("key", "value"), [("CLASSIFY_CHOICES", "4"), ("CLASSIFY_CHOICES", "1"), ("CLASSIFY_CONFIDENT", "1.5"),
                       ("CLASSIFY_MARGIN", "-0.1"), ("CLASSIFY_CONFIDENT", "很高")],
)  # fmt: skip
def test_thresholds_out_of_range_are_refused(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: value})


def test_the_fallback_offers_as_many_choices_as_set() -> None:
    rank = ranking(("nlu_fallback", 0.3), ("dispute_neighbor", 0.28), ("dispute_property_mgmt", 0.25),
                   ("dispute_environment", 0.1))  # fmt: skip
    assert offer_choices(rank, "楼上漏水", Thresholds(0.5, 0.45, 2)) == ["neighbor", "property_mgmt"]
    assert offer_choices(rank, "楼上漏水", Thresholds(0.5, 0.45, 3)) == ["neighbor", "property_mgmt", "environment"]


def test_the_form_asks_below_the_thresholds_and_carries_the_chosen_type_on() -> None:
    today = dt.date(2026, 11, 29)
    text = "老板拖欠我三个月工资 借条也打了"
    unsure = Thresholds(0.9, 0.2, 2)
    step = advance({}, Turn(text, "dispute_labor", 0.85, CLEAR), today, unsure)
    assert "dispute_code" not in step.updates and step.updates["type_candidates"] == ["labor", "debt"]
    slots = {**step.updates, "requested_slot": next_slot(step.updates)}
    assert slots["requested_slot"] == "dispute_code"
    question = ask("dispute_code", slots)[0]
    assert question.text.endswith("\n1. 劳动争议（欠薪、工伤、辞退）\n2. 借钱欠钱（民间借贷）\n3. 都不是")
    assert [b.payload for b in question.buttons] == ["/dispute_labor", "/dispute_debt", "/none_of_these"]
    chosen = advance(slots, Turn("/dispute_debt", "dispute_debt", 1.0, ranking(("dispute_debt", 1.0))), today, unsure)
    assert chosen.updates["dispute_code"] == "debt" and chosen.updates["type_confirmed"] is True
    # The same message above the thresholds is read back for a yes or no, as before.
    sure = advance({}, Turn(text, "dispute_labor", 0.85, CLEAR), today, Thresholds(0.8, 0.5, 2))
    assert sure.updates["dispute_code"] == "labor" and "type_confirmed" not in sure.updates
    assert next_slot({**sure.updates}) == "type_confirmed"
