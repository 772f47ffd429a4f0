"""What the resident's first message is understood as: the dispute type, the choices when unsure, danger."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sharedcourt.domain.disputes import BY_CODE, BY_INTENT
from sharedcourt.intake.words import chinese_count
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.settings import Settings

DEFAULT_CHOICES = ("neighbor", "family", "labor", "debt", "property_mgmt", "contract")
NONE_OF_THESE = Button("都不是", "/none_of_these")
EMERGENCY_TEXT = (
    "【紧急提醒】如果您或家人正面临暴力、威胁或生命危险，请立即拨打110报警；有人受伤或身体不适请拨打120急救。"
    "请先到安全的地方，保护好自己。您的情况已标记为紧急，工作人员会优先处理。"
)
_DANGER = re.compile(
    r"打人|打我|在打|被打|家暴|殴打|动手打|拿刀|持刀|砍|杀了|杀我|弄死|要杀|捅|掐|"
    r"自杀|跳楼|跳河|不想活|想死|死给|喝药|农药|安眠药|寻死|"
    r"着火|放火|烧房|煤气中毒|救命|出人命|绑架|关起来|威胁.{0,6}(?:命|死|打|砍|杀)|堵门|砸门"
)


@dataclass(frozen=True)
class Thresholds:
    """When the intake reads one type back and when it asks the resident to choose (docs/NLU.md, "Unsure")."""

    confident: float  # the best type's confidence must reach this ...
    margin: float  # ... and lead the second type by at least this, else the resident chooses
    choices: int  # how many types are offered then (2 or 3), "none of these" besides

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The thresholds a deployment set (CLASSIFY_CONFIDENT, CLASSIFY_MARGIN, CLASSIFY_CHOICES)."""
        return cls(settings.classify_confident, settings.classify_margin, settings.classify_choices)


@functools.lru_cache(maxsize=1)
def default_thresholds() -> Thresholds:
    """The thresholds chosen on the dev data: the settings' defaults."""
    return Thresholds.from_settings(Settings())


@dataclass(frozen=True)
class Classification:
    """The type a message names, or none and the candidates to offer."""

    code: str | None  # None: ask with choices
    confidence: float
    candidates: list[str]  # best first, dispute codes only


def dispute_scores(
    intent: str | None, confidence: float, ranking: Sequence[Mapping[str, Any]]
) -> list[tuple[str, float]]:
    """Every dispute type the parse ranks, with its confidence, best first (general intents left out)."""
    scored: dict[str, float] = {}
    for item in [{"name": intent, "confidence": confidence}, *ranking]:
        dispute = BY_INTENT.get(str(item.get("name")))
        if dispute is not None:
            scored[dispute.code] = max(scored.get(dispute.code, 0.0), float(item.get("confidence") or 0.0))
    # Stable on ties: the order Rasa ranked them in.
    return sorted(scored.items(), key=lambda kv: -kv[1])


def decide(ranked: Sequence[tuple[str, float]], thresholds: Thresholds | None = None) -> Classification:
    """Read the best type back when it is confident and clear of the second, else offer the top few."""
    limits = thresholds or default_thresholds()
    if not ranked:
        return Classification(None, 0.0, [])
    top, top_conf = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top_conf >= limits.confident and top_conf - second >= limits.margin:
        return Classification(top, top_conf, [c for c, _ in ranked[:3]])
    return Classification(None, top_conf, [c for c, _ in ranked[: limits.choices]])


def classify(
    intent: str | None,
    confidence: float,
    ranking: Sequence[Mapping[str, Any]],
    thresholds: Thresholds | None = None,
) -> Classification:
    """The dispute type a parsed message names, or the candidates to offer when unsure."""
    return decide(dispute_scores(intent, confidence, ranking), thresholds)


def offer_choices(ranking: Sequence[Mapping[str, Any]], text: str, thresholds: Thresholds | None = None) -> list[str]:
    """Dispute types to offer for an unclear message (below the fallback threshold, or read as a bare
    "inform"): the closest ones when a dispute leads the ranking or the message is a real description."""
    ranked = [r for r in ranking if r.get("name") != "nlu_fallback"]
    limits = thresholds or default_thresholds()
    candidates = [c for c, _ in dispute_scores(None, 0.0, ranked)[: limits.choices]]
    if len(candidates) < 2:
        return []
    top_is_dispute = bool(ranked) and str(ranked[0].get("name")) in BY_INTENT
    return candidates if top_is_dispute or chinese_count(text) >= 8 else []


def is_danger(text: str, intent: str | None = None, confidence: float = 0.0) -> bool:
    """Violence, threats, self-harm or an emergency in progress."""
    return (intent == "emergency" and confidence >= 0.5) or bool(_DANGER.search(text or ""))


def understood_label(code: str, complaint: str = "") -> str:
    """How the read-back names the type: the sub-case the description names, else the type's read-back."""
    dispute = BY_CODE[code]
    for pattern, label in dispute.sub_cases:
        if re.search(pattern, complaint):
            return label
    return dispute.understood_label


def type_choices(codes: Sequence[str]) -> Reply:
    """The numbered choice between dispute types, "none of these" last."""
    labels = [BY_CODE[c].choice_label for c in codes]
    lines = [f"{i}. {label}" for i, label in enumerate(labels, 1)]
    lines.append(f"{len(codes) + 1}. 都不是")
    buttons = (*(Button(label, f"/dispute_{c}") for label, c in zip(labels, codes, strict=True)), NONE_OF_THESE)
    return Reply("想确认一下，您说的是哪一种？请回复数字：\n" + "\n".join(lines), buttons)
