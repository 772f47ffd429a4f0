"""Knowing when it is unsure: top-k coverage, calibration and the intake's ask-or-answer decision, measured.

Every figure is computed from one `Scored` row per example: the gold dispute code and the dispute types the
parse ranks with their confidences, best first, exactly as the intake sees them
(`sharedcourt.intake.classify.dispute_scores`). Definitions (docs/NLU.md, "Unsure"):

- confidence of a row: the best dispute type's confidence (0 when the parse ranks no dispute type);
- expected calibration error (ECE): 10 equal-width bins over [0, 1] ([0, 0.1), …, [0.9, 1.0], 1.0 in the last);
  ECE = sum over bins of (rows in bin / rows) × |accuracy in bin − mean confidence in bin|;
- confident: the intake reads the best type back without asking (`decide`: confidence ≥ `confident` and a lead
  of at least `margin` over the second type); confident wrong rate = confident and wrong / all rows;
- asked: the intake offers the top `choices` types instead; covered = confident and right, or asked and the
  right type among the offered ones; coverage = covered / all rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sharedcourt.intake.classify import Thresholds, decide, default_thresholds, dispute_scores

BINS = 10
# The goals of issue 15 on the dev set.
GOAL_COVERAGE = 0.95
GOAL_CONFIDENT_WRONG = 0.05
# Where the threshold search looks (steps of 0.05).
CONFIDENT_GRID = tuple(round(0.05 * i, 2) for i in range(4, 20))  # 0.20 … 0.95
MARGIN_GRID = tuple(round(0.05 * i, 2) for i in range(0, 11))  # 0.00 … 0.50
CHOICES_GRID = (2, 3)


@dataclass(frozen=True)
class Scored:
    """One example: its gold code and the dispute types ranked for it, best first."""

    gold: str
    ranked: tuple[tuple[str, float], ...]

    @property
    def confidence(self) -> float:
        """The best type's confidence (0 when no dispute type is ranked)."""
        return self.ranked[0][1] if self.ranked else 0.0

    @property
    def right(self) -> bool:
        """The best type is the gold one."""
        return bool(self.ranked) and self.ranked[0][0] == self.gold


@dataclass(frozen=True)
class Bin:
    """One row of the reliability table."""

    low: float
    high: float
    n: int
    confidence: float  # mean confidence in the bin (0 when empty)
    accuracy: float  # share right in the bin (0 when empty)


@dataclass(frozen=True)
class Decisions:
    """What the intake would do on every row with one set of thresholds."""

    thresholds: Thresholds
    n: int
    asked: float  # share of rows where the resident is asked to choose
    coverage: float  # share where the right type is read back or among the offered choices
    confident_wrong: float  # share read back confidently and wrong (of all rows)

    def meets_goals(self) -> bool:
        """Coverage ≥ 95 % and confident wrong ≤ 5 %."""
        return self.coverage >= GOAL_COVERAGE and self.confident_wrong <= GOAL_CONFIDENT_WRONG


def scored(gold: str, parse: Mapping[str, Any]) -> Scored:
    """One `/model/parse` result as the intake reads it: the dispute types ranked with their confidences."""
    top = parse.get("intent") or {}
    ranked = dispute_scores(top.get("name"), float(top.get("confidence") or 0.0), parse.get("intent_ranking") or [])
    return Scored(gold, tuple(ranked))


def thresholds(confident: float | None = None, margin: float | None = None, choices: int | None = None) -> Thresholds:
    """The shipped thresholds, with any of them overridden."""
    shipped = default_thresholds()
    return Thresholds(
        shipped.confident if confident is None else confident,
        shipped.margin if margin is None else margin,
        shipped.choices if choices is None else choices,
    )


def _share(count: float, total: int) -> float:
    return count / total if total else 0.0


def top_k_coverage(rows: Sequence[Scored], k: int) -> float:
    """Share of rows whose gold code is among the first `k` ranked types."""
    return _share(sum(1 for r in rows if r.gold in [c for c, _ in r.ranked[:k]]), len(rows))


def reliability(rows: Sequence[Scored], bins: int = BINS) -> list[Bin]:
    """The reliability table: equal-width confidence bins, each with its size, mean confidence and accuracy."""
    members: list[list[Scored]] = [[] for _ in range(bins)]
    for row in rows:
        members[min(int(row.confidence * bins), bins - 1)].append(row)
    table = []
    for i, group in enumerate(members):
        n = len(group)
        mean = _share(sum(r.confidence for r in group), n)
        table.append(Bin(i / bins, (i + 1) / bins, n, mean, _share(sum(r.right for r in group), n)))
    return table


def expected_calibration_error(rows: Sequence[Scored], bins: int = BINS) -> float:
    """ECE over `bins` equal-width bins: the size-weighted mean gap between accuracy and confidence."""
    return sum(_share(b.n, len(rows)) * abs(b.accuracy - b.confidence) for b in reliability(rows, bins))


def wrong_above(rows: Sequence[Scored], threshold: float) -> float:
    """Share of all rows that are wrong with a confidence of at least `threshold` (margin ignored)."""
    return _share(sum(1 for r in rows if not r.right and r.confidence >= threshold), len(rows))


def decisions(rows: Sequence[Scored], thresholds: Thresholds) -> Decisions:
    """Run the intake's decision on every row and count what it would do."""
    asked = covered = confident_wrong = 0
    for row in rows:
        result = decide(row.ranked, thresholds)
        if result.code is None:
            asked += 1
            covered += row.gold in result.candidates
        elif result.code == row.gold:
            covered += 1
        else:
            confident_wrong += 1
    n = len(rows)
    return Decisions(thresholds, n, _share(asked, n), _share(covered, n), _share(confident_wrong, n))


def search(
    rows: Sequence[Scored], groups: Sequence[Sequence[Scored]] = (), grid: Iterable[Thresholds] | None = None
) -> list[Decisions]:
    """Every grid point meeting the goals on `rows` and on each of `groups`, the best first: fewest asked,
    then highest coverage, then the fewest choices and the strictest thresholds (ask less, guess less)."""
    points = grid or (Thresholds(c, m, k) for c in CONFIDENT_GRID for m in MARGIN_GRID for k in CHOICES_GRID)
    found = [
        d
        for d, t in ((decisions(rows, t), t) for t in points)
        if d.meets_goals() and all(decisions(g, t).meets_goals() for g in groups)
    ]
    return sorted(
        found,
        key=lambda d: (
            round(d.asked, 6),
            -round(d.coverage, 6),
            d.thresholds.choices,
            -d.thresholds.confident,
            -d.thresholds.margin,
        ),
    )


def report_text(rows: Sequence[Scored], thresholds: Thresholds) -> str:
    """The coverage, calibration and decision figures as plain text, with the reliability table."""
    d = decisions(rows, thresholds)
    lines = [
        f"top-1 {top_k_coverage(rows, 1):.3f}  top-2 {top_k_coverage(rows, 2):.3f}  "
        f"top-3 {top_k_coverage(rows, 3):.3f}  ECE (10 bins) {expected_calibration_error(rows):.3f}",
        f"thresholds: confident {thresholds.confident:.2f}, margin {thresholds.margin:.2f}, "
        f"choices {thresholds.choices}: asked {d.asked:.3f}, right type read back or offered {d.coverage:.3f}, "
        f"confident wrong {d.confident_wrong:.3f} (wrong with confidence ≥ {thresholds.confident:.2f}, "
        f"margin ignored: {wrong_above(rows, thresholds.confident):.3f})",
        f"{'confidence':<12}{'n':>6}{'mean conf':>11}{'accuracy':>10}{'gap':>8}",
    ]
    for b in reliability(rows):
        gap = f"{b.accuracy - b.confidence:+8.3f}" if b.n else f"{'':>8}"
        lines.append(f"{b.low:.1f}-{b.high:.1f}{'':<5}{b.n:>6}{b.confidence:>11.3f}{b.accuracy:>10.3f}{gap}")
    return "\n".join(lines)


def summary(rows: Sequence[Scored], thresholds: Thresholds) -> dict[str, Any]:
    """The figures for the JSON line: coverage, ECE, decisions and the reliability table, rounded."""
    d = decisions(rows, thresholds)
    return {
        "top3": round(top_k_coverage(rows, 3), 4),
        "ece": round(expected_calibration_error(rows), 4),
        "confident": thresholds.confident,
        "margin": thresholds.margin,
        "choices": thresholds.choices,
        "asked": round(d.asked, 4),
        "coverage": round(d.coverage, 4),
        "confident_wrong": round(d.confident_wrong, 4),
        "wrong_above_confident": round(wrong_above(rows, thresholds.confident), 4),
        "reliability": [[b.low, b.n, round(b.confidence, 4), round(b.accuracy, 4)] for b in reliability(rows)],
    }
