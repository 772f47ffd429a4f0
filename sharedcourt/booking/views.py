"""What a resident reads about a booking: its view (case, site, time, mediator) and what to bring."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.booking.calendar import format_time
from sharedcourt.db.booking import Booking
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation
from sharedcourt.db.site import Site
from sharedcourt.errors import NotFound

ID_CARD = "本人身份证（代理人另带授权委托书和代理人身份证）"
EVIDENCE: dict[str, str] = {
    "family": "结婚证或离婚协议、户口本、财产和子女抚养相关材料",
    "neighbor": "现场照片或视频、相关协议、与对方沟通的记录",
    "property_mgmt": "物业服务合同、缴费记录、报修记录、现场照片",
    "labor": "劳动合同或工牌、工资条或银行流水、考勤记录、与老板的聊天记录",
    "debt": "借条或欠条、转账记录、催款的聊天记录或通话录音",
    "finance": "借款或信用卡合同、还款记录、银行或机构的催收记录",
    "traffic": "事故认定书、医疗票据和病历、车辆维修单、保险单",
    "housing": "买卖或租赁合同、付款凭证、房产证明、现场照片",
    "land_demolition": "征收或拆迁协议、补偿公告、房屋或土地权属证明",
    "rural_land": "承包合同或土地承包经营权证、宅基地或林权证明、村里的相关记录",
    "consumer": "购物凭证（发票、小票、订单截图）、商品或服务照片、与商家的沟通记录",
    "medical": "病历、医疗票据、诊断证明、与医院沟通的记录",
    "personal_injury": "医疗票据和病历、伤情照片、报警或调解记录、误工证明",
    "contract": "合同或报价单、付款凭证、施工或验收照片、沟通记录",
    "environment": "污染现场照片或视频、检测报告、损失清单",
    "enforcement": "判决书或调解书、生效证明、对方财产线索",
}
DEFAULT_EVIDENCE = "与纠纷有关的材料（协议、票据、照片、聊天记录等）"


def what_to_bring(dispute_code: str | None) -> str:
    """The ID papers and the evidence for this dispute type that the resident brings to the mediation."""
    return f"{ID_CARD}；{EVIDENCE.get(dispute_code or '', DEFAULT_EVIDENCE)}"


@dataclass(frozen=True)
class BookingView:
    """A booking with everything the resident reads about it."""

    id: int
    status: str
    case_id: int
    case_number: str
    dispute_code: str | None
    site_code: str
    site_name: str
    address: str
    phone: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    mediator: str
    conversation_id: str
    channel: str

    @property
    def when_zh(self) -> str:
        """The booked time as residents read it: '12月2日（周三）14:00-15:00'."""
        return format_time(self.starts_at, self.ends_at)

    def confirmation_zh(self) -> str:
        """The confirmation message: case number, place, time, mediator, what to bring."""
        lines = [
            "预约成功！",
            f"案件编号：{self.case_number}",
            f"地点：{self.site_name}",
            f"地址：{self.address or '请向共享法庭电话咨询'}",
            f"时间：{self.when_zh}",
            f"调解员：{self.mediator}",
            f"请带好：{what_to_bring(self.dispute_code)}。",
        ]
        if self.phone:
            lines.append(f"联系电话：{self.phone}")
        lines.append("我们会在前一天和开始前两小时提醒您。需要改时间或取消，随时对我说“我的预约”。")
        return "\n".join(lines)

    def line_zh(self) -> str:
        """One line for a list of bookings."""
        return f"{self.when_zh} {self.site_name}（案件编号{self.case_number}，调解员{self.mediator}）"


async def view(session: AsyncSession, booking_id: int) -> BookingView:
    """The view of a booking by id; NotFound when there is none."""
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"booking {booking_id}")
    return await view_of(session, booking)


async def view_of(session: AsyncSession, booking: Booking) -> BookingView:
    """The view of a loaded booking (its case, site and conversation read in the same session)."""
    case = await session.get_one(Case, booking.case_id)
    site = await session.get(Site, booking.site_code)
    conversation = await session.get_one(Conversation, booking.conversation_id)
    return BookingView(
        id=booking.id,
        status=booking.status,
        case_id=case.id,
        case_number=case.number or f"#{case.id}",
        dispute_code=case.dispute_code,
        site_code=booking.site_code,
        site_name=site.name if site else booking.site_code,
        address=site.address if site else "",
        phone=site.phone if site else "",
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        mediator=booking.mediator,
        conversation_id=booking.conversation_id,
        channel=conversation.channel,
    )
