"""How well the knowledge base answers and declines: the evaluation set (eval/faq) and the dev split that
chooses the decline threshold (held-out paraphrases + data/faq_dev.yml)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from sharedcourt.data import DATA_DIR
from sharedcourt.errors import ConfigError
from sharedcourt.faq.answer import THRESHOLD, KnowledgeBase
from sharedcourt.faq.entries import Entry

DEV_FILE = DATA_DIR / "faq_dev.yml"
DECLINE_GOAL = 0.9
FOLDS = 4  # every entry has at least 4 paraphrases
SWEEP = [round(0.15 + 0.01 * i, 2) for i in range(76)]  # 0.15 … 0.90


@dataclass(frozen=True)
class EvalSet:
    """Questions with the entry that answers each, and questions to decline."""

    answerable: list[tuple[str, str]]
    decline: list[str]


@dataclass
class Report:
    """Right-entry-first and declined-correctly rates, with the misses for reading."""

    threshold: float
    right_first: int = 0
    answerable: int = 0
    declined: int = 0
    declines: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def right_first_rate(self) -> float:
        """Share of answerable questions whose answer is the right entry."""
        return self.right_first / self.answerable if self.answerable else 0.0

    @property
    def declined_rate(self) -> float:
        """Share of decline questions that were declined."""
        return self.declined / self.declines if self.declines else 0.0

    def as_json(self, entries: int) -> dict[str, Any]:
        """The figures as one JSON object."""
        return {
            "entries": entries,
            "answerable": self.answerable,
            "right_first": round(self.right_first_rate, 4),
            "decline": self.declines,
            "declined_correctly": round(self.declined_rate, 4),
            "threshold": self.threshold,
        }


def load_eval(path: Path, known_ids: set[str]) -> EvalSet:
    """The evaluation file; ConfigError listing every entry id it names that does not exist."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    answerable_raw = data.get("answerable") or {}
    decline = [str(q) for q in data.get("decline") or []]
    if not isinstance(answerable_raw, dict) or not answerable_raw or not decline:
        raise ConfigError(f"{path}: needs `answerable:` (entry id -> questions) and `decline:` (questions)")
    missing = sorted(set(answerable_raw) - known_ids)
    if missing:
        raise ConfigError(f"{path}: questions name entries that do not exist: {', '.join(missing)}")
    answerable = [(str(q), str(entry_id)) for entry_id, qs in answerable_raw.items() for q in qs or []]
    return EvalSet(answerable, decline)


def evaluate(kb: KnowledgeBase, data: EvalSet) -> Report:
    """Answer every question: right entry first (and not declined), and declined when it should be."""
    report = Report(threshold=kb.threshold, answerable=len(data.answerable), declines=len(data.decline))
    for question, expected in data.answerable:
        got = kb.answer(question)
        if got.entry is not None and got.entry.id == expected:
            report.right_first += 1
        else:
            report.misses.append(f"{question} -> {got.entry.id if got.entry else 'declined'} (want {expected})")
    for question in data.decline:
        got = kb.answer(question)
        if got.entry is None:
            report.declined += 1
        else:
            report.misses.append(f"{question} -> {got.entry.id} (want declined)")
    return report


def dev_split(entries: Sequence[Entry], fold: int) -> tuple[list[Entry], list[tuple[str, str]]]:
    """Entries without their paraphrase number `fold`, and those held-out paraphrases with their entry ids."""
    kept: list[Entry] = []
    held: list[tuple[str, str]] = []
    for entry in entries:
        n = fold % len(entry.questions)
        kept.append(replace(entry, questions=entry.questions[:n] + entry.questions[n + 1 :]))
        held.append((entry.questions[n], entry.id))
    return kept, held


def dev_declines(path: Path = DEV_FILE) -> list[str]:
    """The dev questions the knowledge base must decline."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(q) for q in data.get("decline") or []]


def choose_threshold(entries: Sequence[Entry], declines: Sequence[str]) -> tuple[float, list[Report]]:
    """The lowest threshold that declines at least DECLINE_GOAL of the dev declines (so answers the most).

    The positives are every entry's paraphrases held out in turn (FOLDS folds, each against the rest)."""
    reports = [Report(threshold=threshold) for threshold in SWEEP]
    for fold in range(FOLDS):
        kept, held = dev_split(entries, fold)
        kb = KnowledgeBase(kept, threshold=0.0)  # answer once per fold; the sweep only compares scores
        answers = [(kb.answer(q), expected) for q, expected in held]
        refusals = [kb.answer(q) for q in declines] if fold == 0 else []
        for total in reports:
            total.right_first += sum(
                1 for a, want in answers if a.entry is not None and a.score >= total.threshold and a.entry.id == want
            )
            total.answerable += len(answers)
            total.declined += sum(1 for a in refusals if a.entry is None or a.score < total.threshold)
            total.declines += len(refusals)
    # The goal is to decline at least 90 %: the lowest threshold that does so on dev answers most.
    good = [r.threshold for r in reports if r.declined_rate >= DECLINE_GOAL]
    chosen = good[0] if good else SWEEP[-1]
    return chosen, reports


def current_threshold() -> float:
    """The threshold the assistant uses (documented where it is set)."""
    return THRESHOLD
