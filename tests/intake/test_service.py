"""The intake calls of the action server that need no database: the fallback and the China-time day."""

from __future__ import annotations

import datetime as dt

from sharedcourt.intake.form import Turn
from sharedcourt.intake.service import MISUNDERSTOOD_LIMIT, fallback

# 17:00 UTC on 29 November is already 30 November in Quzhou.
LATE = dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.timezone.utc)


def test_the_fallback_reads_dates_on_china_time() -> None:
    rank = [{"name": "dispute_debt", "confidence": 0.3}, {"name": "dispute_finance", "confidence": 0.25}]
    step = fallback({}, Turn("昨天借给朋友三万块一直不还", "nlu_fallback", 0.3, rank), 0, LATE)
    assert step.updates["type_candidates"] == ["debt", "finance"]
    assert step.updates["incident_date"] == "2026-11-29"
    assert step.messages[-1].buttons[-1].payload == "/none_of_these"


def test_the_fallback_gives_the_menu_then_a_person() -> None:
    turn = Turn("嗯嗯啊", "nlu_fallback", 0.3, [{"name": "greet", "confidence": 0.2}])
    first = fallback({}, turn, 1, LATE)
    assert first.response == "utter_default" and first.followup is None and not first.messages
    second = fallback({}, turn, MISUNDERSTOOD_LIMIT, LATE)
    assert second.followup == "action_request_human" and "工作人员" in second.messages[0].text
