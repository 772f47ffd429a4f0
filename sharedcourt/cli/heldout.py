"""The project's own dev set, and the thresholds chosen on it (`make tune-unsure`).

The shipped model is trained on every example under `nlu_data/`, so it cannot be judged on them. The dev set
is held out by a rule instead: an example whose text hashes (SHA-256, first 8 bytes, big-endian) to 0 modulo 5
is dev, the rest is train; identical texts always land on the same side, and the rule survives any edit of the
data. The intent classifier is refitted on the train side with the very recipe of
`bot/components/ngram_classifier.py` (the same features, regularisation and intents, options read from
`bot/config.yml`), the dev side's dispute examples are ranked as the intake ranks them, and the thresholds of
`sharedcourt.intake.classify.decide` are searched on them (`calibration.search`): the goals must hold on the
whole dev set and on each register alone (consultation questions, `nlu_data/questions/`, and the conversational
rest), so that no kind of message relies on the other to pass. The last output line is JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sharedcourt.cli import calibration
from sharedcourt.cli.evaluation import score, strip_entities
from sharedcourt.domain.disputes import BY_INTENT
from sharedcourt.intake.classify import Thresholds, default_thresholds

FOLDS = 5  # one example in five is dev
COMPONENT = "bot.components.ngram_classifier.NgramIntentClassifier"
# The component's defaults (NgramIntentClassifier.get_default_config; a test keeps the two equal).
RECIPE_DEFAULTS: dict[str, Any] = {"min_ngram": 1, "max_ngram": 3, "min_df": 2, "C": 100.0, "max_iter": 3000}


def is_dev(text: str) -> bool:
    """The split rule: the text's SHA-256 (first 8 bytes) is 0 modulo FOLDS."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % FOLDS == 0


def intent_examples(nlu_dir: Path) -> list[tuple[str, str, str]]:
    """(text, intent, register) of every intent example in the Rasa NLU YAML under `nlu_dir`, entities
    stripped; the register is the first folder under `nlu_dir` ("questions") or "" for its own files."""
    import yaml  # local: only the evaluation needs it

    found: list[tuple[str, str, str]] = []
    for path in sorted(nlu_dir.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parts = path.relative_to(nlu_dir).parts
        register = parts[0] if len(parts) > 1 else ""
        for block in document.get("nlu") or []:
            if not isinstance(block, dict) or not block.get("intent"):
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- ") and (text := strip_entities(line[2:].strip())):
                    found.append((text, str(block["intent"]), register))
    return found


def recipe(config: Path) -> dict[str, Any]:
    """The component's options: its defaults, overridden by its entry in `bot/config.yml`."""
    import yaml

    pipeline = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("pipeline") or []
    entry = next((c for c in pipeline if isinstance(c, dict) and c.get("name") == COMPONENT), None)
    if entry is None:
        raise ValueError(f"{config}: no {COMPONENT} in the pipeline")
    return {**RECIPE_DEFAULTS, **{k: v for k, v in entry.items() if k in RECIPE_DEFAULTS}}


def fit_and_rank(
    train: Sequence[tuple[str, str]], texts: Sequence[str], options: dict[str, Any]
) -> list[list[tuple[str, float]]]:
    """Fit the component's pipeline on (text, intent) pairs; every intent ranked for each text, best first."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        TfidfVectorizer(
            analyzer="char",
            ngram_range=(int(options["min_ngram"]), int(options["max_ngram"])),
            sublinear_tf=True,
            min_df=int(options["min_df"]),
        ),
        LogisticRegression(C=float(options["C"]), max_iter=int(options["max_iter"])),
    )
    pipeline.fit([t for t, _ in train], [i for _, i in train])
    names = [str(c) for c in pipeline.classes_]
    return [
        sorted(zip(names, (float(p) for p in row), strict=True), key=lambda kv: -kv[1])
        for row in pipeline.predict_proba(list(texts))
    ]


def scored_rows(golds: Sequence[str], rankings: Sequence[Sequence[tuple[str, float]]]) -> list[calibration.Scored]:
    """Intent rankings as the intake reads them: the dispute types only, with their confidences."""
    rows = []
    for gold, ranking in zip(golds, rankings, strict=True):
        items = [{"name": name, "confidence": conf} for name, conf in ranking]
        rows.append(calibration.scored(gold, {"intent": items[0] if items else None, "intent_ranking": items}))
    return rows


@dataclass(frozen=True)
class Dev:
    """The dev side ranked by the refitted classifier, split by register, and the train side's size."""

    rows: list[calibration.Scored]
    questions: list[calibration.Scored]  # from nlu_data/questions/
    conversational: list[calibration.Scored]  # the rest
    train_size: int


def dev_rows(nlu_dir: Path, config: Path) -> Dev:
    """The dev side's dispute examples, ranked by the classifier refitted on the train side."""
    examples = intent_examples(nlu_dir)
    train = [(t, i) for t, i, _ in examples if not is_dev(t)]
    dev = {t: (BY_INTENT[i].code, r) for t, i, r in examples if is_dev(t) and i in BY_INTENT}
    rankings = fit_and_rank(train, list(dev), recipe(config))
    rows = scored_rows([c for c, _ in dev.values()], rankings)
    questions = [row for row, (_, r) in zip(rows, dev.values(), strict=True) if r == "questions"]
    conversational = [row for row, (_, r) in zip(rows, dev.values(), strict=True) if r != "questions"]
    return Dev(rows, questions, conversational, len(train))


def _show(dev: Dev, thresholds: Thresholds) -> None:
    for name, rows in (("all", dev.rows), ("questions", dev.questions), ("conversational", dev.conversational)):
        print(f"\n{name} (n={len(rows)}):\n{calibration.report_text(rows, thresholds)}")


def main(argv: Sequence[str] | None = None) -> int:
    """`tune-unsure`: figures on the held-out dev split, the best thresholds found; JSON on the last line."""
    parser = argparse.ArgumentParser(prog="tune-unsure", description="Choose the intake's thresholds on dev data.")
    parser.add_argument("--nlu-data", default="nlu_data")
    parser.add_argument("--config", default="bot/config.yml")
    args = parser.parse_args(list(argv) if argv is not None else None)

    started = time.monotonic()
    dev = dev_rows(Path(args.nlu_data), Path(args.config))
    rows = dev.rows
    report = score([r.gold for r in rows], [r.ranked[0][0] if r.ranked else "(none)" for r in rows], name="dev")
    print(f"trained on {dev.train_size} examples, {len(rows)} dev dispute examples, {time.monotonic() - started:.0f} s")
    print(report.to_text())
    shipped = default_thresholds()
    print("\nwith the shipped thresholds:")
    _show(dev, shipped)
    found = calibration.search(rows, (dev.questions, dev.conversational))
    print("\nbest thresholds meeting the goals on all dev rows and on each register (fewest asked):")
    for d in found[:5]:
        t = d.thresholds
        print(
            f"  confident {t.confident:.2f} margin {t.margin:.2f} choices {t.choices}: asked {d.asked:.3f} "
            f"coverage {d.coverage:.3f} confident wrong {d.confident_wrong:.3f}"
        )
    if not found:
        print("  none on the grid meets the goals")
    best = found[0].thresholds if found else None
    summary = {**report.summary(), **calibration.summary(rows, shipped), "train": dev.train_size}
    summary["best"] = None if best is None else [best.confident, best.margin, best.choices]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
