"""The intake core (issue 3): facts per type, extraction and skipping, answers, summary edits, one form turn."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from sharedcourt.domain.disputes import CODES, DISPUTE_TYPES
from sharedcourt.intake import form as intake
from sharedcourt.intake.form import UNKNOWN, Turn

TODAY = dt.date(2026, 11, 29)  # a Sunday


def ranking(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "confidence": conf} for name, conf in pairs]


def run(slots: dict[str, Any], text: str, intent: str, confidence: float = 0.9, rank: Any = ()) -> intake.Step:
    """One form turn the way the action server runs it: advance, then the next requested slot."""
    step = intake.advance(slots, Turn(text, intent, confidence, rank or ranking((intent, confidence))), TODAY)
    if not step.reject:
        slots.update(step.updates)
        slots["requested_slot"] = intake.next_slot(slots)
    return step


# ---------------------------------------------------------------------------------------- facts per type


def test_every_mediable_type_needs_the_common_facts_and_others_none() -> None:
    for dispute in DISPUTE_TYPES:
        facts = intake.needed_facts(dispute.code)
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
    facts = intake.needed_facts(code)
    assert all(key in facts for key in specific), facts


def test_family_and_neighbour_disputes_are_not_asked_for_an_amount() -> None:
    assert "amount_yuan" not in intake.needed_facts("family")
    assert "amount_yuan" not in intake.needed_facts("neighbor")


def test_required_slots_grow_once_the_type_is_confirmed() -> None:
    assert intake.required_slots({}) == ["dispute_code", "type_confirmed"]
    assert intake.required_slots({"dispute_code": "labor"}) == ["dispute_code", "type_confirmed"]
    full = intake.required_slots({"dispute_code": "labor", "type_confirmed": True})
    assert full[:2] == ["dispute_code", "type_confirmed"] and full[-1] == "summary_confirmed"
    assert intake.required_slots({"dispute_code": "criminal", "type_confirmed": True}) == [
        "dispute_code",
        "type_confirmed",
    ]


def test_every_question_is_chinese_and_every_slot_is_in_the_domain(repo_root: Path) -> None:
    for fact in intake.FACTS:
        for code in CODES:
            assert "？" in fact.question_for(code) or "。" in fact.question_for(code)
    domain = yaml.safe_load((repo_root / "bot/domain/intake.yml").read_text(encoding="utf-8"))
    assert set(domain["slots"]) == set(intake.all_slot_names())
    asks = {a for a in domain["actions"] if a.startswith("action_ask_")}
    assert asks == {
        f"action_ask_{s}" for s in (*intake.TYPE_SLOTS, *(f.key for f in intake.FACTS), "summary_confirmed")
    }
    intents = set(domain["intents"])
    assert {d.intent for d in DISPUTE_TYPES} <= intents
    assert {"inform", "emergency", "none_of_these", "start_mediation"} <= intents


# ---------------------------------------------------------------------------------------- classification


def test_a_clear_type_is_read_back() -> None:
    result = intake.classify("dispute_labor", 0.93, ranking(("dispute_labor", 0.93), ("dispute_debt", 0.03)))
    assert result.code == "labor"
    assert intake.ask("type_confirmed", {"dispute_code": "labor", "complaint": "老板欠我工资"})[0].text == (
        "您遇到的是拖欠工资的劳动争议，对吗？"
    )


@pytest.mark.parametrize(
    "rank",
    [
        ranking(("dispute_neighbor", 0.48), ("dispute_property_mgmt", 0.41), ("greet", 0.02)),  # close
        ranking(("dispute_neighbor", 0.35), ("inform", 0.3), ("dispute_environment", 0.2)),  # low
    ],
)
def test_close_or_weak_types_become_numbered_choices(rank: list[dict[str, Any]]) -> None:
    result = intake.classify(rank[0]["name"], rank[0]["confidence"], rank)
    assert result.code is None
    assert result.candidates[0] == "neighbor" and len(result.candidates) >= 2
    say = intake.ask("dispute_code", {"type_candidates": result.candidates})[0]
    assert "1. 邻里纠纷" in say.text and "都不是" in say.text
    assert say.buttons[0].payload == "/dispute_neighbor"
    assert say.buttons[-1].payload == "/none_of_these"


# ---------------------------------------------------------------------------------------- danger


@pytest.mark.parametrize(
    "text", ["我老公天天喝酒打人我想离婚孩子才三岁怎么办", "他拿刀要砍我", "我不想活了", "厂里着火了"]
)
def test_danger_words(text: str) -> None:
    assert intake.is_danger(text)


@pytest.mark.parametrize("text", ["楼上漏水好几个月了物业也不管", "老板欠了三个月工资", "打官司要多少钱"])
def test_no_danger_in_ordinary_complaints(text: str) -> None:
    assert not intake.is_danger(text)


# ---------------------------------------------------------------------------------------- extraction


def test_extract_finds_money_date_phone_place_and_type_facts() -> None:
    facts = intake.extract("去年十月在江山贺村镇借给他3.5万 没有借条 电话13812345678", TODAY)
    assert facts["amount_yuan"] == 35000
    assert facts["incident_date"] == "2025-10-01"
    assert facts["phone"] == "13812345678"
    assert facts["place_code"] == "330881121" and facts["place_name"] == "江山市贺村镇"
    assert facts["iou"] == "没有"


def test_extract_months_unpaid_is_not_a_date_or_money() -> None:
    facts = intake.extract("老板拖欠我三个月工资两万三一直不给", TODAY)
    assert facts == {"amount_yuan": 23000, "months_unpaid": 3}


def test_extract_judgment_details_and_estate() -> None:
    facts = intake.extract("柯城区人民法院判了（2024）浙0802民初123号 他就是不给钱", TODAY)
    assert facts["judgment_case_number"] == "（2024）浙0802民初123号"
    assert facts["judgment_court"].endswith("人民法院")
    assert intake.extract("我住阳光花园小区 物业乱收费 二十多户都有意见", TODAY)["households"] == 20


# ---------------------------------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("slot", "text", "value"),
    [
        ("amount_yuan", "两万三", 23000),
        ("amount_yuan", "大概3.5万吧", 35000),
        ("amount_yuan", "不涉及", UNKNOWN),
        ("incident_date", "上周三", "2026-11-18"),
        ("incident_date", "不记得了", UNKNOWN),
        ("phone", "幺三八一二三四五六七八", "13812345678"),
        ("phone", "0570 8012345", "0570-8012345"),
        ("months_unpaid", "三个月", 3),
        ("households", "二十户", 20),
        ("iou", "有", "有"),
        ("iou", "没有", "没有"),
        ("desired_outcome", "要回工资。", "要回工资"),
    ],
)
def test_answers_are_normalised(slot: str, text: str, value: Any) -> None:
    answer = intake.parse_answer(slot, text, TODAY)
    assert answer.error is None
    assert answer.value == value


@pytest.mark.parametrize(
    ("slot", "text", "hint"),
    [
        ("amount_yuan", "很多", "两万三"),
        ("incident_date", "那个时候", "上周三"),
        ("phone", "1381234567", "11位手机号"),
        ("place_code", "北京朝阳区", "县（市、区）"),
    ],
)
def test_bad_answers_are_asked_again_in_chinese(slot: str, text: str, hint: str) -> None:
    answer = intake.parse_answer(slot, text, TODAY)
    assert answer.value is None and answer.error is not None
    assert hint in answer.error.text


def test_a_future_incident_date_is_refused() -> None:
    answer = intake.parse_answer("incident_date", "2027年3月", TODAY)
    assert answer.error is not None and "还没到" in answer.error.text


def test_after_two_failures_the_raw_answer_is_kept() -> None:
    assert intake.parse_answer("amount_yuan", "很多", TODAY, retries=2).value == "很多"


def test_place_answer_gives_the_statistical_code_and_name() -> None:
    answer = intake.parse_answer("place_code", "柯城白云", TODAY)
    assert answer.value == "330802009"
    assert answer.extra == {"place_name": "柯城区白云街道"}


# ---------------------------------------------------------------------------------------- summary and edits


def _labor_slots() -> dict[str, Any]:
    return {
        "dispute_code": "labor",
        "type_confirmed": True,
        "employer": "衢州某某电子厂",
        "what_happened": "老板拖欠三个月工资",
        "incident_date": "2026-10-01",
        "place_code": "330802009",
        "place_name": "柯城区白云街道",
        "amount_yuan": 23000,
        "months_unpaid": 3,
        "desired_outcome": "要回工资",
        "steps_taken": UNKNOWN,
        "evidence": "考勤记录",
        "phone": "13812345678",
    }


def test_summary_lists_every_fact_in_chinese() -> None:
    text = intake.summary_text(_labor_slots())
    for part in (
        "纠纷类型：劳动争议",
        "用工单位：衢州某某电子厂",
        "发生时间：2026年10月1日",
        "发生地点：柯城区白云街道",
    ):
        assert part in text
    assert "涉及金额：23000元" in text and "拖欠月数：3个月" in text and "已采取的措施：不清楚" in text


@pytest.mark.parametrize(
    ("text", "updates"),
    [
        ("金额不对，是两万八", {"amount_yuan": 28000}),
        ("钱数错了 应该是3.5万", {"amount_yuan": 35000}),
        ("时间不对，是去年十月", {"incident_date": "2025-10-01"}),
        ("电话换成13912345678", {"phone": "13912345678"}),
        ("13912345678", {"phone": "13912345678"}),
        ("地点是江山贺村镇", {"place_code": "330881121", "place_name": "江山市贺村镇"}),
        ("单位写错了，是衢州某某机械厂", {"employer": "衢州某某机械厂"}),
        ("拖欠了五个月", {"months_unpaid": 5}),
    ],
)
def test_summary_edits_in_free_text(text: str, updates: dict[str, Any]) -> None:
    assert intake.parse_edit(text, _labor_slots(), TODAY) == updates


def test_an_edit_that_names_nothing_is_not_guessed() -> None:
    assert intake.parse_edit("嗯这个吧", _labor_slots(), TODAY) == {}


# ---------------------------------------------------------------------------------------- form turns


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
    assert "涉及金额：28000元" in intake.ask("summary_confirmed", slots)[0].text
    run(slots, "/affirm", "affirm", 1.0)
    assert slots["summary_confirmed"] is True and slots["requested_slot"] is None
    facts = intake.case_facts(slots)
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
    assert intake.advance(slots, Turn("都不是", "none_of_these", 0.95), TODAY).reject
    slots = {"dispute_code": "debt", "type_confirmed": True, "requested_slot": "party"}
    for intent in ("restart", "request_human", "find_site"):
        assert intake.advance(slots, Turn("…", intent, 0.9), TODAY).reject
    # a phone number that NLU took for something else is still an answer
    slots["requested_slot"] = "phone"
    assert not intake.advance(slots, Turn("13812345678", "request_human", 0.7), TODAY).reject


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
    say = intake.outcome(slots, "QZ2026-000001")
    assert "110" in say.text and any(b.payload == "/request_human" for b in say.buttons)


def test_a_greeting_half_way_resumes_with_the_same_question() -> None:
    slots: dict[str, Any] = {"dispute_code": "debt", "type_confirmed": True, "requested_slot": "party"}
    step = run(slots, "你好", "greet", 0.95)
    assert not step.reject and "欢迎回来" in step.messages[0].text
    assert slots["requested_slot"] == "party"
    assert intake.in_progress(slots)


def test_a_goodbye_half_way_keeps_the_form_without_asking_again() -> None:
    slots: dict[str, Any] = {"dispute_code": "debt", "type_confirmed": True, "requested_slot": "party"}
    step = run(slots, "先这样 我明天再来", "goodbye", 0.9)
    assert not step.reject and "下次回来我们接着聊" in step.messages[0].text
    assert slots["requested_slot"] == "party" and slots.get("party") is None
    assert intake.ask("party", slots, "goodbye") == []
    run(slots, "张三 我朋友", "inform", 0.6)
    assert slots["party"] == "张三 我朋友"


def test_a_new_complaint_after_a_stored_case_starts_fresh() -> None:
    slots = {**_labor_slots(), "summary_confirmed": True, "case_number": "QZ2026-000001", "requested_slot": None}
    assert not intake.in_progress(slots)
    run(slots, "邻居家装修太吵了", "dispute_neighbor", 0.9)
    assert slots["dispute_code"] == "neighbor" and slots.get("employer") is None and slots.get("case_number") is None


# ---------------------------------------------------------------------------------------- make parse


def test_understanding_reports_the_type_and_facts_the_way_the_conversation_does() -> None:
    from sharedcourt.cli.understanding import understanding_of

    parsed = {
        "text": "去年十月在江山贺村镇借给他3.5万 电话13812345678",
        "intent": {"name": "dispute_debt", "confidence": 0.91},
        "intent_ranking": ranking(("dispute_debt", 0.91), ("dispute_finance", 0.05), ("inform", 0.02)),
        "entities": [],
    }
    result = understanding_of(parsed, TODAY)
    assert result["code"] == "debt" and result["confidence"] == 0.91 and result["intent"] == "dispute_debt"
    assert result["decision"] == "confirm" and result["urgent"] is False
    assert result["facts"] == {
        "amount_yuan": 35000,
        "incident_date": "2025-10-01",
        "phone": "13812345678",
        "place_code": "330881121",
        "place_name": "江山市贺村镇",
    }


def test_understanding_takes_the_best_dispute_even_when_another_intent_is_on_top() -> None:
    from sharedcourt.cli.understanding import understanding_of

    parsed = {
        "text": "楼上漏水",
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": ranking(("inform", 0.29), ("dispute_neighbor", 0.27), ("dispute_property_mgmt", 0.22)),
    }
    result = understanding_of(parsed, TODAY)
    assert result["code"] == "neighbor" and result["decision"] == "choices"
    assert result["candidates"][:2] == ["neighbor", "property_mgmt"] and result["facts"] == {}
    greeting = understanding_of({"text": "你好", "intent": {"name": "greet", "confidence": 0.99}}, TODAY)
    assert greeting["code"] is None and greeting["intent"] == "greet" and greeting["facts"] == {}


async def test_understand_text_asks_rasa_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from sharedcourt.cli import understanding
    from sharedcourt.clients.rasa import RasaClient
    from sharedcourt.settings import Settings

    seen: list[str] = []

    async def parse(self: RasaClient, text: str) -> dict[str, Any]:
        seen.append(text)
        return {"intent": {"name": "dispute_labor", "confidence": 0.88}, "intent_ranking": [], "entities": []}

    monkeypatch.setattr(RasaClient, "parse", parse)
    result = await understanding.understand_text(Settings.from_env({}), "老板欠我两万三", today=TODAY)
    assert seen == ["老板欠我两万三"]
    assert result["code"] == "labor" and result["facts"] == {"amount_yuan": 23000}


def test_an_interrupted_intake_goes_on_unless_a_different_dispute_starts() -> None:
    half = {"dispute_code": "debt", "type_confirmed": True, "party": "表哥", "requested_slot": None}
    slots = dict(half)
    run(slots, "我要调解", "start_mediation", 0.95)
    assert slots["party"] == "表哥" and slots["requested_slot"] == "what_happened"
    slots = dict(half)
    run(slots, "隔壁装修吵得睡不着", "dispute_neighbor", 0.9)
    assert slots["dispute_code"] == "neighbor" and slots.get("party") is None
    assert slots["requested_slot"] == "type_confirmed"


def test_a_case_number_is_not_money() -> None:
    facts = intake.extract("法院判了他还钱 可他就是不给 案号（2024）浙0802民初123号", TODAY)
    assert "amount_yuan" not in facts and "incident_date" not in facts
    assert facts["judgment_case_number"] == "（2024）浙0802民初123号"


def test_choices_for_an_unclear_message() -> None:
    long_facts = "去年十月在江山贺村镇借给朋友3.5万 到现在不还 电话13812345678"
    rank = ranking(("inform", 0.9), ("dispute_debt", 0.04), ("dispute_finance", 0.02), ("greet", 0.01))
    assert intake.offer_choices(rank, long_facts) == ["debt", "finance"]
    assert intake.offer_choices(rank, "13812345678") == []
    fallback = ranking(("nlu_fallback", 0.3), ("dispute_neighbor", 0.28), ("dispute_property_mgmt", 0.25))
    assert intake.offer_choices(fallback, "楼上漏水") == ["neighbor", "property_mgmt"]


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
    dispute = intake.BY_CODE[code]
    if not dispute.mediable:
        assert slots["requested_slot"] is None and dispute.redirect in intake.outcome(slots, "QZ2026-000001").text
        return
    run(slots, "对", "affirm")
    for _ in range(20):
        slot = slots["requested_slot"]
        if slot == "summary_confirmed":
            break
        assert intake.ask(slot, slots)[0].text
        run(slots, GENERIC_ANSWERS[intake.BY_KEY[slot].kind], "inform", 0.7)
        assert slots[slot] is not None, slot
    summary = intake.ask("summary_confirmed", slots)[0].text
    assert dispute.label in summary and "（未填写）" not in summary
    run(slots, "确认无误", "affirm", 0.9)
    assert slots["summary_confirmed"] is True and slots["requested_slot"] is None
