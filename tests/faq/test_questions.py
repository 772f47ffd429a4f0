"""A short question about the rule is told from a resident describing their own dispute."""

from __future__ import annotations

import pytest

from sharedcourt.faq.questions import MAX_CHARS, is_law_question


@pytest.mark.parametrize(
    "text",
    [
        "工伤赔偿标准是多少",
        "离婚后孩子抚养费一般怎么算",
        "借钱不还多久过诉讼时效",
        "交强险最多赔多少钱",
        "出嫁的女儿有继承权吗",
    ],
)
def test_questions_about_the_law(text: str) -> None:
    assert is_law_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "老板拖欠我三个月工资两万三一直不给",  # about the writer
        "我借给邻居两万块钱他一直拖着不还怎么办",  # about the writer, even as a question
        "楼上漏水好几个月了也不管",  # a description: "好几个月" is no question
        "邻居家装修太吵了",
        "在厂里干了半年 老板拖欠三个月工资不给",
        "",
    ],
)
def test_descriptions_of_ones_own_dispute(text: str) -> None:
    assert not is_law_question(text)


def test_a_long_story_is_a_description_even_with_a_question_word() -> None:
    story = "隔壁的工厂" + "天天排放污水" * 6 + "怎么办"
    assert len(story) > MAX_CHARS and not is_law_question(story)
