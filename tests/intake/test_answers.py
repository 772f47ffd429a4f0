"""Answers to the question asked: normalised, or asked again in Chinese."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sharedcourt.intake.answers import parse_answer
from sharedcourt.intake.facts import UNKNOWN

TODAY = dt.date(2026, 11, 29)  # a Sunday


@pytest.mark.parametrize(
    ("slot", "text", "value"),
    [
        ("amount_yuan", "两万三", 23000),
        ("amount_yuan", "大概3.5万吧", 35000),
        ("amount_yuan", "不涉及", UNKNOWN),
        ("incident_date", "上周三", "2026-11-18"),
        ("incident_date", "不记得了", UNKNOWN),
        ("phone", "幺三八一二三四五六七八", "13812345678"),
        ("phone", "0570 8012345", "0570-8012345"),
        ("months_unpaid", "三个月", 3),
        ("households", "二十户", 20),
        ("iou", "有", "有"),
        ("iou", "没有", "没有"),
        ("desired_outcome", "要回工资。", "要回工资"),
    ],
)
def test_answers_are_normalised(slot: str, text: str, value: Any) -> None:
    answer = parse_answer(slot, text, TODAY)
    assert answer.error is None
    assert answer.value == value


@pytest.mark.parametrize(
    ("slot", "text", "hint"),
    [
        ("amount_yuan", "很多", "两万三"),
        ("incident_date", "那个时候", "上周三"),
        ("phone", "1381234567", "11位手机号"),
        ("place_code", "北京朝阳区", "县（市、区）"),
    ],
)
def test_bad_answers_are_asked_again_in_chinese(slot: str, text: str, hint: str) -> None:
    answer = parse_answer(slot, text, TODAY)
    assert answer.value is None and answer.error is not None
    assert hint in answer.error.text


def test_a_future_incident_date_is_refused() -> None:
    answer = parse_answer("incident_date", "2027年3月", TODAY)
    assert answer.error is not None and "还没到" in answer.error.text


def test_after_two_failures_the_raw_answer_is_kept() -> None:
    assert parse_answer("amount_yuan", "很多", TODAY, retries=2).value == "很多"


def test_place_answer_gives_the_statistical_code_and_name() -> None:
    answer = parse_answer("place_code", "柯城白云", TODAY)
    assert answer.value == "330802009"
    assert answer.extra == {"place_name": "柯城区白云街道"}
