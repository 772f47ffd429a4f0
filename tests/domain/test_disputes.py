"""The dispute types: one source for every name a resident reads."""

from __future__ import annotations

import re

from sharedcourt.domain.disputes import BY_CODE, BY_INTENT, CODES, DISPUTE_TYPES, from_intent


def test_nineteen_types_each_with_its_intent() -> None:
    assert len(CODES) == len(set(CODES)) == 19
    assert all(BY_INTENT[d.intent] is d and from_intent(d.intent) is d for d in DISPUTE_TYPES)
    assert from_intent("greet") is None


def test_choice_and_read_back_fall_back_to_the_label() -> None:
    assert BY_CODE["medical"].choice_label == "医疗纠纷" == BY_CODE["medical"].understood_label
    assert BY_CODE["traffic"].choice_label == "交通事故"
    assert BY_CODE["debt"].understood_label == "民间借贷（借钱欠钱）纠纷"


def test_sub_cases_are_valid_patterns_and_only_types_that_cannot_be_mediated_redirect() -> None:
    for dispute in DISPUTE_TYPES:
        for pattern, label in dispute.sub_cases:
            re.compile(pattern)
            assert label.endswith(("纠纷", "争议")), label
        assert bool(dispute.redirect) == (not dispute.mediable), dispute.code
