"""The knowledge base's entries: load every `data/faq/<code>.yml` and refuse bad ones (docs/FAQ.md has the rules)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sharedcourt.data import DATA_DIR
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.errors import ConfigError

FAQ_DIR = DATA_DIR / "faq"
MIN_QUESTIONS, MAX_QUESTIONS = 4, 16  # merged twins keep the union of their paraphrases
MAX_PARAGRAPHS = 2  # one WeChat message per paragraph
MAX_PARAGRAPH_CHARS = 300
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SOURCE = re.compile(r"^《[^《》]+》\S*$")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Entry:
    """One question family: its paraphrases, the answer, the sources and when it was last checked."""

    id: str
    dispute: str
    questions: tuple[str, ...]
    paragraphs: tuple[str, ...]
    sources: tuple[str, ...]
    checked: dt.date
    figures: str | None = None
    file: str = ""


def paragraphs_of(answer: str) -> list[str]:
    """The answer's paragraphs (separated by a blank line), each stripped and on one line."""
    parts = [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(answer.strip())]
    return [p for p in parts if p]


def _text_list(raw: Any) -> list[str] | None:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        return None
    return [x.strip() for x in raw]


def _problems(raw: Mapping[str, Any], code: str) -> list[str]:
    """What is wrong with one entry (empty when it is good)."""
    problems: list[str] = []
    dispute = raw.get("dispute")
    if dispute not in BY_CODE:
        problems.append(f"unknown dispute code {dispute!r}")
    elif dispute != code:
        problems.append(f"dispute {dispute!r} in the file of {code!r}")
    questions = _text_list(raw.get("questions"))
    if questions is None or not MIN_QUESTIONS <= len(set(questions)) <= MAX_QUESTIONS:
        problems.append(f"needs {MIN_QUESTIONS}-{MAX_QUESTIONS} different paraphrases")
    answer = raw.get("answer")
    paragraphs = paragraphs_of(answer) if isinstance(answer, str) else []
    if not paragraphs:
        problems.append("no answer")
    if len(paragraphs) > MAX_PARAGRAPHS:
        problems.append(f"answer has {len(paragraphs)} paragraphs (at most {MAX_PARAGRAPHS})")
    problems += [
        f"answer paragraph {i} has {len(p)} characters (at most {MAX_PARAGRAPH_CHARS})"
        for i, p in enumerate(paragraphs, 1)
        if len(p) > MAX_PARAGRAPH_CHARS
    ]
    sources = _text_list(raw.get("sources"))
    if not sources:
        problems.append("no sources")
    else:
        problems += [f"source {s!r} does not name a law in 《》" for s in sources if not _SOURCE.match(s)]
    if not isinstance(raw.get("checked"), dt.date) or isinstance(raw.get("checked"), dt.datetime):
        problems.append(f"checked must be a date (YYYY-MM-DD), got {raw.get('checked')!r}")
    figures = raw.get("figures")
    if figures is not None and not (isinstance(figures, str) and figures.strip()):
        problems.append("figures must be a text when present")
    return problems


def _entry(raw: Mapping[str, Any], file: str) -> Entry:
    return Entry(
        id=str(raw["id"]),
        dispute=str(raw["dispute"]),
        questions=tuple(dict.fromkeys(_text_list(raw["questions"]) or [])),
        paragraphs=tuple(paragraphs_of(str(raw["answer"]))),
        sources=tuple(_text_list(raw["sources"]) or []),
        checked=raw["checked"],
        figures=str(raw["figures"]).strip() if raw.get("figures") else None,
        file=file,
    )


def _read(path: Path) -> tuple[list[Mapping[str, Any]], list[str]]:
    """The raw entries of one file, or why the file itself cannot be read."""
    code = path.stem
    if code not in BY_CODE:
        return [], [f"{path.name}: file named after no dispute code"]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [], [f"{path.name}: not valid YAML ({exc})"]
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return [], [f"{path.name}: needs a list `entries:` of mappings"]
    return entries, []


def parse(files: Sequence[Path]) -> list[Entry]:
    """Every entry of these files; ConfigError listing every bad entry (file and id) when any is bad."""
    errors: list[str] = []
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for path in files:
        raws, file_errors = _read(path)
        errors += file_errors
        for n, raw in enumerate(raws, 1):
            entry_id = raw.get("id")
            label = f"{path.name} {entry_id or f'entry #{n}'}"
            problems = _problems(raw, path.stem)
            if not isinstance(entry_id, str) or not _ID.match(entry_id):
                problems.insert(0, "id must be kebab-case ASCII")
            elif entry_id in seen:
                problems.insert(0, f"duplicate id (also in {seen[entry_id]})")
            else:
                seen[entry_id] = path.name
            errors += [f"{label}: {p}" for p in problems]
            if not problems:
                entries.append(_entry(raw, path.name))
    if errors:
        raise ConfigError(f"{len(errors)} problem(s) in the 普法 knowledge base:\n" + "\n".join(errors))
    return entries


def load(folder: Path = FAQ_DIR) -> list[Entry]:
    """Every entry of a folder of `<code>.yml` files, validated."""
    return parse(sorted(folder.glob("*.yml")))


@functools.lru_cache(maxsize=1)
def shipped() -> tuple[Entry, ...]:
    """The entries shipped with the package (read once per process)."""
    return tuple(load())
