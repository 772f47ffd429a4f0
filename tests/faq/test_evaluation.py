"""The evaluation file's contract, the rates, and the dev split that chooses the threshold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sharedcourt.errors import ConfigError
from sharedcourt.faq.answer import THRESHOLD, KnowledgeBase
from sharedcourt.faq.entries import shipped
from sharedcourt.faq.evaluation import (
    DECLINE_GOAL,
    DEV_FILE,
    EvalSet,
    choose_threshold,
    decline_lower_bound,
    dev_answerable,
    dev_declines,
    dev_split,
    evaluate,
    load_eval,
    load_judgements,
)

EVAL = Path(__file__).resolve().parents[2] / "eval" / "faq" / "questions.yml"
JUDGEMENTS = EVAL.with_name("judgements.yml")


def test_the_evaluation_set_names_only_existing_entries_and_is_large_enough() -> None:
    data = load_eval(EVAL, {e.id for e in shipped()})
    assert len(data.answerable) >= 150 and len(data.decline) >= 50


def test_a_missing_entry_id_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "q.yml"
    path.write_text("answerable:\n  no-such-entry: [问题]\ndecline: [天气]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="do not exist: no-such-entry"):
        load_eval(path, {e.id for e in shipped()})


def test_no_evaluation_question_is_a_training_paraphrase() -> None:
    paraphrases = {q for e in shipped() for q in e.questions}
    data = load_eval(EVAL, {e.id for e in shipped()})
    assert not paraphrases & ({q for q, _ in data.answerable} | set(data.decline))
    assert not set(dev_declines()) & set(data.decline)


def test_rates_count_right_first_and_declines() -> None:
    kb = KnowledgeBase(shipped())
    entry = shipped()[0]
    report = evaluate(kb, EvalSet([(entry.questions[0], entry.id), (entry.questions[0], "other")], ["红烧肉怎么做"]))
    assert (report.right_first, report.answerable, report.declined, report.declines) == (1, 2, 1, 1)
    assert report.right_first_rate == 0.5 and report.declined_rate == 1.0


def test_the_dev_split_holds_out_one_paraphrase_per_entry() -> None:
    kept, held = dev_split(shipped(), 1)
    assert len(held) == len(shipped())
    for entry, (question, entry_id) in zip(kept, held, strict=True):
        assert entry.id == entry_id and question not in entry.questions


def test_the_shipped_threshold_is_the_one_the_dev_split_chooses() -> None:
    chosen, reports = choose_threshold(shipped(), dev_declines())
    assert chosen == THRESHOLD
    report = next(r for r in reports if r.threshold == chosen)
    assert decline_lower_bound(report.declined, report.declines) >= DECLINE_GOAL
    below = next(r for r in reports if r.threshold == round(chosen - 0.01, 2))
    assert decline_lower_bound(below.declined, below.declines) < DECLINE_GOAL, "not the lowest such threshold"


def test_the_decline_bound_is_below_the_observed_rate_and_tightens_with_more_questions() -> None:
    assert decline_lower_bound(0, 0) == 0.0
    assert 0.85 < decline_lower_bound(90, 100) < 0.86  # Wilson, one-sided 90 %
    assert decline_lower_bound(900, 1000) > decline_lower_bound(90, 100)
    assert decline_lower_bound(100, 100) < 1.0


def test_dev_answerable_questions_are_answered_at_the_goal_and_are_not_paraphrases() -> None:
    kb = KnowledgeBase(shipped())
    dev = dev_answerable()
    assert not {q for q, _ in dev} & {q for e in shipped() for q in e.questions}
    report = evaluate(kb, EvalSet(dev, dev_declines()))
    assert report.right_first_rate >= 0.85 and report.declined_rate >= DECLINE_GOAL


def test_dev_questions_name_existing_entries_and_none_is_an_evaluation_question() -> None:
    dev = yaml.safe_load(DEV_FILE.read_text(encoding="utf-8"))
    ids = {e.id for e in shipped()}
    assert set(dev["answerable"]) <= ids
    data = load_eval(EVAL, ids)
    dev_questions = {q for qs in dev["answerable"].values() for q in qs} | set(dev["decline"])
    assert not dev_questions & ({q for q, _ in data.answerable} | set(data.decline))


def test_pooled_judgements_name_existing_entries_and_are_the_also_lists() -> None:
    ids = {e.id for e in shipped()}
    data = load_eval(EVAL, ids)
    judged = load_judgements(JUDGEMENTS)
    assert {j.entry for j in judged} <= ids
    expected = dict(data.answerable)
    assert {j.question for j in judged} <= set(expected)
    assert all(j.expected == expected[j.question] and j.entry != j.expected for j in judged)
    pairs = [(j.question, j.entry) for j in judged]
    assert len(pairs) == len(set(pairs))
    relevant: dict[str, set[str]] = {}
    for j in judged:
        if j.relevant:
            relevant.setdefault(j.question, set()).add(j.entry)
    assert relevant == {q: set(also) for q, also in data.also.items()}
    assert 0 < len(relevant) < len(judged)


def test_every_answerable_question_was_pooled_at_depth_five() -> None:
    kb = KnowledgeBase(shipped())
    data = load_eval(EVAL, set(kb.by_id))
    judged: dict[str, set[str]] = {}
    for j in load_judgements(JUDGEMENTS):
        judged.setdefault(j.question, set()).add(j.entry)
    for question, expected in data.answerable:
        top = {h.entry.id for h in kb.index.search(question, limit=5)} - {expected}
        assert top <= judged.get(question, set()), question


def test_the_evaluation_counts_an_also_entry_as_pooled_right_but_not_strict() -> None:
    kb = KnowledgeBase(shipped())
    entry, other = shipped()[0], shipped()[1]
    question = entry.questions[0]
    assert kb.answer(question).entry == entry
    data = EvalSet([(question, other.id)], ["红烧肉怎么做"], {question: (entry.id,)})
    report = evaluate(kb, data)
    assert (report.right_first, report.right_first_pooled) == (0, 1)
    assert report.as_json(2)["right_first_pooled"] == 1.0 and "(judged relevant)" in report.misses[0]
    strict = evaluate(kb, EvalSet([(question, other.id)], ["红烧肉怎么做"]))
    assert (strict.right_first, strict.right_first_pooled) == (0, 0)


def test_also_must_name_existing_entries_other_than_the_expected_one(tmp_path: Path) -> None:
    ids = {e.id for e in shipped()}
    first = shipped()[0].id
    path = tmp_path / "q.yml"
    text = f"answerable:\n  {first}: [{{q: 问题, also: [no-such-entry]}}]\ndecline: [天气]\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="do not exist: no-such-entry"):
        load_eval(path, ids)
    path.write_text(f"answerable:\n  {first}: [{{q: 问题, also: [{first}]}}]\ndecline: [天气]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="names the expected entry"):
        load_eval(path, ids)


def test_no_question_is_both_answerable_and_to_decline(tmp_path: Path) -> None:
    data = load_eval(EVAL, {e.id for e in shipped()})
    assert not {q for q, _ in data.answerable} & set(data.decline)
    path = tmp_path / "q.yml"
    path.write_text(f"answerable:\n  {shipped()[0].id}: [天气怎么样]\ndecline: [天气怎么样]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="both answerable and to decline: 天气怎么样"):
        load_eval(path, {e.id for e in shipped()})


def test_dev_declines_are_scored_against_all_entries_not_a_fold() -> None:
    entry = shipped()[0]
    question = entry.questions[0]  # fold 0 holds this paraphrase out of its entry
    full = KnowledgeBase(shipped(), threshold=0.0).answer(question)
    fold_kb = KnowledgeBase(dev_split(shipped(), 0)[0], threshold=0.0)
    assert full.entry == entry and fold_kb.answer(question).score < full.score
    _, reports = choose_threshold(shipped(), [question])
    assert all(r.declined_rate == 0.0 for r in reports if r.threshold <= full.score)
