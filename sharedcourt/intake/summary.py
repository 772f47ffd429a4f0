"""The summary the resident confirms, and the free-text corrections of it ("金额不对，是两万八")."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.intake.answers import parse_answer
from sharedcourt.intake.extract import extract, place_name
from sharedcourt.intake.facts import BY_KEY, UNKNOWN, needed_facts
from sharedcourt.intake.words import NEGATION, clean
from sharedcourt.messaging.replies import Button, Reply

EDIT_HINT = "请直接告诉我哪一项要改、改成什么，比如“金额不对，是两万八”“时间是去年十月”“电话换成13912345678”。"
_CONFIRM = re.compile(r"(?:确认|确认无误|没问题|对的|对|是的|正确|没错)[的了啊吧]?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Words that name a field in an edit ("金额不对，是两万八").
_EDIT_FIELDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("phone", re.compile(r"电话|手机|号码|联系方式")),
    ("amount_yuan", re.compile(r"金额|多少钱|钱数|数目|欠款|工资|借了|赔偿款|损失|费用")),
    ("months_unpaid", re.compile(r"几个月|月数|拖欠了.{0,3}月")),
    ("incident_date", re.compile(r"时间|日期|哪天|什么时候|发生在.{0,4}(?:年|月|号|日)")),
    ("due_date", re.compile(r"还款时间|约定.{0,4}还")),
    ("place_code", re.compile(r"地点|地址|地方|在哪|位置")),
    ("employer", re.compile(r"单位|公司名|老板|厂")),
    ("party", re.compile(r"对方|被申请人")),
    ("estate_name", re.compile(r"小区")),
    ("households", re.compile(r"户数|几户|多少户")),
    ("children", re.compile(r"孩子|小孩|子女")),
    ("injuries", re.compile(r"受伤|伤情|伤")),
    ("accident_report", re.compile(r"认定书")),
    ("insurance", re.compile(r"保险")),
    ("iou", re.compile(r"借条|欠条")),
    ("judgment_court", re.compile(r"法院")),
    ("judgment_case_number", re.compile(r"案号")),
    ("desired_outcome", re.compile(r"诉求|要求|希望|想要")),
    ("steps_taken", re.compile(r"报警|调解过|起诉|措施")),
    ("evidence", re.compile(r"证据")),
    ("what_happened", re.compile(r"经过|情况")),
)
_EDIT_VALUE = re.compile(r"(?:应该是|改成|改为|换成|其实是|实际是|是|为|：|:)\s*(.+)$")
_EDIT_NOISE = re.compile(r"^(?:不对|错了|写错了|有误|不是这个|改一下|改下|要改)[，,。 ]*")
# Kinds of value an edit can name without naming the field ("13912345678" alone is a new phone).
_INFERRED = ("phone", "amount_yuan", "place_code", "incident_date")


def display(slot: str, value: Any, slots: Mapping[str, Any]) -> str:
    """How the summary shows one slot's value."""
    if value is None:
        return "（未填写）"
    if value == UNKNOWN:
        return UNKNOWN
    kind = BY_KEY[slot].kind if slot in BY_KEY else "text"
    if slot == "place_code":
        return str(slots.get("place_name") or (place_name(value) if value else UNKNOWN))
    if kind == "amount" and (isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value))):
        return f"{value}元"
    if kind == "date" and isinstance(value, str) and _ISO_DATE.fullmatch(value):
        y, m, d = value.split("-")
        return f"{int(y)}年{int(m)}月{int(d)}日"
    units = {"months_unpaid": "个月", "households": "户"}
    if slot in units and isinstance(value, (int, float)):
        return f"{value}{units[slot]}"
    return str(value)


def summary_text(slots: Mapping[str, Any]) -> str:
    """Every fact collected, one line each, under the dispute type."""
    code = slots.get("dispute_code") or "other_legal"
    lines = [f"我整理了一下您的情况：\n纠纷类型：{BY_CODE[code].label}"]
    if slots.get("urgent"):
        lines.append("紧急情况：是（已提示报警/急救）")
    for key in needed_facts(code):
        value = slots.get(key)
        text = display(key, value, slots)
        if key == "what_happened" and len(text) > 80:
            text = text[:80] + "……"
        lines.append(f"{BY_KEY[key].label}：{text}")
    return "\n".join(lines)


def summary_question(slots: Mapping[str, Any]) -> Reply:
    """The summary with "is this right?", or the hint on how to correct it once the resident said no."""
    if slots.get("intake_editing"):
        return Reply(EDIT_HINT)
    return Reply(
        summary_text(slots) + "\n\n以上信息对吗？有不对的地方可以直接告诉我，比如“金额不对，是两万八”。",
        (Button("确认无误", "/affirm"), Button("需要修改", "/deny")),
    )


def _edit_target(text: str, allowed: list[str], found: Mapping[str, Any]) -> str | None:
    target = next((key for key, pattern in _EDIT_FIELDS if key in allowed and pattern.search(text)), None)
    if target is None:
        # No field named: infer it from the kind of value given.
        target = next((key for key in _INFERRED if key in found and key in allowed), None)
    return target


def _edit_value(target: str, text: str, found: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    if target in found:
        updates = {target: found[target]}
        if target == "place_code":
            updates["place_name"] = found.get("place_name")
        return updates
    tail = _EDIT_VALUE.search(text)
    answer = parse_answer(target, tail.group(1) if tail else text, today)
    if answer.error is None:
        return {target: answer.value, **answer.extra}
    return {}


def parse_edit(text: str, slots: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """Slot updates asked for by a correction of the summary; {} when nothing is understood."""
    found = extract(text, today)
    target = _edit_target(text, needed_facts(slots.get("dispute_code")), found)
    if target is None:
        return {}
    if BY_KEY[target].kind in ("amount", "phone", "place", "date") or target in ("months_unpaid", "households"):
        return _edit_value(target, text, found, today)
    tail = _EDIT_VALUE.search(text)
    value = clean(tail.group(1)) if tail else clean(_EDIT_NOISE.sub("", text))
    return {target: value} if value else {}


def _edited(updates: Mapping[str, Any], slots: Mapping[str, Any]) -> Reply:
    state = dict(slots)
    changed = []
    for key, value in updates.items():
        state[key] = value  # each value is shown as the slots stand once it is set
        if key in BY_KEY:
            changed.append(f"{BY_KEY[key].label}：{display(key, value, state)}")
    return Reply("好的，已改为 " + "，".join(changed) + "。")


def read_summary_answer(
    text: str, intent: str | None, slots: Mapping[str, Any], today: dt.date
) -> tuple[dict[str, Any], list[Reply]]:
    """The resident's reply to the summary: a correction, a yes, a no; the slot updates and what to say."""
    command = text.strip().startswith("/")  # one of our own buttons
    updates = {} if command else parse_edit(text, slots, today)
    if updates:
        return {**updates, "intake_editing": None, "summary_confirmed": None}, [_edited(updates, slots)]
    if intent == "affirm" or _CONFIRM.fullmatch(clean(text)):
        return {"summary_confirmed": True, "intake_editing": None}, []
    if intent == "deny" or NEGATION.search(text) or "修改" in text:
        return {"intake_editing": True, "summary_confirmed": None}, []
    return {"intake_editing": True}, [Reply("没看明白要改哪一项。")]
