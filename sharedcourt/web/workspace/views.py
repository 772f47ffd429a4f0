"""What the workspace shows: the inbox rows and one ticket's conversation, masked, read from the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.case import Evidence
from sharedcourt.db.conversation import Message
from sharedcourt.db.ticket import LIVE_STATES, Ticket
from sharedcourt.domain.clock import local_minute
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.domain.values.masking import mask_text
from sharedcourt.handoff.links import conversation_names
from sharedcourt.handoff.texts import TRANSCRIPT_AUTHORS
from sharedcourt.web.workspace.access import Desk

STATE_ZH = {
    "requested": "待分派",
    "offered": "待接单",
    "escalated": "已转指挥中心",
    "accepted": "处理中",
    "callback": "待回电（非工作时间）",
    "expired": "有呼无应，待回电",
    "closed": "已结束",
}
INBOX_LIMIT = 500  # live tickets looked at per inbox; a county has far fewer open at once
IMAGE_KINDS = ("image",)


def who_wrote(author: str, roster_names: dict[str, str]) -> str:
    """'居民', '智能助手', '系统', or the staff member's roster name ('staff:<key>')."""
    kind, _, key = author.partition(":")
    if kind == "staff":
        return roster_names.get(key, "工作人员")
    return TRANSCRIPT_AUTHORS.get(kind, "工作人员")


def ticket_row(ticket: Ticket, desk: Desk, now: dt.datetime) -> dict[str, Any]:
    """One ticket as the inbox and the ticket page show it (summary masked)."""
    dispute = BY_CODE.get(ticket.dispute_code or "")
    names = {k: p.name for k, p in desk.roster.by_id.items()}
    left = (ticket.offer_deadline - now).total_seconds() if ticket.offer_deadline else None
    return {
        "number": ticket.number,
        "state": ticket.state,
        "state_zh": STATE_ZH.get(ticket.state, ticket.state),
        "site_name": ticket.site_name,
        "rule_label": ticket.rule_label,
        "reason": ticket.reason,
        "dispute": dispute.label if dispute else "未识别",
        "urgent": ticket.urgent,
        "summary": mask_text(ticket.summary or ""),
        "evidence_count": len(ticket.evidence or []),
        "deadline": ticket.offer_deadline.isoformat() if ticket.offer_deadline else "",
        "seconds_left": max(0, round(left)) if left is not None else None,
        "assignee": names.get(ticket.assignee or "", ticket.assignee or ""),
        "holder": names.get(ticket.holder or "", ticket.holder or ""),
        "mine": bool({ticket.assignee, ticket.holder} & set(desk.keys)),
        "held_by_me": ticket.state == "accepted" and ticket.holder in desk.keys,
        "requested": local_minute(ticket.requested_at),
        "outcome": ticket.outcome or "",
        "case_id": ticket.case_id,
        "site_code": ticket.site_code or "",
    }


async def inbox(session: AsyncSession, desk: Desk, now: dt.datetime) -> list[dict[str, Any]]:
    """Live tickets this person may see: offered to them first, then by urgency and age."""
    tickets = await session.scalars(
        select(Ticket).where(Ticket.state.in_(LIVE_STATES)).order_by(Ticket.id.desc()).limit(INBOX_LIMIT)
    )
    rows = [ticket_row(t, desk, now) for t in tickets if desk.may_see(t)]
    return sorted(rows, key=lambda r: (not r["mine"], not r["urgent"], r["number"]))


async def lines(session: AsyncSession, desk: Desk, ticket: Ticket, after: int = 0) -> list[dict[str, Any]]:
    """The ticket's conversation after message `after`, masked, with each message's evidence for inline display."""
    names = await conversation_names(session, ticket.conversation_id)
    messages = list(
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == ticket.conversation_id, Message.id > after)
            .order_by(Message.id)
            .limit(500)
        )
    )
    ids = [m.id for m in messages]
    evidence: dict[int, tuple[int, str]] = {}
    if ids:
        rows = await session.execute(
            select(Evidence.message_id, Evidence.id, Evidence.kind)
            .where(Evidence.message_id.in_(ids))
            .order_by(Evidence.id)
        )
        for message_id, eid, kind in rows.tuples():
            if message_id is not None:
                evidence.setdefault(message_id, (eid, kind))  # a message carries one file; the first is it
    roster_names = {k: p.name for k, p in desk.roster.by_id.items()}
    out = []
    for m in messages:
        found = evidence.get(m.id)
        out.append(
            {
                "id": m.id,
                "time": local_minute(m.created_at),
                "side": m.direction,
                "who": who_wrote(m.author, roster_names),
                "staff": m.author.startswith("staff:"),
                "text": mask_text(m.text or "", names),
                "evidence": found[0] if found else None,
                "image": bool(found and found[1] in IMAGE_KINDS),
            }
        )
    return out
