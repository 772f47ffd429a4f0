"""The facts each dispute type needs, the questions, and the intake's slots."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sharedcourt.domain.disputes import CODES, DISPUTE_TYPES
from sharedcourt.intake.facts import FACTS, TYPE_SLOTS, all_slot_names, needed_facts, required_slots


def test_every_mediable_type_needs_the_common_facts_and_others_none() -> None:
    for dispute in DISPUTE_TYPES:
        facts = needed_facts(dispute.code)
        if not dispute.mediable:
            assert facts == [], dispute.code
            continue
        for key in ("what_happened", "incident_date", "place_code", "desired_outcome", "steps_taken", "evidence"):
            assert key in facts, (dispute.code, key)
        assert facts[-1] == "phone"
        assert ("party" in facts) != ("employer" in facts)
        assert len(facts) == len(set(facts))


@pytest.mark.parametrize(
    ("code", "specific"),
    [
        ("labor", ["employer", "months_unpaid", "amount_yuan"]),
        ("traffic", ["injuries", "accident_report", "insurance"]),
        ("family", ["children"]),
        ("property_mgmt", ["estate_name", "households"]),
        ("debt", ["iou", "due_date", "amount_yuan"]),
        ("enforcement", ["judgment_court", "judgment_case_number"]),
    ],
)
def test_type_specific_facts(code: str, specific: list[str]) -> None:
    facts = needed_facts(code)
    assert all(key in facts for key in specific), facts


def test_family_and_neighbour_disputes_are_not_asked_for_an_amount() -> None:
    assert "amount_yuan" not in needed_facts("family")
    assert "amount_yuan" not in needed_facts("neighbor")


def test_required_slots_grow_once_the_type_is_confirmed() -> None:
    assert required_slots({}) == ["dispute_code", "type_confirmed"]
    assert required_slots({"dispute_code": "labor"}) == ["dispute_code", "type_confirmed"]
    full = required_slots({"dispute_code": "labor", "type_confirmed": True})
    assert full[:2] == ["dispute_code", "type_confirmed"] and full[-1] == "summary_confirmed"
    assert required_slots({"dispute_code": "criminal", "type_confirmed": True}) == [
        "dispute_code",
        "type_confirmed",
    ]


def test_every_question_is_chinese_and_every_slot_is_in_the_domain(repo_root: Path) -> None:
    for fact in FACTS:
        for code in CODES:
            assert "？" in fact.question_for(code) or "。" in fact.question_for(code)
    domain = yaml.safe_load((repo_root / "bot/domain/intake.yml").read_text(encoding="utf-8"))
    assert set(domain["slots"]) == set(all_slot_names())
    asks = {a for a in domain["actions"] if a.startswith("action_ask_")}
    assert asks == {f"action_ask_{s}" for s in (*TYPE_SLOTS, *(f.key for f in FACTS), "summary_confirmed")}
    intents = set(domain["intents"])
    assert {d.intent for d in DISPUTE_TYPES} <= intents
    assert {"inform", "emergency", "none_of_these", "start_mediation"} <= intents
