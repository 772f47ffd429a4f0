"""The summary and its free-text corrections."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sharedcourt.intake.summary import parse_edit, summary_text

TODAY = dt.date(2026, 11, 29)  # a Sunday


def test_summary_lists_every_fact_in_chinese(labor_slots: dict[str, Any]) -> None:
    text = summary_text(labor_slots)
    for part in (
        "纠纷类型：劳动争议",
        "用工单位：衢州某某电子厂",
        "发生时间：2026年10月1日",
        "发生地点：柯城区白云街道",
    ):
        assert part in text
    assert "涉及金额：23000元" in text and "拖欠月数：3个月" in text and "已采取的措施：不清楚" in text


@pytest.mark.parametrize(
    ("text", "updates"),
    [
        ("金额不对，是两万八", {"amount_yuan": 28000}),
        ("钱数错了 应该是3.5万", {"amount_yuan": 35000}),
        ("时间不对，是去年十月", {"incident_date": "2025-10-01"}),
        ("电话换成13912345678", {"phone": "13912345678"}),
        ("13912345678", {"phone": "13912345678"}),
        ("地点是江山贺村镇", {"place_code": "330881121", "place_name": "江山市贺村镇"}),
        ("单位写错了，是衢州某某机械厂", {"employer": "衢州某某机械厂"}),
        ("拖欠了五个月", {"months_unpaid": 5}),
    ],
)
def test_summary_edits_in_free_text(text: str, updates: dict[str, Any], labor_slots: dict[str, Any]) -> None:
    assert parse_edit(text, labor_slots, TODAY) == updates


def test_an_edit_that_names_nothing_is_not_guessed(labor_slots: dict[str, Any]) -> None:
    assert parse_edit("嗯这个吧", labor_slots, TODAY) == {}
