"""Console edits of 普法 entries: checked with the knowledge base's rules (reasons in Chinese), stored, layered over
the shipped YAML and picked up by the live knowledge base within its refresh interval, on both databases."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from sharedcourt.db.session import unit_of_work
from sharedcourt.faq.edits import Draft, draft_of, merge, save, validate
from sharedcourt.faq.entries import shipped
from sharedcourt.faq.live import LiveKnowledgeBase, merged_entries

TODAY = dt.date(2026, 12, 3)
BEES = Draft(
    entry_id="neighbor-bee-sting",
    dispute="neighbor",
    questions="邻居养的蜜蜂蜇了人谁负责\n养蜂人的蜜蜂蜇伤路人要赔吗\n被邻居家蜜蜂蜇了能要医药费吗\n蜜蜂蜇人养蜂的要担责吗",
    answer="饲养的动物造成他人损害的，饲养人或者管理人应当承担侵权责任，蜜蜂也一样。\n\n"
    "能证明是被侵权人故意或者重大过失造成的，可以不承担或者减轻责任。",
    sources="《中华人民共和国民法典》第一千二百四十五条",
    checked="2026-12-01",
)


def _draft(**changes: str) -> Draft:
    return dataclasses.replace(BEES, errors=[], **changes)


def test_a_good_draft_becomes_an_entry() -> None:
    entry = validate(_draft(), TODAY, new=True, taken=set())
    assert entry is not None
    assert entry.id == "neighbor-bee-sting" and len(entry.questions) == 4 and len(entry.paragraphs) == 2
    assert entry.checked == dt.date(2026, 12, 1)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"checked": "2026-12-04"}, "还没到"),
        ({"checked": "2026-02-30"}, "真实的日期"),
        ({"checked": ""}, "真实的日期"),
        ({"entry_id": "Bee Sting"}, "编号只能用"),
        ({"dispute": "weather"}, "请选择纠纷类型"),
        ({"questions": "蜜蜂蜇人谁负责"}, "4-16 个不同的说法"),
        ({"answer": ""}, "请填写答复"),
        ({"answer": "一\n\n二\n\n三"}, "最多 2 段"),
        ({"answer": "长" * 301}, "最多 300 个字"),
        ({"sources": "民法典第一千二百四十五条"}, "书名号"),
        ({"sources": ""}, "至少填写一个法律依据"),
    ],
)
def test_a_bad_draft_is_refused_in_chinese_and_kept_as_typed(changes: dict[str, str], reason: str) -> None:
    draft = _draft(**changes)
    typed = dataclasses.asdict(draft)
    assert validate(draft, TODAY, new=True, taken=set()) is None
    assert any(reason in e for e in draft.errors), draft.errors
    assert {k: v for k, v in dataclasses.asdict(draft).items() if k != "errors"} == {
        k: v for k, v in typed.items() if k != "errors"
    }


def test_a_new_entry_may_not_take_an_existing_id() -> None:
    draft = _draft(entry_id=shipped()[0].id)
    assert validate(draft, TODAY, new=True, taken={e.id for e in shipped()}) is None
    assert "已经有了" in draft.errors[0]


def test_an_edit_replaces_the_shipped_entry_in_place_and_an_addition_comes_last() -> None:
    first = shipped()[0]
    changed = dataclasses.replace(first, paragraphs=("改过的答复。",))
    added = validate(_draft(), TODAY, new=True, taken=set())
    assert added is not None
    merged = merge(shipped(), [added, changed])
    assert merged[0] == changed and merged[-1] == added and len(merged) == len(shipped()) + 1


async def test_stored_edits_reach_the_live_knowledge_base_after_its_interval(sessions: Any) -> None:
    ticks = [0.0]
    kb = LiveKnowledgeBase(refresh_seconds=30, monotonic=lambda: ticks[0])
    question = "养蜂的蜜蜂蜇了路人谁来赔"
    assert (await kb.answer(sessions, question)).entry is None  # nothing about bees ships
    added = validate(_draft(), TODAY, new=True, taken=set())
    assert added is not None
    async with unit_of_work(sessions) as session:
        assert await save(session, added, "admin1") is True
    ticks[0] = 10.0
    assert (await kb.answer(sessions, question)).entry is None  # within the interval: not checked yet
    ticks[0] = 31.0
    result = await kb.answer(sessions, question)
    assert result.entry is not None and result.entry.id == "neighbor-bee-sting"
    assert "蜜蜂也一样" in result.replies[0].text
    assert "《中华人民共和国民法典》第一千二百四十五条" in result.replies[-1].text


async def test_an_edit_of_a_shipped_entry_is_what_the_assistant_says(sessions: Any) -> None:
    kb = LiveKnowledgeBase(refresh_seconds=0)
    entry = next(e for e in shipped() if e.id == "seed-family-child-support")
    draft = draft_of(entry)
    draft.answer = "抚养费看子女的实际需要、父母双方的负担能力和当地的实际生活水平确定（已由管理员修改）。"
    edited = validate(draft, TODAY, new=False, taken={entry.id})
    assert edited is not None
    async with unit_of_work(sessions) as session:
        assert await save(session, edited, "admin1") is True
    result = await kb.answer(sessions, "离婚后孩子抚养费一般怎么算")
    assert result.entry is not None and "已由管理员修改" in result.replies[-1].text
    async with sessions() as session:
        merged = await merged_entries(session)
    assert len(merged) == len(shipped())
    assert next(e for e in merged if e.id == entry.id).file == "console"


async def test_saving_again_replaces_the_stored_edit(sessions: Any) -> None:
    first = validate(_draft(), TODAY, new=True, taken=set())
    second = validate(_draft(figures="无"), TODAY, new=False, taken={"neighbor-bee-sting"})
    assert first is not None and second is not None
    async with unit_of_work(sessions) as session:
        assert await save(session, first, "admin1") is True
    async with unit_of_work(sessions) as session:
        assert await save(session, second, "admin2") is False
    async with sessions() as session:
        merged = {e.id: e for e in await merged_entries(session)}
    assert merged["neighbor-bee-sting"].figures == "无"
