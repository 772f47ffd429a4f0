"""The knowledge base as the reviewed YAML files (`<code>.yml`, the shipped layout), console edits included, so
that an admin's edits can be reviewed and committed as data (`python -m sharedcourt.cli faq-export`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sharedcourt.faq.entries import FAQ_DIR, Entry

# Multi-line answers as literal blocks, as reviewers read and write them (a subclass keeps PyYAML's own untouched).
_Dumper: Any = type("_Dumper", (yaml.SafeDumper,), {})


def _text(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _raw(entry: Entry) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": entry.id,
        "dispute": entry.dispute,
        "questions": list(entry.questions),
        "answer": "\n\n".join(entry.paragraphs),
        "sources": list(entry.sources),
    }
    if entry.figures:
        raw["figures"] = entry.figures
    raw["checked"] = entry.checked
    return raw


def _header(code: str, shipped_dir: Path) -> str:
    """The shipped file's opening comment lines (what the file covers), kept as they are."""
    path = shipped_dir / f"{code}.yml"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines[: next((i for i, x in enumerate(lines) if not x.startswith("#")), 0)]]
    return "\n".join(kept) + "\n" if kept else f"# {code}: written by the project in its own words.\n"


def render(entries: Sequence[Entry], shipped_dir: Path = FAQ_DIR) -> dict[str, str]:
    """The text of each `<code>.yml` file, entries in the given order."""
    by_code: dict[str, list[Entry]] = {}
    for entry in entries:
        by_code.setdefault(entry.dispute, []).append(entry)
    files = {}
    for code, group in sorted(by_code.items()):
        body = yaml.dump(
            {"entries": [_raw(e) for e in group]}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000
        )
        files[f"{code}.yml"] = _header(code, shipped_dir) + body
    return files


def write(entries: Sequence[Entry], folder: Path) -> list[Path]:
    """Write the files into a folder (made if missing); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render(entries).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
