"""The evaluation file's contract, the rates, and the dev split that chooses the threshold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sharedcourt.errors import ConfigError
from sharedcourt.faq.answer import THRESHOLD, KnowledgeBase
from sharedcourt.faq.entries import shipped
from sharedcourt.faq.evaluation import (
    DEV_FILE,
    EvalSet,
    choose_threshold,
    dev_declines,
    dev_split,
    evaluate,
    load_eval,
)

EVAL = Path(__file__).resolve().parents[2] / "eval" / "faq" / "questions.yml"


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
    assert next(r for r in reports if r.threshold == chosen).declined_rate >= 0.9


def test_dev_questions_name_existing_entries_and_none_is_an_evaluation_question() -> None:
    dev = yaml.safe_load(DEV_FILE.read_text(encoding="utf-8"))
    ids = {e.id for e in shipped()}
    assert set(dev["answerable"]) <= ids
    data = load_eval(EVAL, ids)
    dev_questions = {q for qs in dev["answerable"].values() for q in qs} | set(dev["decline"])
    assert not dev_questions & ({q for q, _ in data.answerable} | set(data.decline))
