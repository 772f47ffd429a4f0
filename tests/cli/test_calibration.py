"""Top-k coverage, calibration error, the reliability table and the ask-or-answer figures on hand-made rows."""

from __future__ import annotations

import pytest

from sharedcourt.cli import calibration
from sharedcourt.cli.calibration import Scored
from sharedcourt.intake.classify import Thresholds

A = Scored("labor", (("labor", 0.95),))  # right, bin 0.9-1.0
B = Scored("debt", (("finance", 0.85), ("debt", 0.1)))  # wrong, bin 0.8-0.9
C = Scored("family", (("family", 0.82),))  # right, bin 0.8-0.9
D = Scored("traffic", (("criminal", 0.3), ("personal_injury", 0.25), ("traffic", 0.2)))  # wrong, third
E = Scored("neighbor", ())  # no dispute type at all: confidence 0
ROWS = [A, B, C, D, E]


def test_top_k_coverage() -> None:
    assert calibration.top_k_coverage(ROWS, 1) == pytest.approx(2 / 5)
    assert calibration.top_k_coverage(ROWS, 2) == pytest.approx(3 / 5)
    assert calibration.top_k_coverage(ROWS, 3) == pytest.approx(4 / 5)
    assert calibration.top_k_coverage([], 3) == 0.0


def test_reliability_table_puts_each_row_in_its_bin() -> None:
    table = calibration.reliability(ROWS)
    assert [b.n for b in table] == [1, 0, 0, 1, 0, 0, 0, 0, 2, 1]
    assert table[8].confidence == pytest.approx(0.835) and table[8].accuracy == pytest.approx(0.5)
    assert table[9].confidence == pytest.approx(0.95) and table[9].accuracy == 1.0
    assert table[3].confidence == pytest.approx(0.3) and table[3].accuracy == 0.0
    assert (table[1].confidence, table[1].accuracy) == (0.0, 0.0)  # empty bins count nothing
    # A confidence of exactly 1.0 belongs to the last bin.
    assert calibration.reliability([Scored("labor", (("labor", 1.0),))])[9].n == 1


def test_expected_calibration_error() -> None:
    # (1/5)·|0 − 0| + (1/5)·|0 − 0.3| + (2/5)·|0.5 − 0.835| + (1/5)·|1 − 0.95|
    assert calibration.expected_calibration_error(ROWS) == pytest.approx(0.06 + 0.134 + 0.01)
    perfect = [Scored("labor", (("labor", 0.95),))] * 19 + [Scored("debt", (("labor", 0.95),))]
    assert calibration.expected_calibration_error(perfect) == pytest.approx(0.0)


def test_wrong_answers_above_a_confidence() -> None:
    assert calibration.wrong_above(ROWS, 0.8) == pytest.approx(1 / 5)  # B
    assert calibration.wrong_above(ROWS, 0.3) == pytest.approx(2 / 5)  # B and D
    assert calibration.wrong_above(ROWS, 0.9) == 0.0


def test_decisions_count_asked_covered_and_confident_wrong() -> None:
    two = calibration.decisions(ROWS, Thresholds(0.8, 0.2, 2))
    # A and C read back right, B read back wrong, D and E asked; D's type is third, so two choices miss it.
    assert (two.asked, two.coverage, two.confident_wrong) == pytest.approx((2 / 5, 2 / 5, 1 / 5))
    three = calibration.decisions(ROWS, Thresholds(0.8, 0.2, 3))
    assert (three.asked, three.coverage, three.confident_wrong) == pytest.approx((2 / 5, 3 / 5, 1 / 5))
    strict = calibration.decisions(ROWS, Thresholds(0.9, 0.2, 2))
    # B and C are now asked too and covered (B's type is second among the choices, C's first); D still missed.
    assert (strict.asked, strict.coverage, strict.confident_wrong) == pytest.approx((4 / 5, 3 / 5, 0.0))
    margin = calibration.decisions([Scored("debt", (("finance", 0.7), ("debt", 0.25)))], Thresholds(0.6, 0.5, 2))
    assert (margin.asked, margin.coverage, margin.confident_wrong) == (1.0, 1.0, 0.0)


def test_search_keeps_the_points_meeting_the_goals_fewest_asked_first() -> None:
    rows = [A] * 18 + [B, D]
    loose, three, two, ask_all = (
        Thresholds(0.8, 0.2, 2),  # B read back wrong, D missed: coverage 0.90
        Thresholds(0.9, 0.2, 3),  # B and D asked, both covered: coverage 1.0, asked 0.1
        Thresholds(0.9, 0.2, 2),  # D missed: coverage 0.95, asked 0.1
        Thresholds(0.96, 0.0, 3),  # everything asked
    )
    found = calibration.search(rows, grid=[loose, three, two, ask_all])
    assert [d.thresholds for d in found] == [three, two, ask_all]
    assert found[0].asked == pytest.approx(0.1) and found[1].coverage == pytest.approx(0.95)
    # Each group must meet the goals alone: D alone needs three choices.
    found = calibration.search(rows, groups=[[D]], grid=[loose, three, two, ask_all])
    assert [d.thresholds for d in found] == [three, ask_all]


def test_a_parse_is_read_the_way_the_intake_reads_it() -> None:
    parse = {
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": [
            {"name": "inform", "confidence": 0.29},
            {"name": "dispute_neighbor", "confidence": 0.27},
            {"name": "dispute_property_mgmt", "confidence": 0.22},
        ],
    }
    row = calibration.scored("neighbor", parse)
    assert row.ranked == (("neighbor", 0.27), ("property_mgmt", 0.22)) and row.right and row.confidence == 0.27


def test_summary_has_every_figure() -> None:
    figures = calibration.summary(ROWS, Thresholds(0.8, 0.2, 3))
    assert figures["top3"] == 0.8 and figures["ece"] == pytest.approx(0.204)
    assert (figures["asked"], figures["coverage"], figures["confident_wrong"]) == (0.4, 0.6, 0.2)
    assert len(figures["reliability"]) == 10 and figures["reliability"][8] == [0.8, 2, 0.835, 0.5]
