"""Booking a mediation slot for a confirmed case: book, reschedule, cancel, staff changes, "my bookings".

Every function takes the caller's `AsyncSession` (one unit of work per request) and raises `Conflict` when a
concurrent change won: the slot is full, the booking was already changed, the case already holds a booking.
The guarantee that two residents never hold the same seat comes from the database (see
sharedcourt/db/booking.py): the conditional UPDATE on `slots`, its CHECK constraint and the partial unique index
on confirmed bookings per case. Nothing here checks capacity in Python first.

Time preferences ("周三下午", "下周都行", "明天上午10点", "越快越好") become a `schedule.Window` via
`parse_preference`, built on `sharedcourt.domain.values.parse_date_range` (jionlp) plus the booking-specific rules
jionlp lacks (a bare weekday means the next one, parts of the day, "都行").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.booking.calendar import TZ, WEEKDAY_ZH, Window, format_time
from sharedcourt.db.booking import CONFIRMED, Booking, CallbackRequest, Reminder, Slot
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.site import Site
from sharedcourt.errors import Conflict, NotFound
from sharedcourt.web.payload import json_object

# Reminders: the day before at this local time, and this long before the start.
DAY_BEFORE_AT = dt.time(10, 0)
SHORT_NOTICE = dt.timedelta(hours=2)
# A concurrent booking can win the seat a fallback picked; try again this many times while seats are left.
FALLBACK_TRIES = 5

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
        return format_time(self.starts_at, self.ends_at)

    def confirmation_zh(self) -> str:
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
        return f"{self.when_zh} {self.site_name}（案件编号{self.case_number}，调解员{self.mediator}）"


async def view(session: AsyncSession, booking_id: int) -> BookingView:
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"booking {booking_id}")
    return await _view(session, booking)


async def _view(session: AsyncSession, booking: Booking) -> BookingView:
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


async def _claim_seat(session: AsyncSession, slot_id: int, now: dt.datetime) -> Any | None:
    """Take one seat in the slot if it has room: the database decides, atomically (one conditional UPDATE).

    Returns the slot's (id, site_code, starts_at, ends_at, mediator) when a seat was taken, else None."""
    result = await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.status == "open", Slot.booked < Slot.capacity, Slot.starts_at > now)
        .values(booked=Slot.booked + 1)
        .returning(Slot.id, Slot.site_code, Slot.starts_at, Slot.ends_at, Slot.mediator)
        .execution_options(synchronize_session=False)
    )
    return result.first()


async def _claim_any_seat(
    session: AsyncSession, site_code: str, starts_at: dt.datetime, now: dt.datetime
) -> Any | None:
    """Take a seat in any slot of the site at that time: one UPDATE whose subquery picks a seat with room
    (skipping seats other transactions hold locked on PostgreSQL); the UPDATE re-checks the room itself."""
    pick = (
        select(Slot.id)
        .where(
            Slot.site_code == site_code,
            Slot.starts_at == starts_at,
            Slot.status == "open",
            Slot.booked < Slot.capacity,
            Slot.starts_at > now,
        )
        .order_by(Slot.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    result = await session.execute(
        update(Slot)
        .where(Slot.id == pick.scalar_subquery(), Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1)
        .returning(Slot.id, Slot.site_code, Slot.starts_at, Slot.ends_at, Slot.mediator)
        .execution_options(synchronize_session=False)
    )
    return result.first()


async def _has_room(session: AsyncSession, slot: Slot, now: dt.datetime) -> bool:
    found = await session.scalar(
        select(Slot.id)
        .where(
            Slot.site_code == slot.site_code,
            Slot.starts_at == slot.starts_at,
            Slot.status == "open",
            Slot.booked < Slot.capacity,
            Slot.starts_at > now,
        )
        .limit(1)
    )
    return found is not None


async def _release_seat(session: AsyncSession, slot_id: int) -> None:
    await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )


async def book(
    session: AsyncSession,
    *,
    case_id: int,
    slot_id: int,
    now: dt.datetime,
    same_time_fallback: bool = True,
    replaces_id: int | None = None,
    changed_by: str = "resident",
) -> Booking:
    """Book the case into the slot (or, if that seat is full, another seat at the same site and time).

    Raises Conflict when no seat is left or the case already holds a confirmed booking, NotFound for an unknown
    case or slot."""
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id}")
    taken = await _claim_seat(session, slot_id, now)
    if taken is None:
        # That seat is gone (or never existed): try the other seats at the same site and time.
        slot = await session.get(Slot, slot_id)
        if slot is None:
            raise NotFound(f"slot {slot_id}")
        if same_time_fallback:
            for _ in range(FALLBACK_TRIES):
                taken = await _claim_any_seat(session, slot.site_code, slot.starts_at, now)
                if taken is not None or not await _has_room(session, slot, now):
                    break
    if taken is None:
        raise Conflict("该时段已约满")
    booking = Booking(
        slot_id=taken.id,
        case_id=case.id,
        resident_id=case.resident_id,
        conversation_id=case.conversation_id,
        site_code=taken.site_code,
        starts_at=taken.starts_at,
        ends_at=taken.ends_at,
        mediator=taken.mediator,
        status=CONFIRMED,
        changed_by=changed_by,
        replaces_id=replaces_id,
    )
    session.add(booking)
    try:
        # The partial unique index allows one confirmed booking per case; the caller's transaction rolls back.
        await session.flush()
    except IntegrityError:
        raise Conflict("这个案件已经有预约了") from None
    case.status = "booked"
    case.site_code = taken.site_code
    schedule_reminders(session, booking, now)
    await session.flush()
    return booking


def schedule_reminders(session: AsyncSession, booking: Booking, now: dt.datetime) -> None:
    """The day-before and two-hours-before reminders, skipped when already past."""
    local_day = booking.starts_at.astimezone(TZ).date()
    due = {
        "day_before": dt.datetime.combine(local_day - dt.timedelta(days=1), DAY_BEFORE_AT, TZ),
        "two_hours": booking.starts_at - SHORT_NOTICE,
    }
    for kind, at in due.items():
        if at > now:
            session.add(Reminder(booking_id=booking.id, kind=kind, due_at=at.astimezone(dt.timezone.utc)))


async def _end(session: AsyncSession, booking_id: int, status: str, changed_by: str, reason: str | None) -> Booking:
    """Move a confirmed booking to `status` exactly once (conditional UPDATE) and give its seat back."""
    result = await session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.status == CONFIRMED)
        .values(status=status, changed_by=changed_by, reason=reason, updated_at=dt.datetime.now(dt.timezone.utc))
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0)) != 1:
        if await session.get(Booking, booking_id) is None:
            raise NotFound(f"booking {booking_id}")
        raise Conflict("这个预约已经取消或改过了")
    booking = await session.get_one(Booking, booking_id, populate_existing=True)
    await _release_seat(session, booking.slot_id)
    await session.execute(
        update(Reminder)
        .where(Reminder.booking_id == booking_id, Reminder.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return booking


async def cancel(
    session: AsyncSession, booking_id: int, *, now: dt.datetime, by: str = "resident", reason: str | None = None
) -> Booking:
    booking = await _end(session, booking_id, "cancelled", by, reason)
    case = await session.get_one(Case, booking.case_id)
    case.status = "confirmed"
    await session.flush()
    return booking


async def reschedule(
    session: AsyncSession,
    booking_id: int,
    slot_id: int,
    *,
    now: dt.datetime,
    by: str = "resident",
    reason: str | None = None,
) -> Booking:
    """Replace the booking by one in `slot_id`, atomically: if the new seat is gone the old booking stays."""
    old = await _end(session, booking_id, "rescheduled", by, reason)
    return await book(session, case_id=old.case_id, slot_id=slot_id, now=now, replaces_id=old.id, changed_by=by)


def _notice(session: AsyncSession, booking_id: int, kind: str, text: str, now: dt.datetime) -> None:
    session.add(Reminder(booking_id=booking_id, kind=kind, due_at=now, text=text))


async def staff_move(
    session: AsyncSession, booking_id: int, slot_id: int, *, staff: str, reason: str, now: dt.datetime
) -> Booking:
    """Staff move a booking to another slot; the resident is told the new time and the reason."""
    if not reason.strip():
        raise Conflict("请填写改期原因，系统会发给当事人")
    new = await reschedule(session, booking_id, slot_id, now=now, by=f"staff:{staff}", reason=reason)
    info = await _view(session, new)
    text = (
        f"您的调解预约已由工作人员调整，原因：{reason}\n"
        f"新的时间：{info.when_zh}\n地点：{info.site_name}（{info.address}）\n调解员：{info.mediator}\n"
        "如新时间不方便，请回复“我的预约”改约或取消。"
    )
    _notice(session, new.id, "moved", text, now)
    await session.flush()
    return new


async def staff_cancel(session: AsyncSession, booking_id: int, *, staff: str, reason: str, now: dt.datetime) -> Booking:
    """Staff cancel a booking; the resident is told why and how to book again."""
    if not reason.strip():
        raise Conflict("请填写取消原因，系统会发给当事人")
    booking = await cancel(session, booking_id, now=now, by=f"staff:{staff}", reason=reason)
    info = await _view(session, booking)
    text = (
        f"很抱歉，您{info.when_zh}在{info.site_name}的调解预约已被工作人员取消，原因：{reason}\n"
        "您可以回复“我要预约”重新选择时间，或回复“人工服务”联系工作人员。"
    )
    _notice(session, booking.id, "cancelled", text, now)
    await session.flush()
    return booking


async def my_bookings(session: AsyncSession, resident_id: int, now: dt.datetime) -> list[BookingView]:
    """The resident's confirmed bookings that have not ended, earliest first."""
    rows = await session.scalars(
        select(Booking)
        .where(Booking.resident_id == resident_id, Booking.status == CONFIRMED, Booking.ends_at > now)
        .order_by(Booking.starts_at, Booking.id)
    )
    return [await _view(session, b) for b in rows]


async def resident_for_conversation(session: AsyncSession, conversation_id: str) -> Resident | None:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    return await session.get(Resident, conversation.resident_id)


async def bookable_case(session: AsyncSession, conversation_id: str) -> Case | None:
    """The conversation's newest case that was confirmed and is not booked yet (intake stores it)."""
    resident = await resident_for_conversation(session, conversation_id)
    if resident is None:
        return None
    case: Case | None = await session.scalar(
        select(Case)
        .where(Case.resident_id == resident.id, Case.status == "confirmed")
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(1)
    )
    return case


async def request_callback(
    session: AsyncSession,
    *,
    conversation_id: str,
    case_id: int | None,
    site_code: str | None,
    phone: str | None,
    preference: str,
) -> CallbackRequest:
    """None of the times fit: a person calls back (recorded; staff see open requests)."""
    resident = await resident_for_conversation(session, conversation_id)
    if resident is None:
        raise NotFound(f"conversation {conversation_id}")
    if phone and not resident.phone:
        resident.phone = phone
    request = CallbackRequest(
        resident_id=resident.id,
        conversation_id=conversation_id,
        case_id=case_id,
        site_code=site_code,
        phone=phone or resident.phone,
        preference=preference[:500],
    )
    session.add(request)
    await session.flush()
    return request


# ---------------------------------------------------------------------------------------------- preferences

_WEEKDAY = "一二三四五六日天"
_BARE_WEEKDAY = re.compile(r"(?<![上下这本])(?:周|星期|礼拜)([" + _WEEKDAY + r"])")
_NEXT_WEEKDAY = re.compile(r"下(?:个)?(?:周|星期|礼拜)([" + _WEEKDAY + r"])")
_THIS_WEEKDAY = re.compile(r"(?:这|本)(?:个)?(?:周|星期|礼拜)([" + _WEEKDAY + r"])")
_DAY_ONLY = re.compile(r"(?<![月0-9])([0-9]{1,2})\s*(?:号|日)")
_HOUR = re.compile(r"([0-9]{1,2}|[一二两三四五六七八九十]{1,3})\s*(?:点|:00|：00)")
_ASAP = re.compile(r"越快越好|越早越好|尽快|最早|马上|早点|随时|都行|都可以|都有空|随便|无所谓|什么时候都")
_AM = re.compile(r"上午|早上|早晨|上半天|早点的时候")
_PM = re.compile(r"下午|中午|午后|下半天|傍晚")
_WEEKEND = re.compile(r"周末|星期六|星期天|礼拜六|礼拜天|周六|周日")
_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _day_of_month(today: dt.date, day: int) -> dt.date:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return today


def _weekday_index(ch: str) -> int:
    return 6 if ch in "日天" else _WEEKDAY.index(ch)


def _cn_hour(raw: str) -> int | None:
    if raw.isdigit():
        return int(raw)
    if raw == "十":
        return 10
    if raw.startswith("十"):
        return 10 + _CN_NUM.get(raw[1:], 0)
    if raw.endswith("十"):
        return _CN_NUM.get(raw[0], 0) * 10
    if len(raw) == 1:
        return _CN_NUM.get(raw)
    return None


@dataclass(frozen=True)
class Preference:
    window: Window
    any_time: bool  # "都行"/"越快越好": the earliest slots in the window

    def describe_zh(self) -> str:
        w = self.window
        parts = []
        if w.first_day and w.last_day and w.first_day == w.last_day:
            parts.append(f"{w.first_day.month}月{w.first_day.day}日（{WEEKDAY_ZH[w.first_day.weekday()]}）")
        elif w.first_day and w.last_day:
            parts.append(f"{w.first_day.month}月{w.first_day.day}日至{w.last_day.month}月{w.last_day.day}日")
        if w.part:
            parts.append("上午" if w.part == "am" else "下午")
        if w.hour is not None:
            parts.append(f"{w.hour}点左右")
        return "".join(parts) or "最近"


def parse_preference(text: str, now: dt.datetime) -> Preference | None:
    """When the resident can come, relative to `now` (never the real clock); None when nothing is said."""
    from sharedcourt.domain.values import parse_date_range

    today = now.astimezone(TZ).date()
    first: dt.date | None = None
    last: dt.date | None = None
    weekdays: frozenset[int] | None = None
    if m := _NEXT_WEEKDAY.search(text):
        monday_next = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
        first = last = monday_next + dt.timedelta(days=_weekday_index(m.group(1)))
    elif m := _THIS_WEEKDAY.search(text):
        monday = today - dt.timedelta(days=today.weekday())
        first = last = monday + dt.timedelta(days=_weekday_index(m.group(1)))
        if first < today:
            first = last = first + dt.timedelta(days=7)
    elif (m := _BARE_WEEKDAY.search(text)) and not _WEEKEND.fullmatch(m.group(0)):
        # A bare weekday in a booking means the next one (today included).
        ahead = (_weekday_index(m.group(1)) - today.weekday()) % 7
        first = last = today + dt.timedelta(days=ahead)
    elif _WEEKEND.search(text) and not re.search(r"下(?:个)?周末|这(?:个)?周末", text):
        ahead = (5 - today.weekday()) % 7
        first, last = today + dt.timedelta(days=ahead), today + dt.timedelta(days=ahead + 1)
        if today.weekday() == 6:
            first = today
        weekdays = frozenset({5, 6})
    elif (m := _DAY_ONLY.search(text)) and 1 <= int(m.group(1)) <= 31:
        # "3号" alone: this month's if still ahead, else next month's.
        first = _day_of_month(today, int(m.group(1)))
        last = first
    else:
        found = parse_date_range(text, today, prefer="future")
        if found == (today, today) and not re.search(r"今天|今日|今儿", text):
            found = None  # jionlp reads a bare "下午" as this afternoon; for booking it means any afternoon
        if found is not None:
            first, last = found
            if last < today:
                # "3号" said on the 29th: the next such day; a past week/day moves one period on.
                span = (last - first).days + 1
                step = 7 if span <= 7 else 30
                while last < today:
                    first, last = first + dt.timedelta(days=step), last + dt.timedelta(days=step)
            first = max(first, today)
    part = "am" if _AM.search(text) else "pm" if _PM.search(text) else None
    hour: int | None = None
    if hm := _HOUR.search(text):
        hour = _cn_hour(hm.group(1))
        if hour is not None and part == "pm" and hour < 12:
            hour += 12
        if hour is not None and part is None and 1 <= hour <= 6:
            hour += 12  # "3点" at a court means 15:00
        if hour is not None and not 0 <= hour <= 23:
            hour = None
    any_time = bool(_ASAP.search(text))
    if first is None and part is None and hour is None and not any_time:
        return None
    return Preference(Window(first, last, part, weekdays, hour), any_time)


def pick_by_number(offered: Sequence[int], text: str) -> int | None:
    """'2' -> the second offered id (the router already maps numbers to button payloads; this is a fallback)."""
    m = re.fullmatch(r"\s*(?:第)?([0-9]{1,2})(?:个)?\s*", text)
    if m and 1 <= int(m.group(1)) <= len(offered):
        return offered[int(m.group(1)) - 1]
    return None


# ---------------------------------------------------------------------------------------------- staff HTTP API


def _booking_json(v: BookingView) -> dict[str, Any]:
    return {
        "id": v.id,
        "status": v.status,
        "case_number": v.case_number,
        "site_code": v.site_code,
        "site_name": v.site_name,
        "starts_at": v.starts_at.isoformat(),
        "ends_at": v.ends_at.isoformat(),
        "when": v.when_zh,
        "mediator": v.mediator,
        "channel": v.channel,
    }


async def _staff_list(request: Any) -> Any:
    """GET /staff/bookings?site=CODE: a site's upcoming confirmed bookings."""
    from starlette.responses import JSONResponse

    from sharedcourt.db.base import utcnow
    from sharedcourt.db.session import unit_of_work
    from sharedcourt.web.auth import require_staff

    require_staff(request)
    site = request.query_params.get("site", "")
    async with unit_of_work(request.app.state.sessions) as session:
        rows = await session.scalars(
            select(Booking)
            .where(Booking.site_code == site, Booking.status == CONFIRMED, Booking.ends_at > utcnow())
            .order_by(Booking.starts_at, Booking.id)
            .limit(500)
        )
        items = [_booking_json(await _view(session, b)) for b in rows]
        callbacks = await session.scalars(
            select(CallbackRequest)
            .where(CallbackRequest.site_code == site, CallbackRequest.status == "open")
            .order_by(CallbackRequest.id)
        )
        open_callbacks = [
            {"id": c.id, "phone": c.phone, "preference": c.preference, "created_at": c.created_at.isoformat()}
            for c in callbacks
        ]
    return JSONResponse({"bookings": items, "callbacks": open_callbacks})


async def _staff_change(request: Any) -> Any:
    """POST /staff/bookings/{id}/move {"slot_id", "reason", "staff"} or /cancel {"reason", "staff"}."""
    from starlette.responses import JSONResponse

    from sharedcourt.db.base import utcnow
    from sharedcourt.db.session import unit_of_work
    from sharedcourt.errors import BadRequest
    from sharedcourt.web.auth import require_staff

    require_staff(request)
    if request.path_params["verb"] not in ("move", "cancel"):
        raise NotFound("unknown action")
    booking_id = int(request.path_params["booking_id"])
    data = await json_object(request)
    reason, staff = str(data.get("reason") or ""), str(data.get("staff") or "工作人员")[:48]
    now = utcnow()
    async with unit_of_work(request.app.state.sessions) as session:
        if request.path_params["verb"] == "move":
            slot_id = data.get("slot_id")
            if not isinstance(slot_id, int):
                raise BadRequest("slot_id must be an integer")
            result = await staff_move(session, booking_id, slot_id, staff=staff, reason=reason, now=now)
        else:
            result = await staff_cancel(session, booking_id, staff=staff, reason=reason, now=now)
        body = _booking_json(await _view(session, result))
    return JSONResponse(body)


async def _staff_closure(request: Any) -> Any:
    """POST /staff/closures {"site_code" (absent: every site), "starts_on", "ends_on", "reason"}: close days;
    answers the bookings still held on those days, which staff then move or cancel (with a reason)."""
    from starlette.responses import JSONResponse

    from sharedcourt.booking.calendar import close_days
    from sharedcourt.db.session import unit_of_work
    from sharedcourt.errors import BadRequest
    from sharedcourt.web.auth import require_staff

    require_staff(request)
    data = await json_object(request)
    try:
        first = dt.date.fromisoformat(str(data["starts_on"]))
        last = dt.date.fromisoformat(str(data.get("ends_on") or data["starts_on"]))
    except (KeyError, ValueError):
        raise BadRequest("starts_on / ends_on must be YYYY-MM-DD dates") from None
    if last < first:
        raise BadRequest("ends_on is before starts_on")
    site = data.get("site_code") or None
    async with unit_of_work(request.app.state.sessions) as session:
        held = await close_days(session, site, first, last, str(data.get("reason") or "")[:255])
        rows = await session.scalars(
            select(Booking).where(Booking.slot_id.in_(held), Booking.status == CONFIRMED).order_by(Booking.starts_at)
        )
        affected = [_booking_json(await _view(session, b)) for b in rows]
    return JSONResponse({"closed_slots_with_bookings": len(held), "bookings": affected})


def routes(settings: Any = None) -> list[Any]:
    """Staff routes (Bearer STAFF_TOKEN or the console login): list, move, cancel bookings; close days."""
    from starlette.routing import Route

    return [
        Route("/staff/bookings", _staff_list, methods=["GET"]),
        Route("/staff/closures", _staff_closure, methods=["POST"]),
        Route("/staff/bookings/{booking_id:int}/{verb:str}", _staff_change, methods=["POST"]),
    ]
