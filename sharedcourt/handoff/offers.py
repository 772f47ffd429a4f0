"""Finding a person: a request becomes a ticket, offered along the chain, escalated on time, woken after hours.

requested ─► offered ─► accepted;  offered ─► escalated (dispatch centre) ─► expired (a callback is owed);
requested ─► callback (out of hours) ─► offered when someone comes on duty.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.clients.dingtalk import Card
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.ticket import LIVE_STATES, OPEN_STATES, Ticket, TicketEvent
from sharedcourt.errors import NotFound
from sharedcourt.handoff.core import HandoffCore, HandoffRequest, Outcome, Said, as_number, label
from sharedcourt.handoff.staff_routing import Route, RouteRequest, Staffer, when_zh
from sharedcourt.handoff.texts import HELP

log = logging.getLogger(__name__)

WAITING = ("offered", "escalated")


def _route_request(req: HandoffRequest, resident: Resident, case: Case | None, lines: Sequence[str]) -> RouteRequest:
    """What routing looks at: the request, filled in from the case the bot registered."""
    facts: dict[str, Any] = dict(case.facts) if case is not None else {}
    dispute = req.dispute_code or (case.dispute_code if case is not None else None)
    amount = req.amount if req.amount is not None else as_number(facts.get("amount_yuan", facts.get("amount")))
    return RouteRequest(
        dispute_code=dispute,
        site_code=req.site_code
        or (case.site_code if case is not None else None)
        or resident.site_code
        or (f"GX{facts['place_code']}" if facts.get("place_code") else None),
        amount=amount,
        text=" ".join(lines),
        litigation=req.litigation
        or any(facts.get(k) for k in ("litigation", "judgment_case_number", "judgment_court")),
        complex=bool(facts.get("complex")),
        legal_question=req.legal_question or dispute == "other_legal",
        urgent=req.urgent or (case.urgent if case is not None else False),
    )


class Offers(HandoffCore):
    """Request, offer, acceptance, escalation and the callback wake-up."""

    async def request(self, req: HandoffRequest) -> Outcome:
        """Create a ticket (or report the live one), offer it, and say truthfully what happens next."""
        now = self.clock()
        async with unit_of_work(self.sessions) as session:
            conversation = await session.get(Conversation, req.conversation_id)
            if conversation is None:
                raise NotFound(f"no conversation {req.conversation_id}")
            live = await self._latest_ticket(session, conversation.id, LIVE_STATES)
            if live is not None:
                return Outcome(True, self._still_waiting(live), live.number, live.state)
            resident = await session.get_one(Resident, conversation.resident_id)
            case = await self._latest_case(session, conversation.id)
            lines = await self._resident_lines(session, conversation.id, limit=10)
            asked = _route_request(req, resident, case, lines.lines)
            routed = self.routing.route(asked, now)
            ticket = await self._open_ticket(session, req, asked, resident, case, routed, now)
            text = self._offer_first(session, ticket, routed, now)
            card = self._card(
                ticket,
                lines.last(5),
                heading="回电请求（非工作时间）" if ticket.state == "callback" else "居民请求人工服务",
                deadline=ticket.state != "callback",
            )
            target = self._person(ticket.assignee)
            ticket_id, number, state = ticket.id, ticket.number, ticket.state
        await self._notify(target, card, ticket_id)
        for judge in routed.guidance:
            info = Card(
                title=f"请指导调解 {number}", text=card.text.split("\n\n请在")[0] + "\n\n（复杂纠纷：请指导调解员调解）"
            )
            await self._notify(judge, info, ticket_id)
        return Outcome(True, text, number, state)

    async def _open_ticket(
        self,
        session: AsyncSession,
        req: HandoffRequest,
        asked: RouteRequest,
        resident: Resident,
        case: Case | None,
        routed: Route,
        now: dt.datetime,
    ) -> Ticket:
        """The new ticket, numbered, with the case's evidence; the case is marked handed off."""
        ticket = Ticket(
            conversation_id=req.conversation_id,
            resident_id=resident.id,
            case_id=case.id if case is not None else None,
            state="requested",
            rule=routed.rule.name,
            rule_label=routed.rule.label,
            reason=routed.rule.reason[:255],
            site_code=routed.site.code,
            site_name=routed.site.name,
            dispute_code=asked.dispute_code,
            urgent=asked.urgent,
            summary=(req.summary or (case.summary if case is not None else ""))[:2000],
            chain=[p.id for p in routed.chain],
            requested_at=now,
            updated_at=now,
        )
        if case is not None:
            evidence = await session.scalars(select(Evidence).where(Evidence.case_id == case.id))
            ticket.evidence = [{"kind": e.kind, "url": e.url or e.path or ""} for e in evidence]
            case.status = "handed_off"
        session.add(ticket)
        await session.flush()
        ticket.number = f"T{ticket.id:05d}"
        self._event(session, ticket, "requested", now, actor="resident", reason=req.reason, rule=routed.rule.name)
        return ticket

    def _offer_first(self, session: AsyncSession, ticket: Ticket, routed: Route, now: dt.datetime) -> str:
        if routed.chain:
            first = routed.chain[0]
            ticket.state = "escalated" if first.role == "dispatch" else "offered"
            ticket.assignee = first.id
            ticket.level = 0
            ticket.offered_at = now
            ticket.offer_deadline = now + self.accept_window
            self._event(session, ticket, "offered", now, to=first.id, deadline=ticket.offer_deadline.isoformat())
            text = f"已为您联系{label(first, ticket.site_name)}，请稍候。对方接单后会在这里直接回复您。"
            if ticket.urgent:
                text += "如遇人身安全危险，请立即拨打110。"
            return text
        # Nobody on duty: a callback request, and the resident is told when.
        ticket.state = "callback"
        ticket.callback_after = routed.callback_after
        ticket.assignee = routed.callback_to.id if routed.callback_to else None
        after = routed.callback_after.isoformat() if routed.callback_after else None
        self._event(session, ticket, "callback", now, to=ticket.assignee, after=after)
        person = routed.callback_to
        hours = person.schedule.describe() if person else ""
        who = label(person, ticket.site_name) if person else "工作人员"
        when = when_zh(routed.callback_after, now) if routed.callback_after else "下一个工作日"
        return (
            f"现在不在工作时间（{hours}）。已为您登记回电请求（{ticket.number}），{who}会在{when}上班后尽快联系您，"
            "回复会直接发到这里。您也可以继续和我说说情况。紧急情况请拨打110。"
        )

    def _still_waiting(self, ticket: Ticket) -> str:
        person = self._person(ticket.holder or ticket.assignee)
        who = label(person, ticket.site_name) if person else "工作人员"
        if ticket.state == "accepted":
            return f"{who}正在为您服务，请直接说。回复“结束人工”可回到智能助手。"
        if ticket.state in ("callback", "expired"):
            return f"已为您登记回电请求（{ticket.number}），{who}会尽快联系您，请留意这里的消息。"
        return f"已在为您联系{who}，请稍候。"

    async def accept(self, number: str, staff_key: str) -> Outcome:
        """Exactly one person wins; everyone else is told who has it."""
        person = self._person(staff_key)
        if person is None:
            return Outcome(False, "您不在值班名单中，不能接单。")
        now = self.clock()
        async with unit_of_work(self.sessions) as session:
            ticket = await self._ticket_by_number(session, number)
            won = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket.id, Ticket.holder.is_(None), Ticket.state.in_(OPEN_STATES))
                .values(
                    state="accepted",
                    holder=person.id,
                    assignee=person.id,
                    accepted_at=now,
                    offer_deadline=None,
                    updated_at=now,
                )
                .returning(Ticket.id)
                .execution_options(synchronize_session=False)
            )
            # The row RETURNING gives back is the claim: SQLite's count of matched rows was seen to lie under load.
            if won.scalar_one_or_none() is None:
                await session.refresh(ticket)
                holder = self._person(ticket.holder)
                if ticket.state == "accepted" and holder is not None:
                    text = f"工单 {ticket.number} 已由{holder.name}接单，无需重复处理。"
                else:
                    text = f"工单 {ticket.number} 已结束，无需处理。"
                return Outcome(False, text, ticket.number, ticket.state)
            self._event(session, ticket, "accepted", now, actor=f"staff:{person.id}")
            await self._set_mode(session, ticket.conversation_id, "human")
            if ticket.case_id is not None:
                await session.execute(
                    update(Case).where(Case.id == ticket.case_id).values(handler=person.name[:64], status="handed_off")
                )
            conversation_id, site_name, ticket_number = ticket.conversation_id, ticket.site_name, ticket.number
            waited = now - ticket.requested_at
        self.router.metrics.handoff_accepted(waited.total_seconds())
        await self._rasa(conversation_id, [{"event": "pause"}])
        await self._tell_resident(
            conversation_id,
            f"{label(person, site_name)}已接单，接下来由工作人员直接回复您。回复“结束人工”可回到智能助手。",
        )
        return Outcome(
            True,
            f"已接单 {ticket_number}。您现在发送的文字会直接转给居民（“{ticket_number} 文字”可指定工单）。\n" + HELP,
            ticket_number,
            "accepted",
        )

    async def tick(self, now: dt.datetime | None = None) -> int:
        """Advance every offer whose window has passed, and wake callbacks whose time has come. Returns changes."""
        now = now or self.clock()
        async with self.sessions() as session:
            due = list(
                await session.scalars(select(Ticket.id).where(Ticket.state.in_(WAITING), Ticket.offer_deadline <= now))
            )
            waking = list(
                await session.scalars(select(Ticket.id).where(Ticket.state == "callback", Ticket.callback_after <= now))
            )
        changed = 0
        for ticket_id in due:
            changed += await self._advance(ticket_id, now)
        for ticket_id in waking:
            changed += await self._wake(ticket_id, now)
        await self._retry_resumes()
        return changed

    def _next_offer(self, ticket: Ticket, now: dt.datetime) -> tuple[Staffer | None, dict[str, Any], str]:
        """Who is offered the ticket next (None: nobody is left, it expires), the column values and the event."""
        following = ticket.level + 1
        if following >= len(ticket.chain):
            return None, {"state": "expired", "expired_at": now, "offer_deadline": None, "updated_at": now}, "expired"
        person = self._person(ticket.chain[following])
        values: dict[str, Any] = {
            "level": following,
            "assignee": ticket.chain[following],
            "state": "escalated" if person is not None and person.role == "dispatch" else "offered",
            "offer_deadline": now + self.accept_window,
            "escalated_at": now,
            "updated_at": now,
        }
        return person, values, "escalated"

    def _advance_words(
        self, ticket: Ticket, previous: Staffer | None, person: Staffer | None, lines: Said
    ) -> tuple[str, Card]:
        """What the resident is told and the card the next person (or everyone, on expiry) gets."""
        prev_label = previous.role_zh if previous is not None else "工作人员"
        if person is not None:
            text = f"{prev_label}暂时未接听，已转给{label(person, ticket.site_name)}，请稍候。"
            return text, self._card(ticket, lines, heading="居民请求人工服务（转派）")
        text = (
            f"非常抱歉，{prev_label}和指挥中心值班人员暂时都未能接听。已为您登记回电请求（{ticket.number}），"
            "工作人员会在工作时间内尽快联系您，回复会发到这里。您也可以继续和我说，或拨打12368诉讼服务热线。"
        )
        return text, self._card(ticket, lines, heading="超时未接单，请回电居民", deadline=False)

    async def _advance(self, ticket_id: int, now: dt.datetime) -> int:
        async with unit_of_work(self.sessions) as session:
            ticket = await session.get_one(Ticket, ticket_id)
            if ticket.state not in WAITING or ticket.offer_deadline is None or ticket.offer_deadline > now:
                return 0
            previous = self._person(ticket.assignee)
            person, values, kind = self._next_offer(ticket, now)
            # Conditional: a concurrent accept or another worker's tick leaves this a no-op.
            moved = await session.execute(
                update(Ticket)
                .where(
                    Ticket.id == ticket.id,
                    Ticket.state == ticket.state,
                    Ticket.level == ticket.level,
                    Ticket.holder.is_(None),
                )
                .values(**values)
                .returning(Ticket.id)
                .execution_options(synchronize_session=False)
            )
            if moved.scalar_one_or_none() is None:
                return 0
            moves = {"from": ticket.assignee, "to": values.get("assignee"), "level": ticket.level + 1}
            session.add(TicketEvent(ticket_id=ticket.id, kind=kind, detail=moves, at=now))
            conversation = await session.get_one(Conversation, ticket.conversation_id)
            human_mode = conversation.mode == "human"
            if kind == "expired" and human_mode:
                conversation.mode = "bot"  # a transfer nobody took: the bot answers again
            lines = await self._resident_lines(session, ticket.conversation_id)
            await session.refresh(ticket)
            text, card = self._advance_words(ticket, previous, person, lines)
            conversation_id, ticket_number, chain = ticket.conversation_id, ticket.number, list(ticket.chain)
        self.router.metrics.escalation("expired" if kind == "expired" else "escalated")
        if kind == "expired" and human_mode:
            await self._resume(ticket_id, conversation_id)
        await self._tell_resident(conversation_id, text)
        # On expiry everyone asked before hears that a callback is owed; anyone can still press 接单.
        for key in [person.id] if person is not None else dict.fromkeys(chain):
            await self._notify(self._person(key), card, ticket_id)
        log.info("handoff %s %s -> %s", ticket_number, kind, values.get("assignee"))
        return 1

    async def _wake(self, ticket_id: int, now: dt.datetime) -> int:
        """A callback's time has come: offer it to whoever is on duty now (the resident was already told)."""
        async with unit_of_work(self.sessions) as session:
            ticket = await session.get_one(Ticket, ticket_id)
            if ticket.state != "callback":
                return 0
            routed = self.routing.route(
                RouteRequest(dispute_code=ticket.dispute_code, site_code=ticket.site_code, urgent=ticket.urgent), now
            )
            if not routed.chain:
                ticket.callback_after = routed.callback_after
                return 0
            first = routed.chain[0]
            moved = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket.id, Ticket.state == "callback", Ticket.holder.is_(None))
                .values(
                    state="offered",
                    chain=[p.id for p in routed.chain],
                    level=0,
                    assignee=first.id,
                    offered_at=now,
                    offer_deadline=now + self.accept_window,
                    updated_at=now,
                )
                .returning(Ticket.id)
                .execution_options(synchronize_session=False)
            )
            if moved.scalar_one_or_none() is None:
                return 0
            self._event(session, ticket, "offered", now, to=first.id, callback=True)
            await session.refresh(ticket)
            card = self._card(ticket, await self._resident_lines(session, ticket.conversation_id), heading="回电请求")
        await self._notify(first, card, ticket_id)
        return 1
