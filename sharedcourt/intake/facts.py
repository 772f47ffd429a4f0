"""The facts a mediator needs for each dispute type, the question for each, and the intake's slots.

Slots (all filled by the `intake_form` validation action, never by Rasa's own mappings):
- ``dispute_code`` (one of `disputes.CODES`), ``type_confirmed`` (bool), ``type_candidates`` (codes offered as
  numbered choices), ``complaint`` (the resident's own description, all messages joined);
- one slot per fact (`FACTS`), in the order asked; ``place_code`` comes with ``place_name``;
- ``summary_confirmed`` (bool), ``urgent`` (bool), ``case_number``, ``intake_turns`` (counter: any form turn
  that the form accepts sets it, so that only deliberate rejections leave the form), ``intake_retries``
  (failed answers per slot), ``intake_editing`` (the resident said the summary is wrong).

A fact slot holds the normalised value (amount in yuan as int/str, date as ISO string, phone, place code) or a
text answer; `UNKNOWN` means the resident does not know or the fact does not apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sharedcourt.domain.disputes import BY_CODE

Kind = Literal["text", "amount", "date", "phone", "place", "count", "yesno"]
UNKNOWN = "不清楚"
NOTHING = "没有"
FORM = "intake_form"


@dataclass(frozen=True)
class Fact:
    """One fact the intake asks for: its slot, how the summary names it, and the question."""

    key: str  # slot name and key in Case.facts
    label: str  # how the summary names it
    question: str
    kind: Kind = "text"
    # Per dispute type wording of the question.
    variants: Mapping[str, str] = field(default_factory=dict)

    def question_for(self, code: str | None) -> str:
        """The question, worded for this dispute type."""
        return self.variants.get(code or "", self.question)


FACTS: tuple[Fact, ...] = (
    Fact(
        "party",
        "对方",
        "对方是谁？是个人还是单位，和您是什么关系？（比如“邻居张某”“某某装修公司”）",
        variants={
            "family": "对方是您的什么人？（比如丈夫、妻子、父母、兄弟姐妹）",
            "property_mgmt": "是哪家物业公司，或者是业主委员会？",
            "traffic": "对方是谁？是司机本人、车主还是运输公司？",
            "medical": "是哪家医院或诊所？",
            "debt": "是谁欠您的钱（或您欠谁的）？和您是什么关系？",
        },
    ),
    Fact("employer", "用工单位", "欠您工资（或和您有劳动纠纷）的是哪家单位？公司、工厂、工地或老板的名字都可以。"),
    Fact("what_happened", "事情经过", "能具体说说事情经过吗？发生了什么，现在是什么情况？"),
    Fact(
        "incident_date",
        "发生时间",
        "这件事大概是什么时候发生的？（比如“上周三”“去年十月”，不记得可以说“不记得”）",
        "date",
    ),
    Fact(
        "place_code",
        "发生地点",
        "事情发生在哪里？请说一下衢州的哪个县（市、区）、乡镇（街道）或村（社区）。",
        "place",
    ),
    Fact(
        "amount_yuan",
        "涉及金额",
        "涉及的金额大概是多少？（比如“两万三”“3.5万”，不涉及钱可以说“不涉及”）",
        "amount",
        variants={
            "labor": "一共被拖欠（或要求赔偿）多少钱？",
            "debt": "借款（欠款）的金额是多少？",
            "traffic": "目前的损失或医药费大概多少钱？",
        },
    ),
    Fact("months_unpaid", "拖欠月数", "工资一共拖欠了几个月？", "count"),
    Fact("injuries", "受伤情况", "有人受伤吗？伤得怎么样，现在在治疗吗？"),
    Fact("accident_report", "事故认定书", "交警出具《道路交通事故认定书》了吗？责任是怎么认定的？", "yesno"),
    Fact("insurance", "保险情况", "双方车辆有交强险、商业险吗？保险公司介入了吗？", "yesno"),
    Fact("children", "子女情况", "有没有孩子？孩子多大，现在跟谁生活？"),
    Fact("estate_name", "小区名称", "是哪个小区？"),
    Fact("households", "涉及户数", "大概涉及多少户业主？只有您一家可以说“一户”。", "count"),
    Fact("iou", "借条欠条", "有借条、欠条或转账记录吗？", "yesno"),
    Fact("due_date", "约定还款时间", "当时约定什么时候还？（没约定可以说“没约定”）", "date"),
    Fact("judgment_court", "判决法院", "是哪个法院作出的判决（或调解书）？"),
    Fact(
        "judgment_case_number", "案号", "判决书上的案号是多少？（比如“（2024）浙0802民初123号”，不知道可以说“不知道”）"
    ),
    Fact("desired_outcome", "诉求", "您希望怎么解决？（比如要回多少钱、道歉、停止侵害、离婚等）"),
    Fact(
        "steps_taken",
        "已采取的措施",
        "之前有没有报警、找村里或其他部门调解过，或者已经起诉、有判决了？",
    ),
    Fact("evidence", "现有证据", "您手上有哪些证据？（比如合同、借条、聊天记录、转账记录、照片、病历）"),
    Fact("phone", "联系电话", "请留一个联系电话，方便调解员联系您（手机号或0570开头的座机）。", "phone"),
)
BY_KEY: dict[str, Fact] = {f.key: f for f in FACTS}

# Which facts each type needs, in the order they are asked (the common tail is added to every mediable type).
_COMMON_HEAD = ("party", "what_happened", "incident_date", "place_code")
_COMMON_TAIL = ("desired_outcome", "steps_taken", "evidence", "phone")
_NO_AMOUNT = frozenset({"family", "neighbor", "rural_land", "environment"})
_SPECIFIC: dict[str, tuple[str, ...]] = {
    "labor": ("months_unpaid",),
    "traffic": ("injuries", "accident_report", "insurance"),
    "family": ("children",),
    "property_mgmt": ("estate_name", "households"),
    "debt": ("iou", "due_date"),
    "enforcement": ("judgment_court", "judgment_case_number"),
    "personal_injury": ("injuries",),
    "medical": ("injuries",),
}
TYPE_SLOTS = ("dispute_code", "type_confirmed")
END_SLOTS = ("summary_confirmed",)
# Slots that belong to the intake and are cleared when a new one starts.
AUX_SLOTS = (
    "type_candidates",
    "complaint",
    "place_name",
    "intake_retries",
    "intake_editing",
    "case_number",
)


def needed_facts(code: str | None) -> list[str]:
    """The facts a mediator needs for this dispute type, in asking order ([] for non-mediable types)."""
    dispute = BY_CODE.get(code or "")
    if dispute is None or not dispute.mediable:
        return []
    head = list(_COMMON_HEAD)
    if code == "labor":
        head[0] = "employer"  # the other party of a labour dispute is the employer
    facts = [*head]
    if code not in _NO_AMOUNT:
        facts.append("amount_yuan")
    facts += _SPECIFIC.get(code or "", ())
    facts += _COMMON_TAIL
    return facts


def wanted_facts(code: str | None) -> list[str]:
    """The facts worth keeping for this intake: its type's, or every fact while the type is unknown."""
    return needed_facts(code) if code else [f.key for f in FACTS]


def required_slots(slots: Mapping[str, Any]) -> list[str]:
    """What `intake_form` asks for, given what is known so far."""
    code = slots.get("dispute_code")
    dispute = BY_CODE.get(code or "")
    if dispute is None or not slots.get("type_confirmed"):
        return list(TYPE_SLOTS)
    if not dispute.mediable:
        return list(TYPE_SLOTS)
    return [*TYPE_SLOTS, *needed_facts(code), *END_SLOTS]


def ask_slots() -> list[str]:
    """Every slot the form can ask for (one `action_ask_<slot>` each)."""
    return [*TYPE_SLOTS, *(f.key for f in FACTS), *END_SLOTS]


def all_slot_names() -> list[str]:
    """Every slot the intake uses (the domain must declare exactly these; a test checks it)."""
    return [*ask_slots(), *AUX_SLOTS, "urgent", "intake_turns"]


def next_slot(slots: Mapping[str, Any]) -> str | None:
    """The first required slot still empty (None: the form is done)."""
    return next((s for s in required_slots(slots) if slots.get(s) is None), None)


def fresh_updates(slots: Mapping[str, Any]) -> dict[str, Any]:
    """Updates that clear a finished intake so that a new one can start (urgency is kept)."""
    clear = [*ask_slots(), *AUX_SLOTS]
    return {k: None for k in clear if slots.get(k) is not None}


def finished(slots: Mapping[str, Any]) -> bool:
    """A case was stored for this intake."""
    dispute = BY_CODE.get(slots.get("dispute_code") or "")
    mediable = dispute is None or dispute.mediable
    return bool(slots.get("case_number")) and (bool(slots.get("summary_confirmed")) or not mediable)


def in_progress(slots: Mapping[str, Any]) -> bool:
    """An intake was interrupted half-way (the form should go on when the resident comes back)."""
    return slots.get("requested_slot") is not None and not finished(slots)


def mediable(slots: Mapping[str, Any]) -> bool:
    """The intake's dispute type is one a Shared Court mediates (False while the type is unknown)."""
    dispute = BY_CODE.get(slots.get("dispute_code") or "")
    return dispute is not None and dispute.mediable
