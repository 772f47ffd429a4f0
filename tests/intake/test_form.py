"""One form turn (issue 3): from the first message to a confirmed summary, leaving, danger, small talk."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sharedcourt.domain.disputes import BY_CODE, DISPUTE_TYPES
from sharedcourt.intake.cases import case_facts
from sharedcourt.intake.facts import BY_KEY, in_progress, next_slot
from sharedcourt.intake.form import Step, Turn, advance, ask
from sharedcourt.intake.service import outcome

TODAY = dt.date(2026, 11, 29)  # a Sunday


def ranking(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "confidence": conf} for name, conf in pairs]


def run(slots: dict[str, Any], text: str, intent: str, confidence: float = 0.9, rank: Any = ()) -> Step:
    """One form turn the way the action server runs it: advance, then the next requested slot."""
    step = advance(slots, Turn(text, intent, confidence, rank or ranking((intent, confidence))), TODAY)
    if not step.reject:
        slots.update(step.updates)
        slots["requested_slot"] = next_slot(slots)
    return step


def test_a_complaint_from_first_message_to_a_confirmed_summary() -> None:
    slots: dict[str, Any] = {}
    rank = ranking(("dispute_labor", 0.93), ("dispute_debt", 0.03))
    run(slots, "老板拖欠我三个月工资两万三一直不给 我在柯城白云", "dispute_labor", 0.93, rank)
    assert slots["dispute_code"] == "labor" and slots["requested_slot"] == "type_confirmed"
    assert slots["amount_yuan"] == 23000 and slots["months_unpaid"] == 3 and slots["place_code"] == "330802009"
    run(slots, "对", "affirm")
    # what happened, amount, months and place came with the complaint: not asked again
    assert slots["what_happened"].startswith("老板拖欠我")
    asked = []
    answers = {
        "employer": "衢州某某电子厂",
        "incident_date": "上个月",
        "desired_outcome": "要回工资",
        "steps_taken": "找过劳动监察",
        "evidence": "有考勤记录",
        "phone": "13812345678",
    }
    while slots["requested_slot"] != "summary_confirmed":
        slot = slots["requested_slot"]
        asked.append(slot)
        run(slots, answers[slot], "inform", 0.8)
    assert asked == list(answers)
    step = run(slots, "金额不对，是两万八", "inform", 0.7)
    assert slots["amount_yuan"] == 28000 and slots["requested_slot"] == "summary_confirmed"
    assert "28000元" in step.messages[0].text
    assert "涉及金额：28000元" in ask("summary_confirmed", slots)[0].text
    run(slots, "/affirm", "affirm", 1.0)
    assert slots["summary_confirmed"] is True and slots["requested_slot"] is None
    facts = case_facts(slots)
    assert facts["amount_yuan"] == 28000 and facts["place_code"] == "330802009"
    assert facts["incident_date"] == "2026-10-01" and facts["phone"] == "13812345678"


def test_deny_offers_the_other_candidates_and_a_choice_confirms() -> None:
    slots: dict[str, Any] = {}
    rank = ranking(("dispute_neighbor", 0.7), ("dispute_property_mgmt", 0.2), ("dispute_environment", 0.05))
    run(slots, "楼上漏水好几个月了也不管", "dispute_neighbor", 0.7, rank)
    assert slots["requested_slot"] == "type_confirmed"
    run(slots, "不对", "deny")
    assert slots["dispute_code"] is None and slots["requested_slot"] == "dispute_code"
    assert slots["type_candidates"] == ["property_mgmt", "environment"]
    run(slots, "/dispute_property_mgmt", "dispute_property_mgmt", 1.0)
    assert slots["dispute_code"] == "property_mgmt" and slots["type_confirmed"] is True
    assert slots["requested_slot"] == "party"


def test_a_correction_in_words_changes_the_type() -> None:
    slots: dict[str, Any] = {}
    run(slots, "楼上漏水好几个月了也不管", "dispute_neighbor", 0.8)
    run(slots, "不是 是物业不管", "dispute_property_mgmt", 0.7)
    assert slots["dispute_code"] == "property_mgmt" and slots["type_confirmed"] is True


def test_none_of_these_and_other_requests_leave_the_form() -> None:
    slots: dict[str, Any] = {"requested_slot": "dispute_code", "type_candidates": ["neighbor", "family"]}
    assert advance(slots, Turn("都不是", "none_of_these", 0.95), TODAY).reject
    slots = {"dispute_code": "debt", "type_confirmed": True, "requested_slot": "party"}
    for intent in ("restart", "request_human", "find_site"):
        assert advance(slots, Turn("…", intent, 0.9), TODAY).reject
    # a phone number that NLU took for something else is still an answer
    slots["requested_slot"] = "phone"
    assert not advance(slots, Turn("13812345678", "request_human", 0.7), TODAY).reject


def test_danger_gets_guidance_first_and_the_case_becomes_urgent() -> None:
    slots: dict[str, Any] = {}
    step = run(slots, "我老公天天喝酒打人我想离婚孩子才三岁怎么办", "dispute_family", 0.9)
    assert step.messages[0].text.startswith("【紧急提醒】") and "110" in step.messages[0].text
    assert step.became_urgent and slots["urgent"] is True
    assert slots["dispute_code"] == "family" and slots["requested_slot"] == "type_confirmed"


def test_criminal_matters_end_the_form_at_once() -> None:
    slots: dict[str, Any] = {}
    run(slots, "有人在网上骗了我五千块", "dispute_criminal", 0.9)
    assert slots["type_confirmed"] is True and slots["requested_slot"] is None
    say = outcome(slots, "QZ2026-000001")
    assert "110" in say.text and any(b.payload == "/request_human" for b in say.buttons)


def test_a_greeting_half_way_resumes_with_the_same_question() -> None:
    slots: dict[str, Any] = {"dispute_code": "debt", "type_confirmed": True, "requested_slot": "party"}
    step = run(slots, "你好", "greet", 0.95)
    assert not step.reject and "欢迎回来" in step.messages[0].text
    assert slots["requested_slot"] == "party"
    assert in_progress(slots)


def test_a_goodbye_half_way_keeps_the_form_without_asking_again() -> None:
    slots: dict[str, Any] = {"dispute_code": "debt", "type_confirmed": True, "requested_slot": "party"}
    step = run(slots, "先这样 我明天再来", "goodbye", 0.9)
    assert not step.reject and "下次回来我们接着聊" in step.messages[0].text
    assert slots["requested_slot"] == "party" and slots.get("party") is None
    assert ask("party", slots, "goodbye") == []
    run(slots, "张三 我朋友", "inform", 0.6)
    assert slots["party"] == "张三 我朋友"


def test_a_new_complaint_after_a_stored_case_starts_fresh(labor_slots: dict[str, Any]) -> None:
    slots = {**labor_slots, "summary_confirmed": True, "case_number": "QZ2026-000001", "requested_slot": None}
    assert not in_progress(slots)
    run(slots, "邻居家装修太吵了", "dispute_neighbor", 0.9)
    assert slots["dispute_code"] == "neighbor" and slots.get("employer") is None and slots.get("case_number") is None


def test_an_interrupted_intake_goes_on_unless_a_different_dispute_starts() -> None:
    half = {"dispute_code": "debt", "type_confirmed": True, "party": "表哥", "requested_slot": None}
    slots = dict(half)
    run(slots, "我要调解", "start_mediation", 0.95)
    assert slots["party"] == "表哥" and slots["requested_slot"] == "what_happened"
    slots = dict(half)
    run(slots, "隔壁装修吵得睡不着", "dispute_neighbor", 0.9)
    assert slots["dispute_code"] == "neighbor" and slots.get("party") is None
    assert slots["requested_slot"] == "type_confirmed"


GENERIC_ANSWERS = {
    "text": "对方是邻居张某",
    "yesno": "有",
    "amount": "两万三",
    "date": "上个月",
    "phone": "13812345678",
    "place": "衢江区高家镇",
    "count": "三",
}


@pytest.mark.parametrize("code", [d.code for d in DISPUTE_TYPES])
def test_every_type_reaches_a_confirmed_summary_or_a_redirect(code: str) -> None:
    slots: dict[str, Any] = {}
    run(slots, "我遇到一个纠纷想咨询一下怎么办", f"dispute_{code}", 0.95)
    dispute = BY_CODE[code]
    if not dispute.mediable:
        assert slots["requested_slot"] is None and dispute.redirect in outcome(slots, "QZ2026-000001").text
        return
    run(slots, "对", "affirm")
    for _ in range(20):
        slot = slots["requested_slot"]
        if slot == "summary_confirmed":
            break
        assert ask(slot, slots)[0].text
        run(slots, GENERIC_ANSWERS[BY_KEY[slot].kind], "inform", 0.7)
        assert slots[slot] is not None, slot
    summary = ask("summary_confirmed", slots)[0].text
    assert dispute.label in summary and "（未填写）" not in summary
    run(slots, "确认无误", "affirm", 0.9)
    assert slots["summary_confirmed"] is True and slots["requested_slot"] is None


def test_the_place_question_names_the_served_area(monkeypatch: pytest.MonkeyPatch) -> None:
    from sharedcourt.intake import answers, extract, form
    from sharedcourt.sites import places, served
    from sharedcourt.sites.served import ALL_CITIES

    assert served.area_name(("3308",)) == "衢州" and served.area_name(("3301",)) == "杭州"
    assert served.area_name(ALL_CITIES) == "浙江"
    assert "衢州的哪个县" in form.ask("place_code", {"dispute_code": "debt"})[0].text
    monkeypatch.setattr(form, "area_name", lambda: "浙江")
    monkeypatch.setattr(answers, "area_name", lambda: "浙江")
    monkeypatch.setattr(places, "served_cities", lambda: ALL_CITIES)
    extract._gazetteer.cache_clear()
    try:
        assert "浙江的哪个县" in form.ask("place_code", {"dispute_code": "debt"})[0].text
        assert [b.title for b in extract.county_buttons()][:2] == ["杭州市", "宁波市"]
    finally:
        extract._gazetteer.cache_clear()


def test_mediation_right_after_a_law_answer_carries_the_answers_type_over() -> None:
    slots: dict[str, Any] = {"faq_dispute": "labor", "requested_slot": None}
    step = run(slots, "那我要调解", "start_mediation", 0.95)
    assert step.updates["faq_dispute"] is None and slots["dispute_code"] == "labor"
    assert slots["requested_slot"] == "type_confirmed"
    assert "劳动" in ask("type_confirmed", slots)[0].text


def test_a_described_dispute_after_a_law_answer_is_classified_as_usual() -> None:
    slots: dict[str, Any] = {"faq_dispute": "labor", "requested_slot": None}
    run(slots, "邻居家装修天天吵到半夜", "dispute_neighbor", 0.9)
    assert slots["dispute_code"] == "neighbor" and slots["faq_dispute"] is None
