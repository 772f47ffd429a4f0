"""What the assistant understands from one message (`make parse TEXT=...`), the way the conversation does.

The dispute type comes from Rasa's `/model/parse` (the running Rasa with the app's JWT when the system runs, else
a Rasa started on the model for this command) and is decided by
`sharedcourt.intake.classify.classify`, the facts by `sharedcourt.intake.extract.extract` - the very functions the
intake form uses - so staff can see why the bot decided what it did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sharedcourt.clients.rasa import RasaClient
from sharedcourt.domain.clock import TZ
from sharedcourt.domain.disputes import BY_INTENT
from sharedcourt.intake.classify import Thresholds, classify, dispute_scores, is_danger
from sharedcourt.intake.extract import extract
from sharedcourt.settings import Settings


def understanding_of(parsed: Mapping[str, Any], today: dt.date, thresholds: Thresholds | None = None) -> dict[str, Any]:
    """Turn a `/model/parse` result into {code, confidence, intent, types, ask, decision, candidates, urgent, facts}:
    `types` are the top dispute types with their confidences, `ask` whether the intake would offer choices."""
    text = str(parsed.get("text") or "")
    intent = parsed.get("intent") or {}
    ranking = list(parsed.get("intent_ranking") or [])
    top_name = intent.get("name")
    top_conf = float(intent.get("confidence") or 0.0)
    disputes = [r for r in [intent, *ranking] if BY_INTENT.get(str(r.get("name"))) is not None]
    best = max(disputes, key=lambda r: float(r.get("confidence") or 0.0), default=None)
    result: dict[str, Any]
    if best is not None:
        decided = classify(top_name, top_conf, ranking, thresholds)
        result = {
            "code": BY_INTENT[str(best["name"])].code,
            "confidence": round(float(best.get("confidence") or 0.0), 4),
            "intent": best["name"],
            "types": [[code, round(conf, 4)] for code, conf in dispute_scores(top_name, top_conf, ranking)[:3]],
            "ask": decided.code is None,
            # What the conversation does with it: read the type back for a yes/no, or offer choices.
            "decision": "confirm" if decided.code is not None else "choices",
            "candidates": decided.candidates,
        }
    else:
        result = {"code": None, "confidence": round(top_conf, 4), "intent": top_name, "types": [], "ask": False}
    result["urgent"] = is_danger(text, top_name, top_conf)
    result["facts"] = extract(text, today, parsed.get("entities") or [])
    return result


async def understand_text(settings: Settings, text: str, *, today: dt.date | None = None) -> dict[str, Any]:
    """Parse one message with the running Rasa and report the type and the facts."""
    client = RasaClient(settings.rasa_url, settings.rasa_jwt_secret, timeout=settings.rasa_timeout)
    try:
        parsed = await client.parse(text)
    finally:
        await client.aclose()
    parsed.setdefault("text", text)
    return understanding_of(parsed, today or dt.datetime.now(TZ).date(), Thresholds.from_settings(settings))


def describe(result: Mapping[str, Any]) -> str:
    """The top types and the intake's decision in one line, for the lines above the JSON."""
    types = ", ".join(f"{code} {conf:.3f}" for code, conf in result.get("types") or []) or "no dispute type"
    if not result.get("types"):
        return f"top types: {types}"
    doing = "would ask the resident to choose among " + "/".join(result["candidates"])
    return f"top types: {types}; the intake {doing if result['ask'] else 'would read back ' + str(result['code'])}"
