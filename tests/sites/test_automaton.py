"""The Aho-Corasick automaton finds every key, overlapping ones included, in one pass."""

from __future__ import annotations

from sharedcourt.sites.automaton import Automaton


def test_finds_overlapping_keys() -> None:
    auto = Automaton()
    for key in ("贺村", "贺村镇", "村镇", "江山"):
        auto.add(key)
    auto.build()
    assert sorted(auto.find("江山贺村镇")) == [(0, 2, "江山"), (2, 4, "贺村"), (2, 5, "贺村镇"), (3, 5, "村镇")]
    assert list(auto.find("柯城")) == []
