"""The dispute types: stable codes used in data, cases, analytics and the API, and how residents read them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DisputeType:
    """One kind of dispute: its code, the names a resident reads, and whether a Shared Court mediates it."""

    code: str
    label: str  # what a resident reads (summaries, staff pages)
    mediable: bool  # can be mediated at a Shared Court
    # A short explanation, when the type is offered as one of several choices ("" means the label).
    choice: str = ""
    # How the one-sentence read-back names it ("您遇到的是…，对吗？"; "" means the label).
    understood: str = ""
    # A sharper read-back when the resident's description names a usual sub-case: (regex, read-back).
    sub_cases: tuple[tuple[str, str], ...] = ()
    # Where to go instead, for types a Shared Court does not mediate.
    redirect: str = ""

    @property
    def intent(self) -> str:
        """The Rasa intent that carries this type."""
        return f"dispute_{self.code}"

    @property
    def choice_label(self) -> str:
        """The type as a numbered choice or a button."""
        return self.choice or self.label

    @property
    def understood_label(self) -> str:
        """The type as the read-back names it, when no sub-case is recognised."""
        return self.understood or self.label


DISPUTE_TYPES: tuple[DisputeType, ...] = (
    DisputeType(
        "family",
        "婚姻家庭继承纠纷",
        True,
        choice="婚姻家庭（离婚、抚养、赡养、继承）",
        understood="婚姻家庭方面的纠纷",
        sub_cases=(
            ("离婚", "离婚方面的婚姻家庭纠纷"),
            ("赡养|养老", "赡养老人方面的家庭纠纷"),
            ("遗产|继承", "遗产继承纠纷"),
            ("抚养", "子女抚养方面的家庭纠纷"),
        ),
    ),
    DisputeType(
        "neighbor",
        "邻里纠纷",
        True,
        choice="邻里纠纷（噪音、漏水、通道、宅基地边界）",
        sub_cases=(("漏水|渗水", "漏水引起的邻里纠纷"), ("噪音|吵", "噪音引起的邻里纠纷")),
    ),
    DisputeType(
        "property_mgmt",
        "物业纠纷",
        True,
        choice="物业纠纷（物业费、小区管理）",
        sub_cases=(("物业费", "物业费方面的物业纠纷"),),
    ),
    DisputeType(
        "labor",
        "劳动争议",
        True,
        choice="劳动争议（欠薪、工伤、辞退）",
        sub_cases=(
            ("工资|薪水|工钱|欠薪|血汗钱", "拖欠工资的劳动争议"),
            ("工伤", "工伤赔偿的劳动争议"),
            ("辞退|开除|解雇", "被辞退的劳动争议"),
        ),
    ),
    DisputeType(
        "debt",
        "民间借贷债务纠纷",
        True,
        choice="借钱欠钱（民间借贷）",
        understood="民间借贷（借钱欠钱）纠纷",
        sub_cases=(("借", "借钱不还的民间借贷纠纷"),),
    ),
    DisputeType("finance", "金融纠纷", True, choice="金融纠纷（银行、信用卡、网贷、保险）"),
    DisputeType(
        "traffic",
        "交通事故纠纷",
        True,
        choice="交通事故",
        sub_cases=(("撞", "交通事故赔偿纠纷"),),
    ),
    DisputeType(
        "housing",
        "房屋买卖租赁纠纷",
        True,
        choice="房屋买卖租赁",
        understood="房屋买卖或租赁纠纷",
        sub_cases=(("押金|房租|租", "房屋租赁纠纷"),),
    ),
    DisputeType("land_demolition", "征地拆迁纠纷", True, choice="征地拆迁"),
    DisputeType(
        "rural_land",
        "农村土地纠纷（承包、宅基地、山林）",
        True,
        choice="农村土地（承包地、宅基地、山林）",
        understood="农村土地纠纷",
    ),
    DisputeType("consumer", "消费者权益纠纷", True, choice="消费维权（买到假货、服务不满意）"),
    DisputeType("medical", "医疗纠纷", True),
    DisputeType("personal_injury", "人身损害赔偿纠纷", True, choice="人身伤害赔偿（被打伤、摔伤、被狗咬）"),
    DisputeType(
        "contract",
        "合同纠纷（装修、承揽、建设工程）",
        True,
        choice="合同纠纷（装修、承揽、工程款）",
        understood="合同纠纷",
        sub_cases=(("装修", "装修合同纠纷"), ("工程款", "拖欠工程款的合同纠纷")),
    ),
    DisputeType("environment", "环境污染纠纷", True, choice="环境污染（噪音、废水、废气）"),
    DisputeType(
        "enforcement",
        "执行问题（判决后不履行）",
        True,
        choice="判决后对方不履行（执行）",
        understood="判决生效后对方不履行的执行问题",
    ),
    DisputeType(
        "criminal",
        "刑事治安问题",
        False,
        choice="刑事治安（被打、被骗、被盗）",
        redirect="刑事或治安案件请拨打110报警，或到当地派出所、警务站报案。",
    ),
    DisputeType(
        "administrative",
        "行政争议",
        False,
        choice="行政争议（对政府部门的决定不服）",
        redirect="对政府部门的行政行为不服，可以申请行政复议或提起行政诉讼，可到县（市、区）人民法院诉讼服务中心咨询。",
    ),
    DisputeType(
        "other_legal",
        "法律咨询",
        False,
        choice="其他法律问题咨询",
        redirect="一般法律问题可以预约共享法庭的共享律师咨询，或通过浙江移动微法院在线立案。",
    ),
)

BY_CODE: dict[str, DisputeType] = {d.code: d for d in DISPUTE_TYPES}
BY_INTENT: dict[str, DisputeType] = {d.intent: d for d in DISPUTE_TYPES}
CODES: tuple[str, ...] = tuple(d.code for d in DISPUTE_TYPES)


def from_intent(intent: str) -> DisputeType | None:
    """The dispute type a Rasa intent carries, if any."""
    return BY_INTENT.get(intent)
