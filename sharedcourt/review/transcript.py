"""One conversation as staff review it: every message with its author, the events between them, the cases'
facts and the evidence, personal data masked (`load_transcript`); and what a reveal shows (`reveal_values`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.booking import Booking
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.staff import RosterEntry
from sharedcourt.db.ticket import Rating, Ticket, TicketEvent
from sharedcourt.domain.clock import local_minute
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.domain.values.addresses import address_spans
from sharedcourt.domain.values.contacts import LONG_NUMBER, id_spans, phone_spans
from sharedcourt.domain.values.masking import known_names, mask_facts, mask_text
from sharedcourt.domain.values.names import as_known_names, names_in
from sharedcourt.domain.values.text import shadow_text
from sharedcourt.errors import BadRequest, NotFound

AUTHORS = {"resident": "居民", "bot": "机器人", "system": "系统"}
UNCLASSIFIED = "未分类"
# What a reveal may show, and its Chinese label.
FIELDS = {"phone": "电话号码", "id_number": "身份证号", "bank_card": "银行卡号", "name": "姓名", "address": "地址"}
TICKET_EVENTS = {
    "requested": "请求人工",
    "offered": "工单派给",
    "escalated": "工单升级",
    "accepted": "工单被接单",
    "relayed": "转达消息",
    "transferred": "工单转交",
    "closed": "工单结束",
    "ended_by_resident": "居民结束人工",
    "handed_back": "交还机器人",
    "expired": "无人接单",
}
BOOKING_STATES = {
    "confirmed": "预约成功",
    "cancelled": "预约取消",
    "rescheduled": "预约改期",
    "attended": "已到场",
    "no_show": "未到场",
}


def type_label(code: str | None) -> str:
    """The Chinese name of a dispute type."""
    return BY_CODE[code].label if code in BY_CODE else UNCLASSIFIED


@dataclass
class Transcript:
    """A conversation's review view, already masked (`lines`, `events`, `cases`) plus the raw texts for reveals."""

    conversation: Conversation
    lines: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    raw_texts: list[str] = field(default_factory=list)

    def timeline(self) -> list[dict[str, Any]]:
        """Messages and events in time order (an event sorts before a message at the same time)."""
        items = [{"type": "event", **e} for e in self.events] + [{"type": "message", **m} for m in self.lines]
        return sorted(items, key=lambda i: (i["at"], i["type"] == "message", i.get("id", 0)))

    def as_json(self) -> dict[str, Any]:
        """The masked view as JSON for the API."""
        c = self.conversation
        strip = [{k: v for k, v in item.items() if k != "at"} for item in self.timeline()]
        return {
            "id": c.id,
            "channel": c.channel,
            "mode": c.mode,
            "created_at": c.created_at.isoformat(),
            "updated_at": c.updated_at.isoformat(),
            "cases": self.cases,
            "timeline": strip,
            "evidence": self.evidence,
        }


def _author(author: str, staff_names: dict[str, str]) -> str:
    kind, _, who = author.partition(":")
    if kind in AUTHORS:
        return AUTHORS[kind]
    return f"工作人员 {staff_names.get(who, who)}".strip()


async def _staff_names(session: AsyncSession, keys: Iterable[str]) -> dict[str, str]:
    wanted = sorted({k for k in keys if k})
    if not wanted:
        return {}
    rows = await session.execute(select(RosterEntry.key, RosterEntry.name).where(RosterEntry.key.in_(wanted)))
    return dict(rows.tuples().all())


def _event(at: dt.datetime, what: str, detail: str = "") -> dict[str, Any]:
    return {"at": at, "time": local_minute(at), "what": what, "detail": detail}


async def _events(session: AsyncSession, cid: str, cases: list[Case], names: list[str]) -> list[dict[str, Any]]:
    """Case created, bookings made or moved, ticket changes and ratings, with their masked details."""
    events = [_event(c.created_at, "建立案件", f"{c.number or c.id} · {type_label(c.dispute_code)}") for c in cases]
    for b in await session.scalars(select(Booking).where(Booking.conversation_id == cid).order_by(Booking.id)):
        what = "预约改期" if b.replaces_id else BOOKING_STATES.get(b.status, b.status)
        detail = f"{b.site_code} {local_minute(b.starts_at)} {b.mediator}".strip()
        events.append(_event(b.updated_at if b.status != "confirmed" else b.created_at, what, detail))
    tickets = list(await session.scalars(select(Ticket).where(Ticket.conversation_id == cid).order_by(Ticket.id)))
    ids = [t.id for t in tickets]
    if ids:
        rows = await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)).order_by(TicketEvent.id))
        staff = await _staff_names(session, [t.holder or "" for t in tickets] + [t.assignee or "" for t in tickets])
        for e in rows:
            if e.kind == "relayed":
                continue  # the relayed words are already in the transcript as messages
            who = staff.get(e.actor, e.actor)
            events.append(_event(e.at, TICKET_EVENTS.get(e.kind, e.kind), mask_text(who, names)))
        for r in await session.scalars(select(Rating).where(Rating.ticket_id.in_(ids))):
            events.append(_event(r.created_at, "居民评价", f"{r.score} 分 {mask_text(r.comment, names)}".strip()))
    return events


async def load_transcript(session: AsyncSession, conversation_id: str) -> Transcript:
    """The conversation's masked review view; NotFound when there is no such conversation."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("没有这个会话")
    messages = list(
        await session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id))
    )
    cases = list(await session.scalars(select(Case).where(Case.conversation_id == conversation_id)))
    resident = await session.get(Resident, conversation.resident_id)
    names = [n for c in cases for n in known_names(c.facts)] + known_names({}, resident.name if resident else None)
    staff = await _staff_names(session, [m.author.partition(":")[2] for m in messages])
    view = Transcript(conversation, names=names)
    for m in messages:
        line = {"id": m.id, "at": m.created_at, "time": local_minute(m.created_at), "direction": m.direction}
        line |= {"author": _author(m.author, staff), "kind": m.kind, "text": mask_text(m.text, names)}
        view.lines.append(line)
    view.cases = [
        {
            "id": c.id,
            "number": c.number or f"#{c.id}",
            "type": type_label(c.dispute_code),
            "status": c.status,
            "urgent": c.urgent,
            "site": c.site_code or "",
            "facts": mask_facts(c.facts, names),
        }
        for c in cases
    ]
    view.events = await _events(session, conversation_id, cases, names)
    case_ids = [c.id for c in cases]
    message_ids = [m.id for m in messages]
    if case_ids or message_ids:
        found = select(Evidence).where(Evidence.case_id.in_(case_ids) | Evidence.message_id.in_(message_ids))
        view.evidence = [
            {"id": e.id, "kind": e.kind, "time": local_minute(e.created_at), "stored": bool(e.path)}
            for e in await session.scalars(found.order_by(Evidence.id))
        ]
    view.raw_texts = [m.text for m in messages] + [str(v) for c in cases for v in c.facts.values()]
    if resident is not None:
        view.raw_texts += [resident.name or "", resident.phone or ""]
    return view


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def reveal_values(view: Transcript, field_name: str) -> list[str]:
    """The unmasked values of one kind of personal data in the conversation (BadRequest for an unknown kind)."""
    if field_name not in FIELDS:
        raise BadRequest(f"无法查看该字段：{field_name}（可选：{'、'.join(FIELDS)}）")
    found: list[str] = []
    for text in view.raw_texts:
        if field_name == "name":
            found += names_in(text)
            continue
        if field_name == "address":
            found += [text[s:e] for s, e in address_spans(text)]
            continue
        shadow = shadow_text(text)
        ids = id_spans(shadow)
        if field_name == "id_number":
            found += [text[s:e].strip() for s, e, _ in ids]
        elif field_name == "phone":
            found += [text[s:e].strip() for s, e, _ in phone_spans(shadow)]
        else:
            taken = [(s, e) for s, e, _ in ids]
            spans = [m.span() for m in LONG_NUMBER.finditer(shadow)]
            found += [text[s:e] for s, e in spans if all(e <= a or s >= b for a, b in taken)]
    if field_name == "name":
        found = as_known_names(view.names) + found
    return _unique(found)
