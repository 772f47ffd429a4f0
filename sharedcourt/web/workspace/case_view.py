"""One case as its page shows it: facts (masked), evidence, bookings, tickets with their history and rating."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.booking.calendar import format_time
from sharedcourt.db.booking import Booking
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.site import Site
from sharedcourt.db.ticket import Rating, Ticket, TicketEvent
from sharedcourt.domain.clock import local_minute
from sharedcourt.domain.values.masking import known_names, mask_facts, mask_text
from sharedcourt.handoff.staff_routing import Roster
from sharedcourt.review.transcript import BOOKING_STATES, TICKET_EVENTS, type_label
from sharedcourt.web.workspace.views import STATE_ZH

CASE_STATUS = {
    "open": "登记中",
    "confirmed": "已确认",
    "booked": "已预约",
    "handed_off": "人工处理",
    "closed": "已结案",
}
EVIDENCE_KINDS = {"image": "图片", "voice": "语音", "video": "视频", "file": "文件", "document": "文件"}


def _who(actor: str, names: dict[str, str], masked: list[str]) -> str:
    """An event's actor in words: a roster person's name, 居民, 系统."""
    kind, _, key = actor.partition(":")
    if kind == "resident":
        return "居民"
    if kind == "system":
        return "系统"
    return mask_text(names.get(key or kind, key or kind), masked)


async def _evidence(session: AsyncSession, case: Case) -> list[dict[str, Any]]:
    """The case's files and those sent in its conversation, oldest first."""
    in_conversation = select(Message.id).where(Message.conversation_id == case.conversation_id)
    rows = await session.scalars(
        select(Evidence)
        .where(or_(Evidence.case_id == case.id, Evidence.message_id.in_(in_conversation)))
        .order_by(Evidence.id)
    )
    return [
        {
            "id": e.id,
            "kind": EVIDENCE_KINDS.get(e.kind, e.kind),
            "image": e.kind == "image",
            "time": local_minute(e.created_at),
            "stored": bool(e.path),
        }
        for e in rows
    ]


async def _bookings(session: AsyncSession, case: Case) -> list[dict[str, Any]]:
    rows = list(await session.scalars(select(Booking).where(Booking.case_id == case.id).order_by(Booking.id)))
    names = dict(
        (await session.execute(select(Site.code, Site.name).where(Site.code.in_({b.site_code for b in rows}))))
        .tuples()
        .all()
    )
    return [
        {
            "id": b.id,
            "when": format_time(b.starts_at, b.ends_at),
            "site_code": b.site_code,
            "site": names.get(b.site_code, b.site_code),
            "mediator": b.mediator,
            "status": "已改期" if b.status == "rescheduled" else BOOKING_STATES.get(b.status, b.status),
            "confirmed": b.status == "confirmed",
            "by": "居民" if (b.changed_by or "resident") == "resident" else (b.changed_by or "").partition(":")[2],
            "reason": b.reason or "",
        }
        for b in rows
    ]


async def _tickets(session: AsyncSession, case: Case, roster: Roster, masked: list[str]) -> list[dict[str, Any]]:
    """The case's tickets (those naming it, or its conversation's without a case) with history and rating."""
    tickets = list(
        await session.scalars(
            select(Ticket)
            .where(
                or_(
                    Ticket.case_id == case.id,
                    (Ticket.case_id.is_(None)) & (Ticket.conversation_id == case.conversation_id),
                )
            )
            .order_by(Ticket.id)
        )
    )
    ids = [t.id for t in tickets]
    events: dict[int, list[TicketEvent]] = {i: [] for i in ids}
    ratings: dict[int, Rating] = {}
    if ids:
        for e in await session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)).order_by(TicketEvent.id)
        ):
            events[e.ticket_id].append(e)
        ratings = {r.ticket_id: r for r in await session.scalars(select(Rating).where(Rating.ticket_id.in_(ids)))}
    names = {k: p.name for k, p in roster.by_id.items()}
    out = []
    for t in tickets:
        rating = ratings.get(t.id)
        history = [
            {"time": local_minute(e.at), "what": TICKET_EVENTS.get(e.kind, e.kind), "who": _who(e.actor, names, masked)}
            for e in events[t.id]
            if e.kind != "relayed"  # relayed words are in the conversation, not the history
        ]
        out.append(
            {
                "number": t.number,
                "state": t.state,
                "state_zh": STATE_ZH.get(t.state, t.state),
                "site": t.site_name,
                "holder": names.get(t.holder or "", t.holder or ""),
                "outcome": t.outcome or "",
                "note": mask_text(t.note or "", masked),
                "requested": local_minute(t.requested_at),
                "history": history,
                "rating": {"score": rating.score, "comment": mask_text(rating.comment, masked)} if rating else None,
            }
        )
    return out


async def case_page(session: AsyncSession, case: Case, roster: Roster) -> dict[str, Any]:
    """Everything the case page shows, personal data masked."""
    conversation = await session.get_one(Conversation, case.conversation_id)
    resident = await session.get(Resident, case.resident_id)
    masked = known_names(case.facts, resident.name if resident else None)
    site = await session.get(Site, case.site_code) if case.site_code else None
    return {
        "case": {
            "id": case.id,
            "number": case.number or f"#{case.id}",
            "type": type_label(case.dispute_code),
            "status": CASE_STATUS.get(case.status, case.status),
            "urgent": case.urgent,
            "site": site.name if site else (case.site_code or ""),
            "site_code": case.site_code or "",
            "created": local_minute(case.created_at),
            "summary": mask_text(case.summary or "", masked),
            "facts": mask_facts(case.facts, masked),
            "conversation_id": case.conversation_id,
            "channel": conversation.channel,
        },
        "evidence": await _evidence(session, case),
        "bookings": await _bookings(session, case),
        "tickets": await _tickets(session, case, roster, masked),
    }
