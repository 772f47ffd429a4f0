"""The Aho-Corasick automaton finds every key, overlapping ones included, in one pass."""

from __future__ import annotations

from sharedcourt.sites.automaton import Automaton, outermost


def test_finds_overlapping_keys() -> None:
    auto = Automaton()
    for key in ("贺村", "贺村镇", "村镇", "江山"):
        auto.add(key)
    auto.build()
    assert sorted(auto.find("江山贺村镇")) == [(0, 2, "江山"), (2, 4, "贺村"), (2, 5, "贺村镇"), (3, 5, "村镇")]
    assert list(auto.find("柯城")) == []


def test_outermost_keeps_inner_spans_only_where_a_splitter_straddles() -> None:
    # "永康西村": 永康 [0,2) straddles 康西村 [1,4), so 西村 [2,4) stays a reading; 杜泽 inside 杜泽镇 does not.
    spans = [(0, 2, "永康"), (1, 4, "康西村"), (2, 4, "西村")]
    assert sorted(outermost(list(spans), [(0, 2, "永康")])) == spans
    assert sorted(outermost(list(spans), [])) == [(0, 2, "永康"), (1, 4, "康西村")]
    assert outermost([(0, 3, "杜泽镇"), (0, 2, "杜泽")], []) == [(0, 3, "杜泽镇")]
