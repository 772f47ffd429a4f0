"""The project's own dev split: the hash rule, the examples read, the component's recipe refitted."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from sharedcourt.cli import heldout
from sharedcourt.cli.procs import RASA_PYTHON, ROOT


def test_the_split_rule_is_a_fixed_hash_of_the_text() -> None:
    texts = [f"老板欠我{i}块钱" for i in range(2000)]
    dev = [t for t in texts if heldout.is_dev(t)]
    assert 0.17 < len(dev) / len(texts) < 0.23  # one in five
    assert [heldout.is_dev(t) for t in texts[:50]] == [heldout.is_dev(t) for t in texts[:50]]
    # sha256("老板欠我0块钱") decides alone: the same answer whatever else the data holds.
    digest = hashlib.sha256(texts[0].encode("utf-8")).digest()
    assert heldout.is_dev(texts[0]) == (int.from_bytes(digest[:8], "big") % 5 == 0)


def test_examples_carry_their_intent_and_register(tmp_path: Path) -> None:
    (tmp_path / "questions").mkdir()
    (tmp_path / "general.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n      - 你好\n'
        "  - synonym: 江山市\n    examples: |\n      - 江山\n",
        encoding="utf-8",
    )
    (tmp_path / "questions" / "q.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: dispute_debt\n    examples: |\n      - 借了[两万](amount)不还怎么办\n',
        encoding="utf-8",
    )
    assert heldout.intent_examples(tmp_path) == [
        ("你好", "greet", ""),
        ("借了两万不还怎么办", "dispute_debt", "questions"),
    ]


def test_the_recipe_is_the_components_with_the_config_overrides(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(f"pipeline:\n  - name: {heldout.COMPONENT}\n    C: 10\n    extra_data: [x]\n", encoding="utf-8")
    assert heldout.recipe(config) == {**heldout.RECIPE_DEFAULTS, "C": 10}
    config.write_text("pipeline:\n  - name: DIETClassifier\n", encoding="utf-8")
    with pytest.raises(ValueError, match="NgramIntentClassifier"):
        heldout.recipe(config)


def test_the_recipe_defaults_are_the_components_defaults() -> None:
    if not RASA_PYTHON.exists():
        pytest.fail(f"{RASA_PYTHON} missing: run `make install` first")
    script = (
        "import json; from bot.components.ngram_classifier import NgramIntentClassifier as C; "
        "print(json.dumps(C.get_default_config()))"
    )
    done = subprocess.run([str(RASA_PYTHON), "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    defaults = json.loads(done.stdout.strip().splitlines()[-1])
    assert {k: defaults[k] for k in heldout.RECIPE_DEFAULTS} == heldout.RECIPE_DEFAULTS


def test_the_refitted_classifier_ranks_dispute_types_as_the_intake_reads_them() -> None:
    train = [(t, "dispute_labor") for t in ("老板拖欠工资", "公司不发工资", "工地欠我工钱", "辞退没有补偿")]
    train += [(t, "dispute_family") for t in ("老公要离婚", "离婚后抚养费", "父母遗产怎么分", "彩礼要回来")]
    train += [(t, "greet") for t in ("你好", "您好", "在吗", "早上好")]
    options = {**heldout.RECIPE_DEFAULTS, "min_df": 1}
    rankings = heldout.fit_and_rank(train, ["厂里欠了我三个月工资"], options)
    assert rankings[0][0][0] == "dispute_labor" and len(rankings[0]) == 3
    assert sum(c for _, c in rankings[0]) == pytest.approx(1.0)
    rows = heldout.scored_rows(["labor"], rankings)
    assert [code for code, _ in rows[0].ranked] == ["labor", "family"] and rows[0].right
