"""Intake (issue 3): classify the dispute, confirm it, collect the facts it needs, summarise, store the case.

The conversation logic lives here as pure functions over the form's slot values, so that it can be tested
without Rasa; `actions/intake.py` only turns a Rasa tracker into a `Turn`, calls `advance()` / `ask()`, and
turns the resulting `Step` into events.

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

import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.domain import values
from sharedcourt.domain.disputes import BY_CODE, BY_INTENT, DisputeType

__all__ = [
    "BY_CODE",
    "BY_INTENT",
    "FACTS",
    "UNKNOWN",
    "Answer",
    "Button",
    "Fact",
    "Say",
    "Step",
    "Turn",
    "advance",
    "ask",
    "case_facts",
    "classify",
    "extract",
    "is_danger",
    "needed_facts",
    "parse_answer",
    "parse_edit",
    "required_slots",
    "save_case",
    "sessions_from_env",
    "summary_text",
]

Kind = Literal["text", "amount", "date", "phone", "place", "count", "yesno"]
UNKNOWN = "不清楚"
FORM = "intake_form"
MAX_RETRIES = 2
CHINA = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    """Residents speak in China time ("昨天" after 16:00 UTC is already another day there)."""
    return dt.datetime.now(CHINA).date()


# --------------------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    key: str  # slot name and key in Case.facts
    label: str  # how the summary names it
    question: str
    kind: Kind = "text"
    # Per dispute type wording of the question.
    variants: Mapping[str, str] = field(default_factory=dict)

    def question_for(self, code: str | None) -> str:
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


def required_slots(slots: Mapping[str, Any]) -> list[str]:
    """What `intake_form` asks for, given what is known so far."""
    code = slots.get("dispute_code")
    dispute = BY_CODE.get(code or "")
    if dispute is None or not slots.get("type_confirmed"):
        return list(TYPE_SLOTS)
    if not dispute.mediable:
        return list(TYPE_SLOTS)
    return [*TYPE_SLOTS, *needed_facts(code), *END_SLOTS]


def all_slot_names() -> list[str]:
    """Every slot the intake uses (the domain must declare exactly these; a test checks it)."""
    return [*TYPE_SLOTS, *(f.key for f in FACTS), *END_SLOTS, *AUX_SLOTS, "urgent", "intake_turns"]


def next_slot(slots: Mapping[str, Any]) -> str | None:
    return next((s for s in required_slots(slots) if slots.get(s) is None), None)


# --------------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Say:
    text: str
    buttons: tuple[Button, ...] = ()


EMERGENCY_TEXT = (
    "【紧急提醒】如果您或家人正面临暴力、威胁或生命危险，请立即拨打110报警；有人受伤或身体不适请拨打120急救。"
    "请先到安全的地方，保护好自己。您的情况已标记为紧急，工作人员会优先处理。"
)
YES_NO = (Button("对", "/affirm"), Button("不对", "/deny"))
NONE_OF_THESE = Button("都不是", "/none_of_these")
EDIT_HINT = "请直接告诉我哪一项要改、改成什么，比如“金额不对，是两万八”“时间是去年十月”“电话换成13912345678”。"
# A short explanation of a type, used when it is offered as a choice.
SHORT_LABEL = {
    "family": "婚姻家庭（离婚、抚养、赡养、继承）",
    "neighbor": "邻里纠纷（噪音、漏水、通道、宅基地边界）",
    "property_mgmt": "物业纠纷（物业费、小区管理）",
    "labor": "劳动争议（欠薪、工伤、辞退）",
    "debt": "借钱欠钱（民间借贷）",
    "finance": "金融纠纷（银行、信用卡、网贷、保险）",
    "traffic": "交通事故",
    "housing": "房屋买卖租赁",
    "land_demolition": "征地拆迁",
    "rural_land": "农村土地（承包地、宅基地、山林）",
    "consumer": "消费维权（买到假货、服务不满意）",
    "medical": "医疗纠纷",
    "personal_injury": "人身伤害赔偿（被打伤、摔伤、被狗咬）",
    "contract": "合同纠纷（装修、承揽、工程款）",
    "environment": "环境污染（噪音、废水、废气）",
    "enforcement": "判决后对方不履行（执行）",
    "criminal": "刑事治安（被打、被骗、被盗）",
    "administrative": "行政争议（对政府部门的决定不服）",
    "other_legal": "其他法律问题咨询",
}
# How the one-sentence read-back names a type.
UNDERSTOOD = {
    "family": "婚姻家庭方面的纠纷",
    "neighbor": "邻里纠纷",
    "property_mgmt": "物业纠纷",
    "labor": "劳动争议",
    "debt": "民间借贷（借钱欠钱）纠纷",
    "finance": "金融纠纷",
    "traffic": "交通事故纠纷",
    "housing": "房屋买卖或租赁纠纷",
    "land_demolition": "征地拆迁纠纷",
    "rural_land": "农村土地纠纷",
    "consumer": "消费者权益纠纷",
    "medical": "医疗纠纷",
    "personal_injury": "人身损害赔偿纠纷",
    "contract": "合同纠纷",
    "environment": "环境污染纠纷",
    "enforcement": "判决生效后对方不履行的执行问题",
    "criminal": "刑事治安问题",
    "administrative": "行政争议",
    "other_legal": "法律咨询",
}
# A sharper read-back when the description names the usual sub-case.
_DETAIL = (
    ("labor", re.compile(r"工资|薪水|工钱|欠薪|血汗钱"), "拖欠工资的劳动争议"),
    ("labor", re.compile(r"工伤"), "工伤赔偿的劳动争议"),
    ("labor", re.compile(r"辞退|开除|解雇"), "被辞退的劳动争议"),
    ("family", re.compile(r"离婚"), "离婚方面的婚姻家庭纠纷"),
    ("family", re.compile(r"赡养|养老"), "赡养老人方面的家庭纠纷"),
    ("family", re.compile(r"遗产|继承"), "遗产继承纠纷"),
    ("family", re.compile(r"抚养"), "子女抚养方面的家庭纠纷"),
    ("neighbor", re.compile(r"漏水|渗水"), "漏水引起的邻里纠纷"),
    ("neighbor", re.compile(r"噪音|吵"), "噪音引起的邻里纠纷"),
    ("property_mgmt", re.compile(r"物业费"), "物业费方面的物业纠纷"),
    ("debt", re.compile(r"借"), "借钱不还的民间借贷纠纷"),
    ("traffic", re.compile(r"撞"), "交通事故赔偿纠纷"),
    ("contract", re.compile(r"装修"), "装修合同纠纷"),
    ("contract", re.compile(r"工程款"), "拖欠工程款的合同纠纷"),
    ("housing", re.compile(r"押金|房租|租"), "房屋租赁纠纷"),
)


def understood_label(code: str, complaint: str = "") -> str:
    for c, pattern, label in _DETAIL:
        if c == code and pattern.search(complaint):
            return label
    return UNDERSTOOD.get(code, BY_CODE[code].label)


def type_choices(codes: Sequence[str]) -> Say:
    lines = [f"{i}. {SHORT_LABEL.get(c, BY_CODE[c].label)}" for i, c in enumerate(codes, 1)]
    lines.append(f"{len(codes) + 1}. 都不是")
    buttons = (*(Button(SHORT_LABEL.get(c, BY_CODE[c].label), f"/dispute_{c}") for c in codes), NONE_OF_THESE)
    return Say("想确认一下，您说的是哪一种？请回复数字：\n" + "\n".join(lines), buttons)


DEFAULT_CHOICES = ("neighbor", "family", "labor", "debt", "property_mgmt", "contract")


def ask(slot: str, slots: Mapping[str, Any], intent: str | None = None) -> list[Say]:
    """The question for `slot`, worded for what is known so far; nothing right after a goodbye."""
    if intent in _PAUSE:
        return []
    code = slots.get("dispute_code")
    if slot == "dispute_code":
        candidates = [c for c in slots.get("type_candidates") or [] if c in BY_CODE]
        if candidates:
            return [type_choices(candidates)]
        if slots.get("complaint"):
            return [type_choices(DEFAULT_CHOICES)]
        return [Say("好的，请用自己的话说说您遇到了什么问题，比如“邻居家漏水淹了我家”“老板欠了三个月工资不给”。")]
    if slot == "type_confirmed":
        label = understood_label(str(code), slots.get("complaint") or "")
        return [Say(f"您遇到的是{label}，对吗？", YES_NO)]
    if slot == "summary_confirmed":
        if slots.get("intake_editing"):
            return [Say(EDIT_HINT)]
        return [
            Say(
                summary_text(slots) + "\n\n以上信息对吗？有不对的地方可以直接告诉我，比如“金额不对，是两万八”。",
                (Button("确认无误", "/affirm"), Button("需要修改", "/deny")),
            )
        ]
    fact = BY_KEY[slot]
    text = fact.question_for(code)
    if fact.kind == "yesno":
        return [Say(text, (Button("有", "有"), Button("没有", "没有")))]
    return [Say(text)]


# --------------------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------------------

CONFIDENT = 0.6  # below: offer choices
CLOSE = 0.2  # a second type within this margin is a close candidate


@dataclass(frozen=True)
class Classification:
    code: str | None  # None: ask with choices
    confidence: float
    candidates: list[str]  # best first, dispute codes only


def offer_choices(ranking: Sequence[Mapping[str, Any]], text: str) -> list[str]:
    """Dispute types to offer for an unclear message (below the fallback threshold, or read as a bare
    "inform"): the closest ones when a dispute leads the ranking or the message is a real description."""
    ranked = [r for r in ranking if r.get("name") != "nlu_fallback"]
    candidates = classify(None, 0.0, ranked).candidates
    if len(candidates) < 2:
        return []
    top_is_dispute = bool(ranked) and str(ranked[0].get("name")) in BY_INTENT
    return candidates if top_is_dispute or len(_CJK.findall(text)) >= 8 else []


def classify(intent: str | None, confidence: float, ranking: Sequence[Mapping[str, Any]]) -> Classification:
    """The dispute type a parsed message names, or the candidates to offer when unsure."""
    scored: dict[str, float] = {}
    for item in [{"name": intent, "confidence": confidence}, *ranking]:
        dispute = BY_INTENT.get(str(item.get("name")))
        if dispute is not None:
            scored[dispute.code] = max(scored.get(dispute.code, 0.0), float(item.get("confidence") or 0.0))
    ranked = sorted(scored.items(), key=lambda kv: -kv[1])
    candidates = [c for c, _ in ranked[:3]]
    if not ranked:
        return Classification(None, 0.0, [])
    top, top_conf = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top_conf >= CONFIDENT and top_conf - second >= CLOSE:
        return Classification(top, top_conf, candidates)
    close = [c for c, s in ranked[:3] if s >= max(0.05, top_conf - 0.35)]
    return Classification(None, top_conf, close if len(close) >= 2 else candidates[:3])


# --------------------------------------------------------------------------------------------------------
# Danger
# --------------------------------------------------------------------------------------------------------

_DANGER = re.compile(
    r"打人|打我|在打|被打|家暴|殴打|动手打|拿刀|持刀|砍|杀了|杀我|弄死|要杀|捅|掐|"
    r"自杀|跳楼|跳河|不想活|想死|死给|喝药|农药|安眠药|寻死|"
    r"着火|放火|烧房|煤气中毒|救命|出人命|绑架|关起来|威胁.{0,6}(?:命|死|打|砍|杀)|堵门|砸门"
)


def is_danger(text: str, intent: str | None = None, confidence: float = 0.0) -> bool:
    """Violence, threats, self-harm or an emergency in progress."""
    return (intent == "emergency" and confidence >= 0.5) or bool(_DANGER.search(text or ""))


# --------------------------------------------------------------------------------------------------------
# Extraction and answers
# --------------------------------------------------------------------------------------------------------

_NOT_KNOWN = re.compile(
    r"^(?:我)?(?:也)?(?:不知道|不清楚|不记得|记不清|忘了|忘记了|说不清|不确定|不好说|不方便|不想说|不留)"
    r"(?:了|的|啊|呀|吧|呢)?$"
)
_NOTHING = re.compile(
    r"^(?:没有|没|无|不涉及|不用|没约定|没有约定|暂时没有|还没有|还没|没什么|没钱的事|跟钱没关系)(?:了|的|啊|呀|吧|呢)?$"
)
NOTHING = "没有"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PUNCT = re.compile(r"[\s，。,.!！?？、~～…]+")
_MONTHS = re.compile(r"([0-9一二两三四五六七八九十半]+)\s?个多?月(?!前|之前|以前)")
_HOUSEHOLDS = re.compile(r"([0-9一二两三四五六七八九十百千]+)\s?(?:多)?户")
_COUNT = re.compile(r"([0-9一二两三四五六七八九十百千]+)")
_YES = re.compile(r"^(?:有|有的|有啊|有了|出了|出具了|开了|都有|是的|对|买了|有买|有保险)")
_NO = re.compile(r"^(?:没有|没|无|还没|还没有|没出|没开|没买|没给|不清楚)")
_NEGATION = re.compile(r"不是|不对|错了|搞错|弄错")
_IOU = re.compile(r"(没有|没|无)?(?:写|打|签)?(?:了)?(?:借条|欠条|借据)")
_REPORT = re.compile(r"(没有|没|还没|未)?(?:出|开|拿到|做)?(?:了)?(?:事故)?(?:责任)?认定书")
_CASE_NUMBER = re.compile(r"[（(]\s?20\d{2}\s?[)）]\s?浙\s?\d{4}\s?[\u4e00-\u9fff]{1,4}\s?\d{1,6}\s?号")
_COURT = re.compile(r"[\u4e00-\u9fff]{2,12}?(?:人民法院|法院)")
_ESTATE = re.compile(r"(?:住在|住|在|是|我们|我家)?([\u4e00-\u9fff]{2,6}?(?:小区|花园|公寓|家园|苑))")


def _clean(text: str) -> str:
    return _PUNCT.sub(" ", text or "").strip()


def not_known(text: str) -> bool:
    """ "不知道", "没有", "不涉及": an answer that gives no value."""
    bare = _PUNCT.sub("", text or "")
    return bool(_NOT_KNOWN.match(bare) or _NOTHING.match(bare))


def _count(text: str) -> int | None:
    match = _COUNT.search(text)
    if not match:
        return None
    raw = match.group(1)
    if raw.isdigit():
        return int(raw)
    try:
        return int(values._cn2an().cn2an(raw, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


@functools.lru_cache(maxsize=1)
def _gazetteer() -> Any:
    from sharedcourt.sites.places import Gazetteer

    return Gazetteer.load()


@dataclass(frozen=True)
class PlaceAnswer:
    code: str | None
    name: str
    choices: list[tuple[str, str]]  # (code, full name) to offer when ambiguous or too vague


def warm_up() -> None:
    """Load the date/money parsers and the gazetteer now (call from a start-up hook, never at import)."""
    values.warm_up()
    _gazetteer()


def resolve_place(text: str) -> PlaceAnswer | None:
    """A Quzhou place named in the text (None when no place is named)."""
    gaz = _gazetteer()
    res = gaz.resolve(text)
    if not res.found:
        return None
    if res.ambiguous:
        options = gaz.choices(res)[:8]
        return PlaceAnswer(None, "", [(p.code, p.full_name) for p in options])
    best = res.best
    return PlaceAnswer(best.code, best.full_name, [])


def place_name(code: str) -> str:
    place = _gazetteer().get(code)
    return place.full_name if place else code


def extract(text: str, today: dt.date, entities: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Facts found anywhere in a free-text message (the same extraction `understand_text` reports).

    Keys are slot names: amount_yuan, incident_date, phone, id_number, place_code (+ place_name), party,
    months_unpaid, households, iou, accident_report, judgment_case_number, judgment_court, estate_name.
    """
    # A case number's year and serial ("（2024）浙0802民初123号") are neither money nor a date.
    plain = _CASE_NUMBER.sub(lambda m: "，" * len(m.group(0)), text)
    facts: dict[str, Any] = dict(values.extract_facts(plain, today))
    facts.pop("amount_approximate", None)
    place = resolve_place(text)
    if place is not None and place.code:
        facts["place_code"] = place.code
        facts["place_name"] = place.name
    for entity in entities:
        if entity.get("entity") == "party" and entity.get("value"):
            facts.setdefault("party", str(entity["value"]))
    months = _MONTHS.search(text)
    if months and re.search(r"工资|薪|工钱|没发|不发|拖欠|欠", text):
        n = 0.5 if months.group(1) == "半" else _count(months.group(1))
        if n:
            facts["months_unpaid"] = n
    households = _HOUSEHOLDS.search(text)
    if households:
        n = _count(households.group(1))
        if n:
            facts["households"] = n
    iou = _IOU.search(text)
    if iou:
        facts["iou"] = "没有" if iou.group(1) else "有"
    report = _REPORT.search(text)
    if report:
        facts["accident_report"] = "没有" if report.group(1) else "有"
    case_number = _CASE_NUMBER.search(text)
    if case_number:
        facts["judgment_case_number"] = re.sub(r"\s", "", case_number.group(0))
    court = _COURT.search(text)
    if court and court.group(0) not in ("法院", "人民法院"):
        facts["judgment_court"] = court.group(0)
    estate = _ESTATE.search(text)
    if estate:
        facts["estate_name"] = estate.group(1)
    # An amount that is really a month count ("三个月") or a date is filtered by values; a "months" amount
    # of a labour complaint is not money.
    return facts


@dataclass(frozen=True)
class Answer:
    """The resident's answer to one question: a value to store, or a re-ask."""

    value: Any = None
    error: Say | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other slots to set with it (place_name)


def _county_buttons() -> tuple[Button, ...]:
    gaz = _gazetteer()
    return tuple(Button(p.full_name, p.full_name) for p in sorted(gaz.counties(), key=lambda p: p.code))


def parse_answer(slot: str, text: str, today: dt.date, *, retries: int = 0) -> Answer:
    """Parse the answer to the question for `slot`; after MAX_RETRIES failures the raw text is kept."""
    fact = BY_KEY[slot]
    clean = _clean(text)
    if not clean:
        return Answer(error=Say("没有收到内容，请再说一下。"))
    give_up = retries >= MAX_RETRIES
    if not_known(clean) and slot != "phone":
        nothing = bool(_NOTHING.match(_PUNCT.sub("", clean)))
        return Answer(NOTHING if nothing and fact.kind in ("text", "yesno") else UNKNOWN)
    if fact.kind == "amount":
        amount = values.extract_facts(text, today).get("amount_yuan")
        if amount is not None:
            return Answer(amount)
        if give_up:
            return Answer(clean)
        return Answer(error=Say("金额没看明白。请说一个数，比如“两万三”“3.5万”“五千块”；不涉及钱可以说“不涉及”。"))
    if fact.kind == "date":
        found = values.parse_date(text, today)
        if found is not None:
            if slot == "incident_date" and found > today:
                return Answer(error=Say("这个日期还没到呢。请说一下事情已经发生的时间，比如“上个月”“去年十月”。"))
            return Answer(found.isoformat())
        if give_up:
            return Answer(clean)
        return Answer(error=Say("时间没看明白。可以说“上周三”“去年十月”“2024年5月”这样的说法；不记得可以说“不记得”。"))
    if fact.kind == "phone":
        phone = values.parse_phone(text)
        if phone is not None:
            return Answer(phone)
        if give_up or re.search(r"不方便|不想|不留|不给", clean):
            return Answer("未提供")
        return Answer(error=Say("这个号码好像不对。请输入11位手机号，或0570开头的座机号，比如“0570-8012345”。"))
    if fact.kind == "place":
        place = resolve_place(text)
        if place is not None and place.code:
            return Answer(place.code, extra={"place_name": place.name})
        if place is not None and place.choices:
            lines = "\n".join(f"{i}. {name}" for i, (_, name) in enumerate(place.choices, 1))
            buttons = tuple(Button(name, name) for _, name in place.choices)
            return Answer(error=Say("有几个地方叫这个名字，您说的是哪一个？请回复数字：\n" + lines, buttons))
        if give_up:
            return Answer("", extra={"place_name": clean})
        return Answer(
            error=Say(
                "没找到这个地方。请说一下在衢州的哪个县（市、区），最好带上乡镇（街道）或村（社区），"
                "比如“柯城区白云街道”“江山贺村镇”：",
                _county_buttons(),
            )
        )
    if fact.kind == "count":
        n = 0.5 if "半" in clean and slot == "months_unpaid" else _count(clean)
        if n is not None:
            return Answer(n)
        if give_up:
            return Answer(clean)
        return Answer(error=Say("请说一个数字，比如“3个月”“二十户”。"))
    if fact.kind == "yesno":
        if _YES.match(clean):
            return Answer("有" if len(clean) <= 3 else clean)
        if _NO.match(clean):
            return Answer("没有" if len(clean) <= 3 else clean)
        return Answer(clean)
    return Answer(clean)


# --------------------------------------------------------------------------------------------------------
# Summary and edits
# --------------------------------------------------------------------------------------------------------


def display(slot: str, value: Any, slots: Mapping[str, Any]) -> str:
    if value is None:
        return "（未填写）"
    if value == UNKNOWN:
        return UNKNOWN
    kind = BY_KEY[slot].kind if slot in BY_KEY else "text"
    if slot == "place_code":
        return str(slots.get("place_name") or (place_name(value) if value else UNKNOWN))
    if kind == "amount" and (isinstance(value, (int, float)) or _is_number(value)):
        return f"{value}元"
    if kind == "date" and isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        y, m, d = value.split("-")
        return f"{int(y)}年{int(m)}月{int(d)}日"
    if slot == "months_unpaid" and isinstance(value, (int, float)):
        return f"{value}个月"
    if slot == "households" and isinstance(value, (int, float)):
        return f"{value}户"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"\d+(?:\.\d+)?", value))


def summary_text(slots: Mapping[str, Any]) -> str:
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


def parse_edit(text: str, slots: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """Slot updates asked for by a correction of the summary; {} when nothing is understood."""
    code = slots.get("dispute_code")
    allowed = needed_facts(code)
    target = next((key for key, pattern in _EDIT_FIELDS if key in allowed and pattern.search(text)), None)
    found = extract(text, today)
    if target is None:
        # No field named: infer it from the kind of value given.
        for key in ("phone", "amount_yuan", "place_code", "incident_date"):
            if key in found and key in allowed:
                target = key
                break
    if target is None:
        return {}
    kind = BY_KEY[target].kind
    if kind in ("amount", "phone", "place", "date") or target in ("months_unpaid", "households"):
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
    tail = _EDIT_VALUE.search(text)
    value = _clean(tail.group(1)) if tail else _clean(_EDIT_NOISE.sub("", text))
    return {target: value} if value else {}


# --------------------------------------------------------------------------------------------------------
# One form turn
# --------------------------------------------------------------------------------------------------------

# Intents that leave the form (rules take over): the resident asked for something else.
ESCAPE_INTENTS = frozenset(
    {"restart", "request_human", "none_of_these", "find_site", "my_bookings", "my_case", "cancel",
     "reschedule", "help", "end_human"}
)  # fmt: skip
_ESCAPE_CONFIDENCE = 0.6
# An answer in words ("找过调解员了" to "what have you tried?") can look like a request; be surer there.
_ESCAPE_CONFIDENCE_WORDS = 0.85


def _escape_confidence(requested: str | None) -> float:
    fact = BY_KEY.get(requested or "")
    return _ESCAPE_CONFIDENCE_WORDS if fact is not None and fact.kind in ("text", "yesno") else _ESCAPE_CONFIDENCE


_PAUSE = frozenset({"goodbye"})
_SMALL_TALK = {"greet": "欢迎回来！我们接着上次的来。", "thanks": "不客气。我们接着来。"}


@dataclass(frozen=True)
class Turn:
    """One user message as the form sees it."""

    text: str
    intent: str | None = None
    confidence: float = 0.0
    ranking: Sequence[Mapping[str, Any]] = ()
    entities: Sequence[Mapping[str, Any]] = ()


@dataclass
class Step:
    """What one form turn decided."""

    updates: dict[str, Any] = field(default_factory=dict)
    messages: list[Say] = field(default_factory=list)
    reject: bool = False  # leave the form: nothing is set, the rules handle the message
    became_urgent: bool = False


def fresh_updates(slots: Mapping[str, Any]) -> dict[str, Any]:
    """Updates that clear a finished intake so that a new one can start (urgency is kept)."""
    clear = [*TYPE_SLOTS, *(f.key for f in FACTS), *END_SLOTS, *AUX_SLOTS]
    return {k: None for k in clear if slots.get(k) is not None}


def join_complaint(complaint: str | None, text: str) -> str:
    """The resident's description so far plus one more message."""
    return ((complaint or "") + " " + _clean(text)).strip()


def in_progress(slots: Mapping[str, Any]) -> bool:
    """An intake was interrupted half-way (the form should go on when the resident comes back)."""
    return slots.get("requested_slot") is not None and not finished(slots)


def finished(slots: Mapping[str, Any]) -> bool:
    """A case was stored for this intake."""
    dispute = BY_CODE.get(slots.get("dispute_code") or "")
    mediable = dispute is None or dispute.mediable
    return bool(slots.get("case_number")) and (bool(slots.get("summary_confirmed")) or not mediable)


def advance(slots: Mapping[str, Any], turn: Turn, today: dt.date) -> Step:
    """Run one turn of `intake_form`: classify, confirm, extract facts, parse the answer, handle edits."""
    step = Step()
    state: dict[str, Any] = dict(slots)
    requested = state.get("requested_slot")
    text = turn.text or ""

    def put(key: str, value: Any) -> None:
        state[key] = value
        step.updates[key] = value

    activating = requested is None
    if activating and state.get("dispute_code"):
        # A finished intake, or an interrupted one about something else, makes room for the new complaint;
        # an interrupted one about the same thing ("我要调解" again, or the same type) goes on.
        named = classify(turn.intent, turn.confidence, turn.ranking).code if turn.intent in BY_INTENT else None
        if finished(state) or named not in (None, state["dispute_code"]):
            for k, v in fresh_updates(state).items():
                put(k, v)

    structured = _structured_answer(requested, text, today)
    if (
        turn.intent in ESCAPE_INTENTS
        and turn.confidence >= _escape_confidence(requested)
        and not activating
        and not structured
        and not (turn.intent == "none_of_these" and requested not in ("dispute_code", "type_confirmed"))
    ):
        return Step(reject=True)
    if turn.intent == "none_of_these" and requested in ("dispute_code", "type_confirmed"):
        return Step(reject=True)

    put("intake_turns", int(state.get("intake_turns") or 0) + 1)

    if is_danger(text, turn.intent, turn.confidence):
        step.messages.append(Say(EMERGENCY_TEXT))
        if not state.get("urgent"):
            step.became_urgent = True
        put("urgent", True)

    small_talk = not activating and turn.confidence >= 0.6 and not structured
    if small_talk and turn.intent in _PAUSE:
        # The form stays active: whenever the resident writes again, the intake goes on (see `ask`).
        step.messages.append(Say("好的，您先忙。您说过的内容我都记着，下次回来我们接着聊。"))
        return step
    if small_talk and turn.intent in _SMALL_TALK:
        step.messages.append(Say(_SMALL_TALK[str(turn.intent)]))
        return step

    command = text.strip().startswith("/")  # one of our own buttons
    describing = requested in (None, "dispute_code", "type_confirmed") and not command
    if describing and turn.intent not in ("affirm", "deny", "greet") and len(_clean(text)) >= 4:
        put("complaint", join_complaint(state.get("complaint"), text))

    # --- the dispute type -------------------------------------------------------------------------
    dispute_intent = BY_INTENT.get(turn.intent or "")
    if requested in (None, "dispute_code") and not state.get("type_confirmed"):
        worth_classifying = dispute_intent is not None or (requested == "dispute_code" and describing)
        result = (
            classify(turn.intent, turn.confidence, turn.ranking) if worth_classifying else Classification(None, 0, [])
        )
        chosen_from_list = (
            dispute_intent is not None
            and requested == "dispute_code"
            and dispute_intent.code in (state.get("type_candidates") or [])
            and (command or turn.confidence >= 0.5)
        )
        if chosen_from_list and dispute_intent is not None:
            put("dispute_code", dispute_intent.code)
            put("type_confirmed", True)
        elif result.code is not None:
            put("dispute_code", result.code)
            put("type_candidates", result.candidates)
            if not BY_CODE[result.code].mediable or (command and turn.confidence >= 0.99):
                put("type_confirmed", True)
        elif result.candidates:
            put("type_candidates", result.candidates)
        elif requested == "dispute_code" and state.get("complaint"):
            put("type_candidates", list(DEFAULT_CHOICES))
    elif requested == "type_confirmed":
        if turn.intent == "affirm":
            put("type_confirmed", True)
        elif (
            dispute_intent is not None
            and dispute_intent.code != state.get("dispute_code")
            and (command or turn.confidence >= CONFIDENT or _NEGATION.search(text))
        ):
            put("dispute_code", dispute_intent.code)
            put("type_confirmed", True if (_NEGATION.search(text) or command) else None)
            if not BY_CODE[dispute_intent.code].mediable:
                put("type_confirmed", True)
        elif turn.intent == "deny" or _NEGATION.search(text):
            denied = state.get("dispute_code")
            others = [c for c in state.get("type_candidates") or [] if c != denied]
            put("dispute_code", None)
            put("type_candidates", others or [c for c in DEFAULT_CHOICES if c != denied][:4])
            step.messages.append(Say("好的，是我理解错了。"))
        elif dispute_intent is not None and dispute_intent.code == state.get("dispute_code"):
            put("type_confirmed", True)  # more detail about the same thing: a yes

    # --- facts anywhere in the message ------------------------------------------------------------
    code = state.get("dispute_code")
    wanted = set(needed_facts(code)) if code else {f.key for f in FACTS}
    found = extract(text, today, turn.entities) if not command else {}
    if requested == "summary_confirmed":
        found = {}  # edits are handled below, never silently
    elif requested in BY_KEY and len(_CJK.findall(text)) < 4:
        found = {}  # a short answer ("138123", "3") answers the question asked, nothing else
    for key, value in found.items():
        if key == "place_name":
            continue
        if key in wanted and state.get(key) is None and key != requested:
            put(key, value)
            if key == "place_code":
                put("place_name", found.get("place_name"))
    if state.get("type_confirmed") and state.get("what_happened") is None and "what_happened" in wanted:
        complaint = state.get("complaint") or ""
        if len(complaint) >= 12:
            put("what_happened", complaint)

    # --- the answer to the question asked -----------------------------------------------------------
    if requested in BY_KEY and state.get(requested) is None:
        retries = dict(state.get("intake_retries") or {})
        answer = parse_answer(requested, text, today, retries=retries.get(requested, 0))
        if answer.error is None:
            put(requested, answer.value)
            for k, v in answer.extra.items():
                put(k, v)
        else:
            retries[requested] = retries.get(requested, 0) + 1
            put("intake_retries", retries)
            step.messages.append(answer.error)
    elif requested == "summary_confirmed":
        _summary_turn(state, turn, today, step, put)

    return step


def _structured_answer(requested: str | None, text: str, today: dt.date) -> bool:
    """The message answers a number/date/phone/place question (so it is no escape)."""
    fact = BY_KEY.get(requested or "")
    if fact is None or fact.kind not in ("amount", "date", "phone", "place"):
        return False
    return parse_answer(fact.key, text, today, retries=0).error is None and not not_known(_clean(text))


_CONFIRM = re.compile(r"(?:确认|确认无误|没问题|对的|对|是的|正确|没错)[的了啊吧]?")


def _summary_turn(state: dict[str, Any], turn: Turn, today: dt.date, step: Step, put: Any) -> None:
    text = turn.text or ""
    command = text.strip().startswith("/")
    updates = {} if command else parse_edit(text, state, today)
    if updates:
        changed = []
        for k, v in updates.items():
            put(k, v)
            if k in BY_KEY:
                changed.append(f"{BY_KEY[k].label}：{display(k, v, state)}")
        put("intake_editing", None)
        put("summary_confirmed", None)
        step.messages.append(Say("好的，已改为 " + "，".join(changed) + "。"))
        return
    if turn.intent == "affirm" or re.fullmatch(
        r"(?:确认|确认无误|没问题|对的|对|是的|正确|没错)[的了啊吧]?", _clean(text)
    ):
        put("summary_confirmed", True)
        put("intake_editing", None)
        return
    if turn.intent == "deny" or _NEGATION.search(text) or "修改" in text:
        put("intake_editing", True)
        put("summary_confirmed", None)
        return
    put("intake_editing", True)
    step.messages.append(Say("没看明白要改哪一项。"))


# --------------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------------


def case_facts(slots: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised facts stored in Case.facts (unknown answers listed under "unknown")."""
    code = slots.get("dispute_code")
    facts: dict[str, Any] = {}
    unknown = []
    keys = needed_facts(code) if code else [f.key for f in FACTS]
    for key in keys:
        value = slots.get(key)
        if value is None:
            continue
        if value == UNKNOWN:
            unknown.append(key)
            continue
        if key == "place_code":
            if value:
                facts["place_code"] = value
            if slots.get("place_name"):
                facts["place_name"] = slots["place_name"]
            continue
        facts[key] = value
    if unknown:
        facts["unknown"] = unknown
    if slots.get("complaint"):
        facts["complaint"] = slots["complaint"]
    return facts


def case_number(case_id: int, year: int) -> str:
    return f"QZ{year}-{case_id:06d}"


async def save_case(
    sessions: async_sessionmaker[AsyncSession],
    conversation_id: str,
    slots: Mapping[str, Any],
    *,
    status: str,
) -> str:
    """Create or update this conversation's case from the intake slots; returns its number.

    The case of `slots["case_number"]` (an urgent or handed-off case stored earlier in the same intake) is
    updated; otherwise a new one is made.
    """
    from sharedcourt.db.case import Case
    from sharedcourt.db.conversation import Conversation, Resident
    from sharedcourt.db.session import unit_of_work

    async with unit_of_work(sessions) as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            # A conversation that did not come through the front door (rasa shell, tests): record it.
            resident = await session.scalar(
                select(Resident).where(Resident.channel == "rasa", Resident.channel_user_id == conversation_id)
            )
            if resident is None:
                resident = Resident(channel="rasa", channel_user_id=conversation_id)
                session.add(resident)
                await session.flush()
            conversation = Conversation(id=conversation_id, resident_id=resident.id, channel="rasa")
            session.add(conversation)
            await session.flush()
        case = None
        if slots.get("case_number"):
            case = await session.scalar(
                select(Case).where(Case.number == slots["case_number"], Case.conversation_id == conversation_id)
            )
        if case is None:
            case = Case(resident_id=conversation.resident_id, conversation_id=conversation_id)
            session.add(case)
            await session.flush()
            case.number = case_number(case.id, today().year)
        case.dispute_code = slots.get("dispute_code")
        case.urgent = bool(slots.get("urgent")) or case.urgent
        case.status = status
        facts = case_facts(slots)
        facts["transcript"] = conversation_id
        case.facts = facts
        case.summary = summary_text(slots) if slots.get("dispute_code") else ""
        number = case.number
        assert number is not None
        return number


@functools.lru_cache(maxsize=1)
def _env_sessions() -> async_sessionmaker[AsyncSession]:
    from sharedcourt.db.session import make_engine, make_sessionmaker
    from sharedcourt.settings import Settings

    return make_sessionmaker(make_engine(Settings.from_env().database_url))


def sessions_from_env() -> async_sessionmaker[AsyncSession]:
    """The action server's session factory: engine made on first use, once per process (DATABASE_URL)."""
    return _env_sessions()


def outcome(slots: Mapping[str, Any], number: str) -> Say:
    """What the resident reads when the intake ends."""
    code = slots.get("dispute_code") or "other_legal"
    dispute: DisputeType = BY_CODE[code]
    if not dispute.mediable:
        return Say(
            f"{dispute.redirect}\n如果还需要帮助，可以转人工服务（登记号 {number}）。",
            (Button("转人工服务", "/request_human"), Button("重新开始", "/restart")),
        )
    return Say(
        f"好的，已为您登记，案件编号 {number}。调解员会根据这些信息和您联系。"
        "接下来您可以找最近的共享法庭预约调解，或者直接联系调解员：",
        (Button("预约调解", "/find_site"), Button("联系调解员", "/request_human")),
    )
