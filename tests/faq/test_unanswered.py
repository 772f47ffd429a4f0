"""Questions the assistant could not answer are counted masked, grouped by wording, and can be marked covered."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from sharedcourt.db.faq import FaqUnanswered
from sharedcourt.db.session import unit_of_work
from sharedcourt.errors import NotFound
from sharedcourt.faq import unanswered
from sharedcourt.faq.answer import KnowledgeBase
from sharedcourt.faq.entries import shipped
from sharedcourt.faq.service import answer_question

T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)
KB = KnowledgeBase(shipped())
UNKNOWN = "外星人可以在地球上结婚吗"


async def _rows(sessions: Any) -> list[FaqUnanswered]:
    async with sessions() as session:
        return list(await session.scalars(select(FaqUnanswered).order_by(FaqUnanswered.id)))


async def test_a_declined_question_is_counted_once_per_wording(sessions: Any) -> None:
    result = KB.answer(UNKNOWN)
    assert result.entry is None
    assert await unanswered.record(sessions, UNKNOWN, result, "property_mgmt", T0)
    punctuated = "外星人，可以在地球上结婚吗？"
    assert await unanswered.record(sessions, punctuated, KB.answer(punctuated), None, T0)
    (row,) = await _rows(sessions)
    assert row.count == 2 and row.dispute_code is not None and row.reason in ("not_sure", "no_entry")
    assert row.first_at == T0 and row.covered_entry is None


async def test_personal_data_is_masked_before_it_is_stored(sessions: Any) -> None:
    text = "我叫张三电话13812345678，外星人可以在地球上结婚吗"
    await unanswered.record(sessions, text, KB.answer(text), None, T0)
    (row,) = await _rows(sessions)
    assert "13812345678" not in row.text and "138****5678" in row.text
    assert "13812345678" not in row.key


async def test_answered_and_one_case_questions_are_not_gaps(sessions: Any) -> None:
    answered = "离婚后孩子抚养费一般怎么算"
    assert not await unanswered.record(sessions, answered, KB.answer(answered), None, T0)
    one_case = "我这个官司能打赢吗"
    assert not await unanswered.record(sessions, one_case, KB.answer(one_case), None, T0)
    assert await _rows(sessions) == []


async def test_the_service_answers_and_records_what_it_could_not_answer(sessions: Any) -> None:
    result = await answer_question(sessions, UNKNOWN, refresh_seconds=0, classified="other_legal", now=T0)
    assert result.entry is None
    (row,) = await _rows(sessions)
    assert row.dispute_code == "other_legal"


async def test_similar_wordings_are_one_group_and_groups_sort_by_count_or_recency(sessions: Any) -> None:
    asked = [
        ("外星人可以在地球上结婚吗", T0),
        ("外星人可以在地球上结婚吗啊", T0),  # the same once filler is gone: the same row
        ("外星人能在地球上结婚吗", T0 + dt.timedelta(hours=1)),  # close wording: the same group
        ("太空旅行的船票能退吗", T0 + dt.timedelta(hours=2)),
    ]
    for text, at in asked:
        await unanswered.record(sessions, text, KB.answer(text), None, at)
    async with sessions() as session:
        frequent = await unanswered.open_groups(session, "frequent")
        newest = await unanswered.open_groups(session, "newest")
    assert [g.count for g in frequent] == [3, 1]
    assert "外星人" in frequent[0].head.text and len(frequent[0].rows) == 2
    assert "太空" in newest[0].head.text


async def test_covering_closes_the_group_and_a_repeat_opens_it_again(sessions: Any) -> None:
    await unanswered.record(sessions, UNKNOWN, KB.answer(UNKNOWN), None, T0)
    (row,) = await _rows(sessions)
    async with unit_of_work(sessions) as session:
        await unanswered.cover(session, [row.id], "seed-family-child-support", "admin1")
    async with sessions() as session:
        assert await unanswered.open_groups(session) == []
    with pytest.raises(NotFound):
        async with unit_of_work(sessions) as session:
            await unanswered.cover(session, [row.id], "seed-family-child-support", "admin1")
    await unanswered.record(sessions, UNKNOWN, KB.answer(UNKNOWN), None, T0 + dt.timedelta(days=1))
    (row,) = await _rows(sessions)
    assert row.covered_entry is None and row.count == 2
