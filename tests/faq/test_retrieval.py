"""BM25 over character n-grams: the right entry ranks first, and scores separate questions from noise."""

from __future__ import annotations

import datetime as dt

from sharedcourt.faq.entries import Entry
from sharedcourt.faq.retrieval import Index, content, grams


def entry(entry_id: str, *questions: str) -> Entry:
    return Entry(entry_id, "labor", questions, ("答。",), ("《某法》第一条",), dt.date(2026, 12, 3))


ENTRIES = [
    entry("wages", "拖欠工资怎么办", "老板不发工资去哪投诉", "欠薪怎么讨回来", "工钱拿不到找谁"),
    entry("injury", "工伤赔偿标准是多少", "干活受伤能赔多少", "工伤伤残补助金怎么算", "上班摔伤算工伤吗"),
    entry("contract", "不签劳动合同怎么办", "没签合同能要双倍工资吗", "二倍工资怎么算", "入职不签合同违法吗"),
]


def test_grams_are_one_and_two_characters_without_punctuation_and_filler() -> None:
    assert content("请问，工伤 赔偿吗？") == "工伤赔偿"
    assert grams("工伤赔") == ["工", "伤", "赔", "工伤", "伤赔"]
    assert content("老公欠的工钱") == "丈夫欠工资"


def test_the_entry_whose_paraphrases_match_ranks_first_with_scores_descending() -> None:
    index = Index(ENTRIES)
    hits = index.search("受伤了工伤能赔多少钱")
    assert hits[0].entry.id == "injury"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert index.search("老板拖着工资不发")[0].entry.id == "wages"
    assert index.search("没有签劳动合同")[0].entry.id == "contract"


def test_unrelated_words_score_far_below_a_matching_question() -> None:
    index = Index(ENTRIES)
    matching = index.search("工伤赔偿标准")[0].score
    unrelated = index.search("红烧肉做法")
    assert not unrelated or unrelated[0].score < matching / 3


def test_limit_and_empty_inputs() -> None:
    assert len(Index(ENTRIES).search("工资", limit=1)) == 1
    assert Index(ENTRIES).search("？？") == []
    assert Index([]).search("工资") == []
