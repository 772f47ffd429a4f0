"""Rows of the review list: what each conversation is about, where, who handled it, a masked first line."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation as Conv
from sharedcourt.db.conversation import Message, Resident
from sharedcourt.db.ticket import Ticket
from sharedcourt.domain.clock import local_minute
from sharedcourt.domain.values.masking import known_names, mask_text
from sharedcourt.review.search import Hit
from sharedcourt.review.transcript import type_label

PREVIEW = 40  # characters of the first thing the resident said

COLUMNS = {
    "id": "会话编号",
    "updated": "最后更新",
    "channel": "渠道",
    "mode": "状态",
    "types": "纠纷类型",
    "sites": "站点",
    "urgent": "紧急",
    "handled_by": "处理人",
    "outcome": "结果",
    "preview": "首句（已脱敏）",
}


async def _first_lines(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    first = (
        select(func.min(Message.id))
        .where(Message.conversation_id.in_(ids), Message.direction == "in", Message.text != "")
        .group_by(Message.conversation_id)
    )
    rows = await session.execute(select(Message.conversation_id, Message.text).where(Message.id.in_(first)))
    return dict(rows.tuples().all())


async def describe(session: AsyncSession, hits: list[Hit]) -> list[dict[str, Any]]:
    """One masked row per hit, in the hits' order."""
    ids = [h.id for h in hits]
    if not ids:
        return []
    cases = list(await session.scalars(select(Case).where(Case.conversation_id.in_(ids)).order_by(Case.id)))
    tickets = list(await session.scalars(select(Ticket).where(Ticket.conversation_id.in_(ids)).order_by(Ticket.id)))
    names_q = select(Conv.id, Resident.name).join(Resident, Resident.id == Conv.resident_id).where(Conv.id.in_(ids))
    resident_names = dict((await session.execute(names_q)).tuples().all())
    firsts = await _first_lines(session, ids)
    rows = []
    for hit in hits:
        own_cases = [c for c in cases if c.conversation_id == hit.id]
        own_tickets = [t for t in tickets if t.conversation_id == hit.id]
        names = [n for c in own_cases for n in known_names(c.facts)] + known_names({}, resident_names.get(hit.id))
        sites = [c.site_code for c in own_cases] + [t.site_code for t in own_tickets]
        rows.append(
            {
                "id": hit.id,
                "updated": local_minute(hit.updated_at),
                "channel": hit.channel,
                "mode": "人工" if hit.mode == "human" else "机器人",
                "types": "、".join(dict.fromkeys(type_label(c.dispute_code) for c in own_cases)),
                "sites": "、".join(dict.fromkeys(s for s in sites if s)),
                "urgent": any(c.urgent for c in own_cases) or any(t.urgent for t in own_tickets),
                "handled_by": "、".join(dict.fromkeys(t.holder for t in own_tickets if t.holder)),
                "outcome": "、".join(dict.fromkeys(t.outcome for t in own_tickets if t.outcome)),
                "preview": mask_text(firsts.get(hit.id, ""), names)[:PREVIEW],
            }
        )
    return rows
