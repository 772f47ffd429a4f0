"""What decides whether the Rasa model must be retrained."""

from __future__ import annotations

from pathlib import Path

from sharedcourt.cli.procs import TRAINING_INPUTS, fingerprint


def make_tree(root: Path) -> None:
    for entry in TRAINING_INPUTS:
        path = root / entry
        if entry.endswith(".yml"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("recipe: default.v1\n", encoding="utf-8")
        else:
            path.mkdir(parents=True, exist_ok=True)
            (path / "a.yml").write_text(f"# {entry}\n", encoding="utf-8")


def test_custom_component_code_is_a_training_input(tmp_path: Path) -> None:
    make_tree(tmp_path)
    before = fingerprint(tmp_path)
    (tmp_path / "bot" / "components" / "ngram_classifier.py").write_text("C = 100\n", encoding="utf-8")
    assert fingerprint(tmp_path) != before


def test_bytecode_caches_do_not_force_a_retrain(tmp_path: Path) -> None:
    make_tree(tmp_path)
    before = fingerprint(tmp_path)
    cache = tmp_path / "bot" / "components" / "__pycache__"
    cache.mkdir()
    (cache / "ngram_classifier.cpython-310.pyc").write_bytes(b"\x00compiled")
    assert fingerprint(tmp_path) == before
