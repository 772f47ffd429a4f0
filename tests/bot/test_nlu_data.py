"""Consistency of the training data: what Rasa reads and what only the intent classifier reads."""

from __future__ import annotations

import collections
from pathlib import Path

import yaml

from sharedcourt.cli.evaluation import strip_entities
from sharedcourt.cli.procs import ROOT, rasa_data
from sharedcourt.domain.disputes import BY_INTENT

NLU = ROOT / "nlu_data"
QUESTIONS = NLU / "questions"


def examples(folder: Path) -> list[tuple[Path, str, str]]:
    found = []
    for path in sorted(folder.rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if isinstance(block, dict) and "intent" in block:
                for line in str(block.get("examples") or "").splitlines():
                    if line.strip().startswith("- "):
                        found.append((path, str(block["intent"]), line.strip()[2:].strip()))
    return found


def test_questions_are_plain_dispute_examples() -> None:
    found = examples(QUESTIONS)
    assert len(found) > 1000
    assert {intent for _, intent, _ in found} <= set(BY_INTENT)
    # Only the intent classifier reads these: an entity annotation here would never be learnt.
    assert [text for _, _, text in found if strip_entities(text) != text] == []


def test_no_text_is_taught_as_two_intents() -> None:
    intents: dict[str, set[str]] = collections.defaultdict(set)
    for _, intent, text in examples(NLU):
        intents[strip_entities(text)].add(intent)
    assert {text: sorted(names) for text, names in intents.items() if len(names) > 1} == {}


def test_every_dispute_type_has_annotated_conversational_examples() -> None:
    counts = collections.Counter(intent for _, intent, _ in examples(NLU / "disputes"))
    assert {intent: counts[intent] for intent in BY_INTENT if counts[intent] < 60} == {}


def test_rasa_reads_nlu_data_without_the_questions() -> None:
    paths = rasa_data()
    assert "nlu_data/questions" not in paths
    assert "nlu_data/disputes" in paths and "nlu_data/lookups" in paths
    assert paths[-2:] == ["bot/stories", "bot/rules"]
