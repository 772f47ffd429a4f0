"""Category-template layouts: start-up refuses a value its keyword cannot hold; every rendered value is one WeChat
takes (checked by the stand-in's own rules, tests/stand_ins/wechat_templates.py)."""

from __future__ import annotations

import pytest
from stand_ins.wechat_templates import template_problem, value_problem

from sharedcourt.channels.wechat.templates import Layout, layouts, parse_fields, render
from sharedcourt.errors import ConfigError
from sharedcourt.messaging.notices import PURPOSES, STATUS_WORDS
from sharedcourt.settings import Settings

LONG = "浙江省杭州市西湖区转塘街道象山社区共享法庭😀（党群服务中心\n二楼调解室）"
VALUES = {
    "title": LONG,
    "case_number": "QZ2026-000123",
    "when": "2026-12-02T00:30:00+00:00",
    "sent_at": "2026-12-01T02:00:00+00:00",
    "site_name": LONG,
    "address": LONG * 2,
    "mediator": "欧阳调解员王某某某某某某",
    "status": "已取消",
    "reason": LONG,
    "summary": LONG,
}


@pytest.mark.parametrize(
    "spec",
    [
        "phrase1=site_name",  # a site name does not fit 5 characters
        "character_string1=mediator",  # Chinese in a character_string
        "time1=site_name",
        "amount1=case_number",  # a type none of our values fits
        "keyword1=title",  # the pre-2023 free-form keyword
        "first=title",
        "thing1=colour",  # no such value
        "thing1=title,thing1=reason",
        "thing1",
        "",
    ],
)
def test_start_up_refuses_a_field_that_cannot_hold_its_value(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_fields("reminder", spec)


def test_settings_with_a_wrong_mapping_are_refused() -> None:
    settings = Settings(wechat_template_reminder="T", wechat_template_reminder_fields="phrase1=site_name")
    with pytest.raises(ConfigError, match="phrase1"):
        layouts(settings)


def test_default_layouts_cover_every_purpose() -> None:
    configured = Settings(**{f"wechat_template_{p}": f"T-{p}" for p in PURPOSES})  # type: ignore[arg-type]
    assert sorted(layouts(configured)) == sorted(PURPOSES)
    assert layouts(Settings()) == {}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_rendered_values_are_taken_by_wechat(purpose: str) -> None:
    layout = layouts(Settings(**{f"wechat_template_{purpose}": "T"}))[purpose]  # type: ignore[arg-type]
    data = render(layout, VALUES)
    keywords = [k for k, _ in layout.fields]
    assert list(data) == keywords
    body = {"touser": "o", "template_id": "T", "url": "https://court.example.cn/", "data": data}
    assert template_problem(body, {"T": keywords}) is None
    for field in data.values():
        assert "😀" not in field["value"] and "\n" not in field["value"]


def test_every_mapping_the_rules_allow_renders_within_limits() -> None:
    pairs = [
        ("thing1", "title"), ("thing2", "mediator"), ("thing3", "when"), ("thing4", "case_number"),
        ("thing5", "status"), ("name6", "mediator"), ("time7", "when"), ("date8", "sent_at"),
        ("character_string9", "case_number"), ("phrase10", "status"),
    ]  # fmt: skip
    data = render(Layout("reminder", "T", tuple(pairs)), VALUES)
    for keyword, field in data.items():
        assert value_problem(keyword, field["value"]) is None, (keyword, field)
    assert data["thing1"]["value"].endswith("…") and len(data["thing1"]["value"]) == 20
    assert data["time7"]["value"] == "2026年12月2日 08:30"


@pytest.mark.parametrize("word", STATUS_WORDS)
def test_status_words_fit_a_phrase(word: str) -> None:
    assert value_problem("phrase1", word) is None


def test_a_missing_value_is_not_sent_empty() -> None:
    layout = Layout("reminder", "T", (("thing1", "title"), ("thing2", "address")))
    with pytest.raises(ValueError, match="thing2"):
        render(layout, {"title": "明天有调解", "address": "  "})
