"""Dispute-type classification evaluation: metrics, a TF-IDF baseline and the `eval-nlu` command.

`eval-nlu` sends every text of a `text,code` CSV to Rasa's `/model/parse`, maps the parse to one of the
19 dispute codes (the highest-ranked `dispute_*` intent, whatever the top intent is), trains a
TF-IDF + logistic-regression baseline on the SAME training data (nlu_data, dispute intents only) and
prints both reports side by side, then Rasa's top-3 coverage, calibration and ask-or-answer figures at the given
thresholds (`sharedcourt.cli.calibration`). Its last output line is a single JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sharedcourt.cli import calibration
from sharedcourt.domain.disputes import BY_INTENT, CODES

NO_CODE = "(none)"  # what a predictor returns when it has no dispute type at all
DEFAULT_PNG = Path("results/nlu_confusion.png")
DEFAULT_NLU_DATA = Path("nlu_data")

_ENTITY_RE = re.compile(r"\[([^\]]+)\](?:\([^)]*\)(?:\{[^}]*\})?|\{[^}]*\})")


@dataclass(frozen=True)
class Row:
    """One labelled example: a resident's text and its gold dispute code."""

    text: str
    code: str


@dataclass(frozen=True)
class SkippedRow:
    """A CSV line left out of the evaluation, and why."""

    line: int  # 1-based line of the CSV file (header is line 1)
    code: str
    reason: str


@dataclass(frozen=True)
class TypeScore:
    """Precision, recall and F1 of one dispute type."""

    code: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Report:
    """Scores of one predictor on one data set, with its confusion matrix and misclassified rows."""

    n: int
    accuracy: float
    macro_f1: float  # macro over the types present in the gold data
    per_type: dict[str, TypeScore]
    labels: list[str]  # row/column order of `confusion`
    confusion: list[list[int]]  # confusion[gold_index][predicted_index]
    name: str = "model"
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (text, gold, predicted)

    def to_text(self) -> str:
        """The per-type table as plain text."""
        lines = [f"{self.name}: n={self.n} accuracy={self.accuracy:.3f} macro_f1={self.macro_f1:.3f}"]
        lines.append(f"{'type':<18}{'prec':>7}{'rec':>7}{'f1':>7}{'support':>9}")
        for code in self.labels:
            score = self.per_type.get(code)
            if score is None:
                continue
            lines.append(f"{code:<18}{score.precision:>7.3f}{score.recall:>7.3f}{score.f1:>7.3f}{score.support:>9d}")
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        """The headline figures (n, accuracy, macro-F1), rounded."""
        return {"n": self.n, "accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4)}


# ---------------------------------------------------------------------------------------------------------
# Data


def load_csv(path: str | os.PathLike[str]) -> tuple[list[Row], list[SkippedRow]]:
    """Read a CSV with (at least) columns `text,code`; rows with an unknown code are skipped and reported."""
    rows: list[Row] = []
    skipped: list[SkippedRow] = []
    valid = set(CODES)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = set(reader.fieldnames or [])
        if not {"text", "code"} <= fields:
            raise ValueError(f"{path}: needs columns text,code (has {sorted(fields)})")
        for index, record in enumerate(reader, start=2):
            text = (record.get("text") or "").strip()
            code = (record.get("code") or "").strip()
            if code not in valid:
                skipped.append(SkippedRow(index, code, "unknown code"))
                continue
            if not text:
                skipped.append(SkippedRow(index, code, "empty text"))
                continue
            rows.append(Row(text, code))
    return rows, skipped


def strip_entities(example: str) -> str:
    """'老板欠我[两万](amount)' -> '老板欠我两万'; also the `[x]{"entity": ...}` form."""
    return _ENTITY_RE.sub(r"\1", example)


def load_training_data(nlu_dir: str | os.PathLike[str] = DEFAULT_NLU_DATA) -> tuple[list[str], list[str]]:
    """Texts and codes of every `dispute_*` example in the Rasa NLU YAML files under `nlu_dir`."""
    import yaml  # local: only the evaluation needs it

    texts: list[str] = []
    codes: list[str] = []
    for path in sorted(Path(nlu_dir).rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in document.get("nlu") or []:
            if not isinstance(block, dict):
                continue
            dispute = BY_INTENT.get(str(block.get("intent", "")))
            if dispute is None:
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if not line.startswith("- "):
                    continue
                text = strip_entities(line[2:].strip())
                if text:
                    texts.append(text)
                    codes.append(dispute.code)
    return texts, codes


# ---------------------------------------------------------------------------------------------------------
# Metrics


def _safe_div(a: float, b: float) -> float:
    return a / b if b else 0.0


def evaluate(rows: Sequence[Row], predict: Callable[[str], str | None], name: str = "model") -> Report:
    """Run `predict` on every row and score it against the gold codes."""
    golds = [row.code for row in rows]
    preds = [predict(row.text) or NO_CODE for row in rows]
    return score(golds, preds, name=name, texts=[row.text for row in rows])


def score(
    golds: Sequence[str], preds: Sequence[str], *, name: str = "model", texts: Sequence[str] | None = None
) -> Report:
    """Score predicted codes against gold codes: per-type scores, accuracy, macro-F1 and the confusion matrix."""
    if len(golds) != len(preds):
        raise ValueError("golds and preds differ in length")
    n = len(golds)
    present = set(golds) | set(preds)
    labels = [c for c in CODES if c in present] + sorted(present - set(CODES))
    index = {code: i for i, code in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for gold, pred in zip(golds, preds, strict=True):
        confusion[index[gold]][index[pred]] += 1

    per_type: dict[str, TypeScore] = {}
    for code, i in index.items():
        tp = confusion[i][i]
        predicted = sum(row[i] for row in confusion)
        support = sum(confusion[i])
        precision = _safe_div(tp, predicted)
        recall = _safe_div(tp, support)
        f1 = _safe_div(2 * precision * recall, precision + recall)
        per_type[code] = TypeScore(code, precision, recall, f1, support)

    gold_types = sorted(set(golds))
    macro_f1 = _safe_div(sum(per_type[c].f1 for c in gold_types), len(gold_types))
    accuracy = _safe_div(sum(1 for g, p in zip(golds, preds, strict=True) if g == p), n)
    errors = [(t, g, p) for t, g, p in zip(texts or [""] * n, golds, preds, strict=True) if g != p]
    return Report(n, accuracy, macro_f1, per_type, labels, confusion, name=name, errors=errors)


def side_by_side(left: Report, right: Report) -> str:
    """Per-type table of two reports on the same rows."""
    header = f"{'type':<18}{'support':>8} | {left.name[:22]:^24} | {right.name[:22]:^24}"
    sub = f"{'':<18}{'':>8} | {'prec   rec    f1':^24} | {'prec   rec    f1':^24}"
    lines = [header, sub, "-" * len(header)]
    labels = [c for c in CODES if c in left.per_type or c in right.per_type]
    empty = TypeScore("", 0.0, 0.0, 0.0, 0)
    for code in labels:
        a = left.per_type.get(code, empty)
        b = right.per_type.get(code, empty)
        support = max(a.support, b.support)
        lines.append(
            f"{code:<18}{support:>8} | {a.precision:6.3f} {a.recall:6.3f} {a.f1:6.3f}   "
            f"| {b.precision:6.3f} {b.recall:6.3f} {b.f1:6.3f}"
        )
    lines.append("-" * len(header))
    lines.append(f"{'accuracy':<26} | {left.accuracy:^24.3f} | {right.accuracy:^24.3f}")
    lines.append(f"{'macro-F1':<26} | {left.macro_f1:^24.3f} | {right.macro_f1:^24.3f}")
    return "\n".join(lines)


def save_confusion_png(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write the confusion matrix (rows: gold, columns: predicted) as a PNG; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    size = max(6.0, 0.45 * len(report.labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    try:
        ax.imshow(report.confusion, cmap="Blues")
        ticks = range(len(report.labels))
        ax.set_xticks(list(ticks), labels=report.labels, rotation=90, fontsize=8)
        ax.set_yticks(list(ticks), labels=report.labels, fontsize=8)
        peak = max((max(row) for row in report.confusion), default=0)
        for i, row in enumerate(report.confusion):
            for j, value in enumerate(row):
                if value:
                    colour = "white" if value > peak / 2 else "black"
                    ax.text(j, i, str(value), ha="center", va="center", fontsize=7, color=colour)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(f"{report.name}: acc {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f} (n={report.n})")
        fig.tight_layout()
        fig.savefig(out, dpi=120)
    finally:
        plt.close(fig)
    return out


# ---------------------------------------------------------------------------------------------------------
# Baseline


class Baseline:
    """TF-IDF over character 1-3-grams + logistic regression."""

    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline

    def __call__(self, text: str) -> str:
        """The predicted dispute code of one text."""
        return str(self._pipeline.predict([text])[0])

    def predict_many(self, texts: Iterable[str]) -> list[str]:
        """The predicted dispute codes of many texts, in order."""
        return [str(code) for code in self._pipeline.predict(list(texts))]


def train_baseline(texts: Sequence[str], codes: Sequence[str]) -> Baseline:
    """Fit the TF-IDF + logistic-regression baseline on labelled texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    if len(set(codes)) < 2:
        raise ValueError("the baseline needs at least two dispute types")
    pipeline = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    pipeline.fit(list(texts), list(codes))
    return Baseline(pipeline)


# ---------------------------------------------------------------------------------------------------------
# Rasa


def code_from_parse(parse_result: dict[str, Any]) -> tuple[str | None, float]:
    """The highest-ranked `dispute_*` intent of a /model/parse result, as (code, confidence).

    The top intent may be a general one (`inform`, `nlu_fallback`); the ranking still says which dispute
    type fits best. Returns (None, 0.0) when no dispute intent appears at all.
    """
    candidates: list[dict[str, Any]] = list(parse_result.get("intent_ranking") or [])
    top = parse_result.get("intent")
    if isinstance(top, dict):
        candidates.append(top)
    best: tuple[str | None, float] = (None, 0.0)
    for item in candidates:
        dispute = BY_INTENT.get(str(item.get("name") or ""))
        if dispute is None:
            continue
        confidence = float(item.get("confidence") or 0.0)
        if best[0] is None or confidence > best[1]:
            best = (dispute.code, confidence)
    return best


async def _parse_all(rasa_url: str, jwt_secret: str, texts: Sequence[str], concurrency: int) -> list[dict[str, Any]]:
    from sharedcourt.clients.rasa import RasaClient

    client = RasaClient(rasa_url, jwt_secret, timeout=60.0)
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(text: str) -> dict[str, Any]:
        async with semaphore:
            return await client.parse(text)

    try:
        return list(await asyncio.gather(*(one(text) for text in texts)))
    finally:
        await client.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    """`eval-nlu`: Rasa against the baseline on one CSV; the last output line is the JSON summary."""
    parser = argparse.ArgumentParser(prog="eval-nlu", description="Evaluate dispute-type classification.")
    parser.add_argument("--data", required=True, help="CSV with columns text,code")
    parser.add_argument("--rasa-url", required=True)
    parser.add_argument("--jwt-secret", required=True, help="RASA_JWT_SECRET: signs the bearer token for /model/parse")
    parser.add_argument("--nlu-data", default=str(DEFAULT_NLU_DATA), help="training data for the baseline")
    parser.add_argument("--png", default=str(DEFAULT_PNG), help="confusion-matrix image for Rasa")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--errors", action="store_true", help="list Rasa's misclassified rows")
    parser.add_argument("--confident", type=float, help="CLASSIFY_CONFIDENT (default: the setting's default)")
    parser.add_argument("--margin", type=float, help="CLASSIFY_MARGIN")
    parser.add_argument("--choices", type=int, help="CLASSIFY_CHOICES")
    args = parser.parse_args(list(argv) if argv is not None else None)

    rows, skipped = load_csv(args.data)
    for skip in skipped:
        print(f"skipped line {skip.line}: {skip.reason} {skip.code!r}", file=sys.stderr)
    if not rows:
        print("no rows to evaluate", file=sys.stderr)
        return 2

    parses = asyncio.run(_parse_all(args.rasa_url, args.jwt_secret, [row.text for row in rows], args.concurrency))
    predicted = {row.text: code_from_parse(parse)[0] for row, parse in zip(rows, parses, strict=True)}
    rasa_report = evaluate(rows, lambda text: predicted[text], name="rasa")

    texts, codes = load_training_data(args.nlu_data)
    baseline = train_baseline(texts, codes)
    baseline_report = evaluate(rows, baseline, name="baseline tfidf+lr")

    print(f"{len(rows)} rows evaluated, {len(skipped)} skipped; baseline trained on {len(texts)} examples")
    print(side_by_side(rasa_report, baseline_report))
    if args.errors:
        for text, gold, pred in rasa_report.errors:
            print(f"  gold={gold:<16} pred={pred:<16} {text}")
    png = save_confusion_png(rasa_report, args.png)
    print(f"confusion matrix: {png}")
    scored = [calibration.scored(row.code, parse) for row, parse in zip(rows, parses, strict=True)]
    thresholds = calibration.thresholds(args.confident, args.margin, args.choices)
    print(f"\nrasa, knowing when it is unsure:\n{calibration.report_text(scored, thresholds)}")
    summary = {
        "n": rasa_report.n,
        "accuracy": round(rasa_report.accuracy, 4),
        "macro_f1": round(rasa_report.macro_f1, 4),
        "baseline_accuracy": round(baseline_report.accuracy, 4),
        "baseline_macro_f1": round(baseline_report.macro_f1, 4),
        **calibration.summary(scored, thresholds),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
