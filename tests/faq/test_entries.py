"""The knowledge base's data contract: the shipped files load, and every kind of bad entry is refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.errors import ConfigError
from sharedcourt.faq.entries import FAQ_DIR, load, paragraphs_of, shipped

GOOD: dict[str, Any] = {
    "id": "t-labor-wages",
    "dispute": "labor",
    "questions": ["拖欠工资怎么办", "老板不发工资", "工资拿不到去哪投诉", "欠薪怎么维权"],
    "answer": "第一段。\n\n第二段。",
    "sources": ["《中华人民共和国劳动合同法》第三十条"],
    "checked": "2026-12-03",
}


def write(folder: Path, code: str, *entries: dict[str, Any]) -> None:
    text = yaml.safe_dump({"entries": list(entries)}, allow_unicode=True)
    # safe_dump quotes the date string; the contract's files hold a bare YAML date.
    (folder / f"{code}.yml").write_text(text.replace("'2026-12-03'", "2026-12-03"), encoding="utf-8")


def refusal(folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load(folder)
    return str(caught.value)


def test_the_shipped_knowledge_base_is_valid() -> None:
    entries = shipped()
    assert entries and all(e.dispute in BY_CODE for e in entries)
    assert {p.stem for p in FAQ_DIR.glob("*.yml")} <= set(BY_CODE)
    assert len({e.id for e in entries}) == len(entries)


def test_a_good_entry_loads_with_its_two_paragraphs(tmp_path: Path) -> None:
    write(tmp_path, "labor", GOOD)
    (entry,) = load(tmp_path)
    assert entry.paragraphs == ("第一段。", "第二段。") and entry.checked.isoformat() == "2026-12-03"
    assert entry.file == "labor.yml"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dispute": "weather"}, "unknown dispute code 'weather'"),
        ({"dispute": "debt"}, "dispute 'debt' in the file of 'labor'"),
        ({"questions": ["一", "二", "三"]}, "needs 4-16 different paraphrases"),
        ({"questions": ["一", "一", "二", "三"]}, "needs 4-16 different paraphrases"),
        ({"answer": "一。\n\n二。\n\n三。"}, "answer has 3 paragraphs"),
        ({"answer": "长" * 301}, "answer paragraph 1 has 301 characters"),
        ({"sources": ["劳动合同法第三十条"]}, "does not name a law in 《》"),
        ({"sources": []}, "no sources"),
        ({"checked": "last week"}, "checked must be a date"),
        ({"checked": None}, "checked must be a date"),
        ({"id": "Bad Id"}, "id must be kebab-case ASCII"),
    ],
)
def test_each_bad_entry_is_refused_naming_file_and_id(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    write(tmp_path, "labor", {**GOOD, **change})
    text = refusal(tmp_path)
    assert message in text and "labor.yml" in text


def test_a_duplicate_id_across_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "labor", GOOD)
    write(tmp_path, "debt", {**GOOD, "dispute": "debt"})
    assert "labor.yml t-labor-wages: duplicate id (also in debt.yml)" in refusal(tmp_path)


def test_every_bad_entry_is_listed_not_only_the_first(tmp_path: Path) -> None:
    write(tmp_path, "labor", {**GOOD, "id": "a-one", "sources": ["x"]}, {**GOOD, "id": "a-two", "checked": "x"})
    text = refusal(tmp_path)
    assert "labor.yml a-one" in text and "labor.yml a-two" in text and text.startswith("2 problem(s)")


def test_a_file_named_after_no_dispute_code_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "weather", GOOD)
    assert "weather.yml: file named after no dispute code" in refusal(tmp_path)


def test_paragraphs_are_split_on_blank_lines_only() -> None:
    assert paragraphs_of("一行\n接着\n\n  第二段 ") == ["一行 接着", "第二段"]


def test_every_dispute_type_has_entries_and_the_base_keeps_at_least_300() -> None:
    per_type = {code: sum(1 for e in shipped() if e.dispute == code) for code in BY_CODE}
    assert len(shipped()) >= 300
    assert not [code for code, n in per_type.items() if n == 0]


def test_merged_twins_are_gone_and_no_two_entries_share_a_paraphrase() -> None:
    ids = {e.id for e in shipped()}
    # Merged into injury-compensation-items, injury-dog-bite, rland-women-land-rights (docs/FAQ.md lists them all).
    assert not {"seed-traffic-compensation-items", "neighbor-dog-bite", "rland-married-women-land"} & ids
    assert {"injury-compensation-items", "injury-dog-bite", "rland-women-land-rights"} <= ids
    owners: dict[str, str] = {}
    shared = [q for e in shipped() for q in e.questions if owners.setdefault(q, e.id) != e.id]
    assert shared == []
