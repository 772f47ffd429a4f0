"""The dispute types: stable codes used in data, cases, analytics and the API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DisputeType:
    code: str
    label: str  # what a resident reads
    mediable: bool  # can be mediated at a Shared Court
    # Where to go instead, for types a Shared Court does not mediate.
    redirect: str = ""

    @property
    def intent(self) -> str:
        """The Rasa intent that carries this type."""
        return f"dispute_{self.code}"


DISPUTE_TYPES: tuple[DisputeType, ...] = (
    DisputeType("family", "婚姻家庭继承纠纷", True),
    DisputeType("neighbor", "邻里纠纷", True),
    DisputeType("property_mgmt", "物业纠纷", True),
    DisputeType("labor", "劳动争议", True),
    DisputeType("debt", "民间借贷债务纠纷", True),
    DisputeType("finance", "金融纠纷", True),
    DisputeType("traffic", "交通事故纠纷", True),
    DisputeType("housing", "房屋买卖租赁纠纷", True),
    DisputeType("land_demolition", "征地拆迁纠纷", True),
    DisputeType("rural_land", "农村土地纠纷（承包、宅基地、山林）", True),
    DisputeType("consumer", "消费者权益纠纷", True),
    DisputeType("medical", "医疗纠纷", True),
    DisputeType("personal_injury", "人身损害赔偿纠纷", True),
    DisputeType("contract", "合同纠纷（装修、承揽、建设工程）", True),
    DisputeType("environment", "环境污染纠纷", True),
    DisputeType("enforcement", "执行问题（判决后不履行）", True),
    DisputeType(
        "criminal",
        "刑事治安问题",
        False,
        "刑事或治安案件请拨打110报警，或到当地派出所、警务站报案。",
    ),
    DisputeType(
        "administrative",
        "行政争议",
        False,
        "对政府部门的行政行为不服，可以申请行政复议或提起行政诉讼，可到县（市、区）人民法院诉讼服务中心咨询。",
    ),
    DisputeType(
        "other_legal",
        "法律咨询",
        False,
        "一般法律问题可以预约共享法庭的共享律师咨询，或通过浙江移动微法院在线立案。",
    ),
)

BY_CODE: dict[str, DisputeType] = {d.code: d for d in DISPUTE_TYPES}
BY_INTENT: dict[str, DisputeType] = {d.intent: d for d in DISPUTE_TYPES}
CODES: tuple[str, ...] = tuple(d.code for d in DISPUTE_TYPES)


def from_intent(intent: str) -> DisputeType | None:
    return BY_INTENT.get(intent)
