"""Handoff to a person: tickets, dispatch and acceptance, escalation, live relay, hand-back and satisfaction.

A ticket's life (every change stamped on the ticket and written to ticket_events):

    requested ─► offered ─► accepted ─► closed
        │          │  ▲ (transfer)        ▲
        │          ▼  │                   │ (结束 / 交还 / 结束人工)
        │       escalated (dispatch centre)
        │          │
        │          ▼
        └─► callback (out of hours)   expired (nobody took it: a callback is owed)

- Acceptance is one conditional UPDATE (`holder IS NULL AND state IN open states`): of two people pressing 接单 at
  once exactly one gets rowcount 1; the other is told who has it.
- Escalation is driven by `tick(now)`, called by the app's background task and by tests with an injected time.
- While a person holds the ticket the conversation's mode is "human": the router hands every resident message to
  `relay_inbound`, and Rasa's tracker is paused. Hand-back appends `resume` + `action_listen` (tech brief §4/§0.8),
  sets the mode back to "bot" and asks for a 1-5 rating.
- The core never talks to DingTalk directly: people are reached through a `StaffNotifier`, so a web console can
  reuse everything here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sharedcourt.clients.dingtalk import Card
from sharedcourt.db.base import utcnow
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.ticket import LIVE_STATES, OPEN_STATES, OUTCOMES, Rating, Ticket, TicketEvent
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.errors import AuthError, BadRequest, NotFound, RasaUnavailable, UpstreamError
from sharedcourt.handoff.staff_routing import ROLE_ZH, RouteRequest, Routing, Staffer, when_zh
from sharedcourt.handoff.staff_routing import Route as Routed
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.messaging.router import Router
from sharedcourt.web.auth import require_staff
from sharedcourt.web.payload import json_object

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
END_WORDS = ("结束人工", "退出人工", "结束人工服务", "不需要人工了", "人工结束", "取消人工")
RATING_PROMPT = "本次人工服务已结束。请您为这次服务打分（1-5分，5分最满意），直接回复数字即可："
RATING_LABELS = ("1分 很不满意", "2分 不满意", "3分 一般", "4分 满意", "5分 非常满意")
RESUME_EVENTS: list[dict[str, Any]] = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
_NUMBER = re.compile(r"\bT\d{5,}\b", re.IGNORECASE)
_COMMAND = re.compile(r"^\s*(接单|抢单|转交|结束|交还|帮助)\s*(.*)$", re.DOTALL)
ROLE_WORDS = {
    "法官": "judge",
    "结对法官": "judge",
    "调解员": "mediator",
    "庭务主任": "director",
    "律师": "lawyer",
    "共享律师": "lawyer",
    "民警": "police",
    "警务站": "police",
    "和姐": "family_mediator",
    "家事调解员": "family_mediator",
    "指挥中心": "dispatch",
}
HELP = (
    "可用命令：\n"
    "· 接单 T00001\n"
    "· 转交 法官 / 调解员 / 庭务主任 / 指挥中心（或对方编号）\n"
    "· 结束 调解成功|调解不成|转立案|已解答|其他 备注\n"
    "· 交还（把对话交还智能助手）\n"
    "接单后，您发送的其他文字都会直接转给居民。"
)


class StaffNotifier(Protocol):
    """Reaches a person on the roster (DingTalk robot in production, an in-memory inbox in demos and tests)."""

    async def notify(self, staffer: Staffer, card: Card) -> None: ...


@dataclass
class InboxNotifier:
    """No DingTalk configured: keep the messages for GET /handoff/staff/inbox (the local demo)."""

    messages: list[tuple[str, Card]] = field(default_factory=list)

    async def notify(self, staffer: Staffer, card: Card) -> None:
        log.info("handoff message for %s (%s): %s", staffer.id, staffer.name, card.title)
        self.messages.append((staffer.id, card))


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: str
    reason: str = "asked"  # asked, urgent, fallback, case
    dispute_code: str | None = None
    site_code: str | None = None
    amount: float | None = None
    urgent: bool = False
    litigation: bool = False
    legal_question: bool = False
    summary: str = ""


@dataclass(frozen=True)
class Outcome:
    """What happened, for whoever asked: ok, the ticket number, and text for the asker."""

    ok: bool
    text: str
    number: str | None = None
    state: str | None = None


def _label(person: Staffer, site_name: str) -> str:
    """How a person is named to residents: by post, never by personal name."""
    if person.role == "dispatch":
        return person.name.removesuffix("值班员") + "值班人员"
    return f"{site_name}的{person.role_zh}"


class HandoffService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        router: Router,
        routing: Routing,
        notifier: StaffNotifier,
        *,
        accept_seconds: int = 180,
        clock: Clock = utcnow,
        public_url: str = "",
    ) -> None:
        self.sessions = sessions
        self.router = router
        self.routing = routing
        self.roster = routing.roster
        self.notifier = notifier
        self.accept_window = dt.timedelta(seconds=accept_seconds)
        self.clock = clock
        self.public_url = public_url.rstrip("/")

    # ---- helpers --------------------------------------------------------------------------------------------

    def _person(self, key: str | None) -> Staffer | None:
        return self.roster.find(key) if key else None

    @staticmethod
    def _event(
        session: AsyncSession, ticket: Ticket, kind: str, now: dt.datetime, actor: str = "system", **detail: Any
    ) -> None:
        session.add(TicketEvent(ticket_id=ticket.id, kind=kind, actor=actor, detail=detail, at=now))

    async def _notify(self, person: Staffer | None, card: Card, ticket_id: int) -> None:
        """Send to a person; a failure is recorded, never raised (escalation goes on regardless)."""
        if person is None:
            return
        try:
            await self.notifier.notify(person, card)
            kind, detail = "notified", {"to": person.id, "title": card.title}
        except UpstreamError as exc:
            log.warning("handoff: could not reach %s: %s", person.id, exc)
            kind, detail = "notify_failed", {"to": person.id, "error": str(exc)[:200]}
        async with unit_of_work(self.sessions) as session:
            session.add(TicketEvent(ticket_id=ticket_id, kind=kind, detail=detail, at=self.clock()))

    async def _tell_resident(self, conversation_id: str, text: str, buttons: Sequence[Button] = ()) -> None:
        await self.router.send(conversation_id, [Reply(text, tuple(buttons))], author="system")

    async def _rasa(self, conversation_id: str, events: list[dict[str, Any]]) -> bool:
        try:
            await self.router.rasa.append_events(conversation_id, events)
            return True
        except RasaUnavailable as exc:
            log.warning("handoff: rasa events %s for %s not appended: %s", events, conversation_id, exc)
            return False

    def _transcript_url(self, ticket: Ticket) -> str:
        return f"{self.public_url}/handoff/tickets/{ticket.number}/transcript?key={ticket.transcript_key}"

    async def _resident_lines(self, session: AsyncSession, conversation_id: str, limit: int = 5) -> list[str]:
        rows = await session.scalars(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.direction == "in", Message.author == "resident")
            .order_by(Message.id.desc())
            .limit(limit)
        )
        return [t for t in reversed(list(rows)) if t and not t.startswith("/")]

    def _card(self, ticket: Ticket, lines: Sequence[str], *, heading: str, deadline: bool = True) -> Card:
        dispute = BY_CODE.get(ticket.dispute_code or "")
        said = "\n".join(f"> {line}" for line in lines) or "> （居民尚未描述）"
        text = (
            f"### {heading}（{ticket.number}）\n\n"
            f"- 地点：{ticket.site_name}\n"
            f"- 分派：{ticket.rule_label}（{ticket.reason}）\n"
            f"- 纠纷类型：{dispute.label if dispute else '未识别'}\n"
            f"- 紧急：{'是，请尽快处理' if ticket.urgent else '否'}\n"
        )
        if ticket.summary:
            text += f"- 事实摘要：{ticket.summary}\n"
        if ticket.evidence:
            text += f"- 证据：{len(ticket.evidence)} 件，见对话记录\n"
        text += f"\n居民原话：\n\n{said}\n\n[查看完整对话记录]({self._transcript_url(ticket)})\n"
        if deadline:
            minutes = max(1, round(self.accept_window.total_seconds() / 60))
            text += f"\n请在 {minutes} 分钟内接单，超时将转给下一位值班人员。"
        number = ticket.number or ""
        return Card(
            title=f"{heading} {number}",
            text=text,
            buttons=(("接单", f"接单 {number}"), ("转交法官", f"转交 法官 {number}")),
        )

    # ---- request ---------------------------------------------------------------------------------------------

    async def request(self, req: HandoffRequest) -> Outcome:
        """Create a ticket (or report the live one), offer it, and say truthfully what happens next."""
        now = self.clock()
        async with unit_of_work(self.sessions) as session:
            conversation = await session.get(Conversation, req.conversation_id)
            if conversation is None:
                raise NotFound(f"no conversation {req.conversation_id}")
            live = await session.scalar(
                select(Ticket)
                .where(Ticket.conversation_id == conversation.id, Ticket.state.in_(LIVE_STATES))
                .order_by(Ticket.id.desc())
                .limit(1)
            )
            if live is not None:
                return Outcome(True, self._still_waiting(live), live.number, live.state)
            resident = await session.get_one(Resident, conversation.resident_id)
            case = await session.scalar(
                select(Case).where(Case.conversation_id == conversation.id).order_by(Case.id.desc()).limit(1)
            )
            facts: dict[str, Any] = dict(case.facts) if case is not None else {}
            dispute = req.dispute_code or (case.dispute_code if case is not None else None)
            amount = req.amount if req.amount is not None else _number(facts.get("amount_yuan", facts.get("amount")))
            lines = await self._resident_lines(session, conversation.id, limit=10)
            routed = self.routing.route(
                RouteRequest(
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
                ),
                now,
            )
            ticket = Ticket(
                conversation_id=conversation.id,
                resident_id=resident.id,
                case_id=case.id if case is not None else None,
                state="requested",
                rule=routed.rule.name,
                rule_label=routed.rule.label,
                reason=routed.rule.reason[:255],
                site_code=routed.site.code,
                site_name=routed.site.name,
                dispute_code=dispute,
                urgent=req.urgent or (case.urgent if case is not None else False),
                summary=(req.summary or (case.summary if case is not None else ""))[:2000],
                chain=[p.id for p in routed.chain],
                transcript_key=secrets.token_urlsafe(16),
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
            text = self._offer_first(session, ticket, routed, now)
            card = self._card(
                ticket,
                lines[-5:],
                heading="回电请求（非工作时间）" if ticket.state == "callback" else "居民请求人工服务",
                deadline=ticket.state != "callback",
            )
            target = self._person(ticket.assignee)
            guidance = routed.guidance
            ticket_id, number, state = ticket.id, ticket.number, ticket.state
        await self._notify(target, card, ticket_id)
        for judge in guidance:
            info = Card(
                title=f"请指导调解 {number}", text=card.text.split("\n\n请在")[0] + "\n\n（复杂纠纷：请指导调解员调解）"
            )
            await self._notify(judge, info, ticket_id)
        return Outcome(True, text, number, state)

    def _offer_first(self, session: AsyncSession, ticket: Ticket, routed: Routed, now: dt.datetime) -> str:
        if routed.chain:
            first = routed.chain[0]
            ticket.state = "escalated" if first.role == "dispatch" else "offered"
            ticket.assignee = first.id
            ticket.level = 0
            ticket.offered_at = now
            ticket.offer_deadline = now + self.accept_window
            self._event(session, ticket, "offered", now, to=first.id, deadline=ticket.offer_deadline.isoformat())
            text = f"已为您联系{_label(first, ticket.site_name)}，请稍候。对方接单后会在这里直接回复您。"
            if ticket.urgent:
                text += "如遇人身安全危险，请立即拨打110。"
            return text
        # Nobody on duty: a callback request, and the resident is told when.
        ticket.state = "callback"
        ticket.callback_after = routed.callback_after
        ticket.assignee = routed.callback_to.id if routed.callback_to else None
        self._event(session, ticket, "callback", now, to=ticket.assignee, after=_iso(routed.callback_after))
        person = routed.callback_to
        hours = person.schedule.describe() if person else ""
        who = _label(person, ticket.site_name) if person else "工作人员"
        when = when_zh(routed.callback_after, now) if routed.callback_after else "下一个工作日"
        return (
            f"现在不在工作时间（{hours}）。已为您登记回电请求（{ticket.number}），{who}会在{when}上班后尽快联系您，"
            "回复会直接发到这里。您也可以继续和我说说情况。紧急情况请拨打110。"
        )

    def _still_waiting(self, ticket: Ticket) -> str:
        person = self._person(ticket.holder or ticket.assignee)
        who = _label(person, ticket.site_name) if person else "工作人员"
        if ticket.state == "accepted":
            return f"{who}正在为您服务，请直接说。回复“结束人工”可回到智能助手。"
        if ticket.state in ("callback", "expired"):
            return f"已为您登记回电请求（{ticket.number}），{who}会尽快联系您，请留意这里的消息。"
        return f"已在为您联系{who}，请稍候。"

    # ---- acceptance ------------------------------------------------------------------------------------------

    async def _ticket_by_number(self, session: AsyncSession, number: str) -> Ticket:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number.upper()))
        if ticket is None:
            raise NotFound(f"没有工单 {number}")
        return ticket

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
                .execution_options(synchronize_session=False)
            )
            if won.rowcount != 1:  # type: ignore[attr-defined]
                await session.refresh(ticket)
                holder = self._person(ticket.holder)
                if ticket.state == "accepted" and holder is not None:
                    text = f"工单 {ticket.number} 已由{holder.name}接单，无需重复处理。"
                else:
                    text = f"工单 {ticket.number} 已结束，无需处理。"
                return Outcome(False, text, ticket.number, ticket.state)
            self._event(session, ticket, "accepted", now, actor=f"staff:{person.id}")
            await session.execute(
                update(Conversation).where(Conversation.id == ticket.conversation_id).values(mode="human")
            )
            if ticket.case_id is not None:
                await session.execute(
                    update(Case).where(Case.id == ticket.case_id).values(handler=person.name[:64], status="handed_off")
                )
            conversation_id, site_name, ticket_number = ticket.conversation_id, ticket.site_name, ticket.number
        await self._rasa(conversation_id, [{"event": "pause"}])
        await self._tell_resident(
            conversation_id,
            f"{_label(person, site_name)}已接单，接下来由工作人员直接回复您。回复“结束人工”可回到智能助手。",
        )
        return Outcome(
            True,
            f"已接单 {ticket_number}。您现在发送的文字会直接转给居民（“{ticket_number} 文字”可指定工单）。\n" + HELP,
            ticket_number,
            "accepted",
        )

    # ---- escalation ------------------------------------------------------------------------------------------

    async def tick(self, now: dt.datetime | None = None) -> int:
        """Advance every offer whose window has passed, and wake callbacks whose time has come. Returns changes."""
        now = now or self.clock()
        async with self.sessions() as session:
            due = list(
                await session.scalars(
                    select(Ticket.id).where(Ticket.state.in_(("offered", "escalated")), Ticket.offer_deadline <= now)
                )
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

    async def _resume(self, ticket_id: int, conversation_id: str) -> None:
        """Un-pause Rasa; if Rasa is down, remember it so the tick retries (a paused tracker would never answer)."""
        ok = await self._rasa(conversation_id, RESUME_EVENTS)
        async with unit_of_work(self.sessions) as session:
            kind = "resumed" if ok else "resume_pending"
            session.add(TicketEvent(ticket_id=ticket_id, kind=kind, detail={}, at=self.clock()))

    async def _retry_resumes(self) -> None:
        async with self.sessions() as session:
            rows = await session.execute(
                select(TicketEvent.ticket_id, TicketEvent.kind, Ticket.conversation_id)
                .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                .where(TicketEvent.kind.in_(("resume_pending", "resumed")))
                .where(TicketEvent.at >= self.clock() - dt.timedelta(days=2))
                .order_by(TicketEvent.id)
            )
            last: dict[int, tuple[str, str]] = {}
            for ticket_id, kind, conversation_id in rows:
                last[ticket_id] = (kind, conversation_id)
        for ticket_id, (kind, conversation_id) in last.items():
            if kind == "resume_pending":
                await self._resume(ticket_id, conversation_id)

    async def _advance(self, ticket_id: int, now: dt.datetime) -> int:
        async with unit_of_work(self.sessions) as session:
            ticket = await session.get_one(Ticket, ticket_id)
            if (
                ticket.state not in ("offered", "escalated")
                or ticket.offer_deadline is None
                or ticket.offer_deadline > now
            ):
                return 0
            previous = self._person(ticket.assignee)
            following = ticket.level + 1
            if following < len(ticket.chain):
                person = self._person(ticket.chain[following])
                state = "escalated" if person is not None and person.role == "dispatch" else "offered"
                values: dict[str, Any] = {
                    "level": following,
                    "assignee": ticket.chain[following],
                    "state": state,
                    "offer_deadline": now + self.accept_window,
                    "escalated_at": now,
                    "updated_at": now,
                }
                kind = "escalated"
            else:
                person = None
                values = {"state": "expired", "expired_at": now, "offer_deadline": None, "updated_at": now}
                kind = "expired"
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
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return 0
            moves = {"from": ticket.assignee, "to": values.get("assignee"), "level": following}
            session.add(TicketEvent(ticket_id=ticket.id, kind=kind, detail=moves, at=now))
            conversation = await session.get_one(Conversation, ticket.conversation_id)
            human_mode = conversation.mode == "human"
            if kind == "expired" and human_mode:
                conversation.mode = "bot"  # a transfer nobody took: the bot answers again
            lines = await self._resident_lines(session, ticket.conversation_id)
            await session.refresh(ticket)
            prev_label = previous.role_zh if previous is not None else "工作人员"
            if person is not None:
                text = f"{prev_label}暂时未接听，已转给{_label(person, ticket.site_name)}，请稍候。"
                card = self._card(ticket, lines, heading="居民请求人工服务（转派）")
            else:
                text = (
                    f"非常抱歉，{prev_label}和指挥中心值班人员暂时都未能接听。已为您登记回电请求（{ticket.number}），"
                    "工作人员会在工作时间内尽快联系您，回复会发到这里。您也可以继续和我说，或拨打12368诉讼服务热线。"
                )
                card = self._card(ticket, lines, heading="超时未接单，请回电居民", deadline=False)
            conversation_id, ticket_number = ticket.conversation_id, ticket.number
            first = self._person(ticket.chain[0]) if ticket.chain else None
        if kind == "expired" and human_mode:
            await self._resume(ticket_id, conversation_id)
        await self._tell_resident(conversation_id, text)
        if person is not None:
            await self._notify(person, card, ticket_id)
        else:
            # Everyone asked before hears that a callback is owed; anyone can still press 接单.
            for key in dict.fromkeys(ticket.chain or ([first.id] if first else [])):
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
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return 0
            self._event(session, ticket, "offered", now, to=first.id, callback=True)
            await session.refresh(ticket)
            card = self._card(ticket, await self._resident_lines(session, ticket.conversation_id), heading="回电请求")
        await self._notify(first, card, ticket_id)
        return 1

    # ---- live relay ------------------------------------------------------------------------------------------

    async def relay_inbound(self, message_id: int) -> None:
        """Router hook: a resident's message while a person holds (or is being found for) the conversation."""
        async with unit_of_work(self.sessions) as session:
            message = await session.get_one(Message, message_id)
            ticket = await session.scalar(
                select(Ticket)
                .where(Ticket.conversation_id == message.conversation_id, Ticket.state.in_(LIVE_STATES))
                .order_by(Ticket.id.desc())
                .limit(1)
            )
            text, kind, payload = message.text, message.kind, dict(message.payload)
            conversation_id = message.conversation_id
            if ticket is None:
                # Nobody holds it any more (an inconsistent state): give the message back to the bot.
                await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(mode="bot"))
                message.status = "received"
                holder: Staffer | None = None
                number = None
            else:
                holder = self._person(ticket.holder) if ticket.state == "accepted" else None
                number = ticket.number
                if holder is not None and not _is_end(text):
                    self._event(session, ticket, "relayed_in", self.clock(), actor="resident", message_id=message_id)
        if ticket is None:
            await self.router.process(message_id)
            return
        if _is_end(text):
            await self.end_by_resident(conversation_id)
            return
        if holder is None:
            await self._tell_resident(
                conversation_id, "正在为您转接工作人员，请稍候，您的消息已记录，接通后对方可以看到。"
            )
            return
        body = (
            text
            if kind == "text"
            else f"[{kind}] {text or ''} {payload.get('url') or payload.get('image') or ''}".strip()
        )
        await self._notify(holder, Card(title=f"居民消息 {number}", text=f"**居民（{number}）**：{body}"), ticket.id)

    async def staff_says(self, staff_key: str, text: str) -> Outcome:
        """Everything a person sends (DingTalk, console): a command, or words for the resident they serve."""
        person = self._person(staff_key)
        if person is None:
            return Outcome(False, "您不在值班名单中。如需使用，请联系管理员把您的钉钉账号加入值班表。")
        text = text.strip()
        match = _COMMAND.match(text)
        if match:
            verb, rest = match.group(1), match.group(2).strip()
            number_match = _NUMBER.search(rest)
            number = number_match.group(0).upper() if number_match else None
            rest = _NUMBER.sub("", rest).strip()
            if verb == "帮助":
                return Outcome(True, HELP)
            if verb in ("接单", "抢单"):
                number = number or await self._offered_to(person)
                if number is None:
                    return Outcome(False, "没有等待您接单的工单。请在“接单”后写上工单编号，例如：接单 T00001")
                return await self.accept(number, person.id)
            number = number or await self._held_by(person)
            if number is None:
                return Outcome(False, "您当前没有正在处理的工单。\n" + HELP)
            if verb == "转交":
                return await self.transfer(number, person.id, rest)
            if verb == "结束":
                outcome = next((o for o in OUTCOMES if rest.startswith(o)), rest.split(" ")[0] if rest else "")
                note = rest[len(outcome) :].strip(" \u3000，,。:：")
                return await self.close(number, person.id, outcome, note)
            return await self.hand_back(number, person.id)
        number_match = _NUMBER.match(text)
        number = number_match.group(0).upper() if number_match else await self._held_by(person)
        if number_match:
            text = text[number_match.end() :].strip()
        if number is None or not text:
            return Outcome(False, "您当前没有正在处理的工单，消息未转发。\n" + HELP)
        return await self.reply_to_resident(number, person.id, text)

    async def _offered_to(self, person: Staffer) -> str | None:
        async with self.sessions() as session:
            number: str | None = await session.scalar(
                select(Ticket.number)
                .where(Ticket.assignee == person.id, Ticket.state.in_(OPEN_STATES))
                .order_by(Ticket.id.desc())
                .limit(1)
            )
            return number

    async def _held_by(self, person: Staffer) -> str | None:
        async with self.sessions() as session:
            number: str | None = await session.scalar(
                select(Ticket.number)
                .where(Ticket.holder == person.id, Ticket.state == "accepted")
                .order_by(Ticket.accepted_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            return number

    async def reply_to_resident(self, number: str, staff_key: str, text: str) -> Outcome:
        async with unit_of_work(self.sessions) as session:
            ticket = await self._ticket_by_number(session, number)
            if ticket.state != "accepted" or ticket.holder != staff_key:
                return Outcome(False, f"工单 {ticket.number} 不在您手上，消息未转发。", ticket.number, ticket.state)
            self._event(session, ticket, "relayed_out", self.clock(), actor=f"staff:{staff_key}")
            conversation_id = ticket.conversation_id
        await self.router.send(conversation_id, [Reply(text)], author=f"staff:{staff_key}")
        return Outcome(True, "", number, "accepted")

    # ---- transfer, close, hand-back ---------------------------------------------------------------------------

    def _resolve_target(self, ticket: Ticket, who: str, exclude: str) -> Staffer | None:
        direct = self._person(who)
        if direct is not None:
            return direct
        role = ROLE_WORDS.get(who) or (who if who in ROLE_ZH else None)
        if role is None:
            return None
        now = self.clock()
        site = self.roster.site(ticket.site_code)
        if role == "dispatch":
            return self.roster.dispatch.get(site.county)
        people = [p for p in site.staff if p.role == role and p.id != exclude]
        on_duty = [p for p in people if p.schedule.on_duty(now)]
        chosen = on_duty or people
        return chosen[0] if chosen else None

    async def transfer(self, number: str, staff_key: str, who: str) -> Outcome:
        now = self.clock()
        async with unit_of_work(self.sessions) as session:
            ticket = await self._ticket_by_number(session, number)
            target = self._resolve_target(ticket, who, staff_key)
            if target is None:
                return Outcome(False, f"找不到转交对象“{who}”。可写：法官、调解员、庭务主任、指挥中心，或对方编号。")
            if target.id == staff_key:
                return Outcome(False, "不能转交给自己。")
            site = self.roster.site(ticket.site_code)
            dispatch = self.roster.dispatch.get(site.county)
            chain = [target.id] + ([dispatch.id] if dispatch is not None and dispatch.id != target.id else [])
            moved = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket.id, Ticket.holder == staff_key, Ticket.state == "accepted")
                .values(
                    state="escalated" if target.role == "dispatch" else "offered",
                    holder=None,
                    assignee=target.id,
                    chain=chain,
                    level=0,
                    offered_at=now,
                    offer_deadline=now + self.accept_window,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return Outcome(False, f"工单 {ticket.number} 不在您手上，不能转交。", ticket.number, ticket.state)
            self._event(session, ticket, "transferred", now, actor=f"staff:{staff_key}", to=target.id)
            await session.refresh(ticket)
            lines = await self._resident_lines(session, ticket.conversation_id)
            source = self._person(staff_key)
            card = self._card(ticket, lines, heading=f"{source.name if source else '同事'}转交的工单")
            conversation_id, site_name = ticket.conversation_id, ticket.site_name
        await self._notify(target, card, ticket.id)
        await self._tell_resident(
            conversation_id, f"工作人员已把您的问题转交给{_label(target, site_name)}，请稍候，对方接单后会直接回复您。"
        )
        return Outcome(True, f"已转交给{target.name}（{number}）。", number, "offered")

    async def close(self, number: str, staff_key: str, outcome: str, note: str = "") -> Outcome:
        if outcome not in OUTCOMES:
            return Outcome(False, f"请写明结果：结束 {'|'.join(OUTCOMES)} 备注（例如：结束 调解成功 双方同意分期还款）")
        return await self._finish(number, staff_key, outcome=outcome, note=note, kind="closed")

    async def hand_back(self, number: str, staff_key: str) -> Outcome:
        return await self._finish(number, staff_key, outcome=None, note="交还智能助手", kind="handed_back")

    async def end_by_resident(self, conversation_id: str) -> Outcome:
        async with self.sessions() as session:
            ticket = await session.scalar(
                select(Ticket)
                .where(Ticket.conversation_id == conversation_id, Ticket.state.in_(LIVE_STATES))
                .order_by(Ticket.id.desc())
                .limit(1)
            )
        if ticket is None or ticket.number is None:
            return Outcome(False, "您当前没有进行中的人工服务。")
        if ticket.state != "accepted":
            return await self.cancel(conversation_id)
        return await self._finish(
            ticket.number, ticket.holder or "", outcome=None, note="居民结束人工", kind="ended_by_resident"
        )

    async def _finish(self, number: str, staff_key: str, *, outcome: str | None, note: str, kind: str) -> Outcome:
        now = self.clock()
        async with unit_of_work(self.sessions) as session:
            ticket = await self._ticket_by_number(session, number)
            closed = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket.id, Ticket.holder == staff_key, Ticket.state == "accepted")
                .values(state="closed", outcome=outcome, note=note[:2000], closed_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if closed.rowcount != 1:  # type: ignore[attr-defined]
                return Outcome(False, f"工单 {ticket.number} 不在您手上或已结束。", ticket.number, ticket.state)
            actor = "resident" if kind == "ended_by_resident" else f"staff:{staff_key}"
            self._event(session, ticket, kind, now, actor=actor, outcome=outcome, note=note[:500])
            await session.execute(
                update(Conversation).where(Conversation.id == ticket.conversation_id).values(mode="bot")
            )
            if ticket.case_id is not None and outcome is not None:
                await session.execute(
                    update(Case)
                    .where(Case.id == ticket.case_id)
                    .values(status="closed" if outcome in ("调解成功", "已解答") else "handed_off")
                )
            conversation_id, holder = ticket.conversation_id, self._person(ticket.holder)
        await self._resume(ticket.id, conversation_id)
        if kind == "ended_by_resident":
            await self._notify(
                holder,
                Card(title=f"居民已结束人工 {number}", text=f"居民已结束人工服务（{number}），对话已交还智能助手。"),
                ticket.id,
            )
            opening = "好的，已结束人工服务，智能助手继续为您服务。"
        elif kind == "handed_back":
            opening = "工作人员已把对话交还给智能助手，您可以继续和我说。"
        else:
            opening = f"工作人员已结束本次人工服务（结果：{outcome}）。"
        await self._tell_resident(conversation_id, opening)
        await self._ask_rating(conversation_id)
        done = {"closed": "已结束", "handed_back": "已交还智能助手", "ended_by_resident": "居民已结束"}[kind]
        return Outcome(True, f"{number} {done}。", number, "closed")

    async def cancel(self, conversation_id: str) -> Outcome:
        """The resident no longer wants a person before anyone accepted."""
        now = self.clock()
        async with unit_of_work(self.sessions) as session:
            ticket = await session.scalar(
                select(Ticket)
                .where(Ticket.conversation_id == conversation_id, Ticket.state.in_(OPEN_STATES))
                .order_by(Ticket.id.desc())
                .limit(1)
            )
            if ticket is None:
                return Outcome(False, "您当前没有进行中的人工服务请求。")
            moved = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket.id, Ticket.holder.is_(None), Ticket.state.in_(OPEN_STATES))
                .values(state="closed", note="居民取消", closed_at=now, offer_deadline=None, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return Outcome(False, "工作人员刚刚已经接单了，请直接和工作人员说。")
            self._event(session, ticket, "cancelled", now, actor="resident")
            await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(mode="bot"))
            assignee, number = self._person(ticket.assignee), ticket.number
        await self._notify(
            assignee,
            Card(title=f"居民已取消 {number}", text=f"居民已取消人工服务请求（{number}），无需接单。"),
            ticket.id,
        )
        return Outcome(True, "好的，已取消人工服务请求。还有什么可以帮您？", number, "closed")

    async def _ask_rating(self, conversation_id: str) -> None:
        buttons = [Button(label, f'/rate_handoff{{"rating":"{i}"}}') for i, label in enumerate(RATING_LABELS, start=1)]
        await self._tell_resident(conversation_id, RATING_PROMPT, buttons)

    # ---- rating and status -----------------------------------------------------------------------------------

    async def rate(self, conversation_id: str, score: int | None = None, comment: str | None = None) -> Outcome:
        """Rating of the conversation's most recently closed ticket; the comment may come in a later call."""
        if score is not None and not 1 <= score <= 5:
            raise BadRequest("rating must be 1-5")
        async with unit_of_work(self.sessions) as session:
            ticket = await session.scalar(
                select(Ticket)
                .where(
                    Ticket.conversation_id == conversation_id, Ticket.state == "closed", Ticket.accepted_at.is_not(None)
                )
                .order_by(Ticket.closed_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            if ticket is None:
                return Outcome(False, "没有可以评价的人工服务。")
            rating = await session.scalar(select(Rating).where(Rating.ticket_id == ticket.id))
            if rating is None:
                if score is None:
                    return Outcome(False, "请先打分（1-5分）。", ticket.number)
                rating = Rating(ticket_id=ticket.id, score=score, comment="", created_at=self.clock())
                session.add(rating)
            elif score is not None:
                rating.score = score
            if comment is not None and comment.strip() not in ("", "没有", "无", "没有了", "不用了"):
                rating.comment = comment.strip()[:1000]
            self._event(session, ticket, "rated", self.clock(), actor="resident", score=rating.score)
            return Outcome(True, "感谢您的评价！", ticket.number, ticket.state)

    async def status(self, conversation_id: str) -> Outcome:
        """'我的案件': the case's status and who handles it, in words."""
        async with self.sessions() as session:
            case = await session.scalar(
                select(Case).where(Case.conversation_id == conversation_id).order_by(Case.id.desc()).limit(1)
            )
            ticket = await session.scalar(
                select(Ticket).where(Ticket.conversation_id == conversation_id).order_by(Ticket.id.desc()).limit(1)
            )
        parts: list[str] = []
        if case is not None:
            dispute = BY_CODE.get(case.dispute_code or "")
            case_status = {
                "open": "登记中",
                "confirmed": "已登记",
                "booked": "已预约调解",
                "handed_off": "已转工作人员处理",
                "closed": "已办结",
            }
            numbered = f"（{case.number}）" if case.number else ""
            parts.append(
                f"您的案件{numbered}：{dispute.label if dispute else '纠纷'}，"
                f"状态：{case_status.get(case.status, case.status)}。"
            )
        if ticket is not None:
            person = self._person(ticket.holder or ticket.assignee)
            who = _label(person, ticket.site_name) if person else ticket.site_name
            state = {
                "requested": "正在为您联系工作人员",
                "offered": f"已联系{who}，等待接单",
                "escalated": f"已转{who}，等待接单",
                "accepted": f"由{who}处理中",
                "callback": f"已登记回电，{who}会在工作时间联系您",
                "expired": "已登记回电，工作人员会尽快联系您",
                "closed": f"已结束{('（' + ticket.outcome + '）') if ticket.outcome else ''}，处理人：{who}",
            }[ticket.state]
            parts.append(f"人工服务 {ticket.number}：{state}。")
        if not parts:
            return Outcome(False, "暂时没有查到您的案件。您可以说说遇到的问题，我帮您登记；或回复“人工”联系工作人员。")
        return Outcome(True, "\n".join(parts), ticket.number if ticket else None, ticket.state if ticket else None)

    async def transcript(self, number: str, key: str) -> tuple[Ticket, list[Message]]:
        async with self.sessions() as session:
            ticket = await self._ticket_by_number(session, number)
            if not key or not hmac.compare_digest(ticket.transcript_key.encode(), key.encode()):
                raise AuthError("bad transcript key")
            rows = await session.scalars(
                select(Message).where(Message.conversation_id == ticket.conversation_id).order_by(Message.id)
            )
            return ticket, list(rows)


def _is_end(text: str) -> bool:
    return text.strip().rstrip("。！!") in END_WORDS


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


# ---- wiring: the app builds one service, its notifier and the escalation tick --------------------------------


@dataclass
class Runtime:
    service: HandoffService
    notifier: StaffNotifier
    closers: list[Callable[[], Any]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in self.closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def build(
    settings: Any,
    sessions: async_sessionmaker[AsyncSession],
    router: Router,
    *,
    clock: Clock = utcnow,
    dingtalk_transport: Any = None,
    outbox: Any = None,
) -> Runtime:
    """The service for this app: DingTalk (through the outbox when given) when DINGTALK_* are set, else the
    local inbox (the demo: GET /handoff/staff/inbox, POST /handoff/staff/command)."""
    from sharedcourt.handoff.staff_routing import ROSTER_FILE, load_default

    routing = load_default(settings.handoff_roster or str(ROSTER_FILE))
    closers: list[Callable[[], Any]] = []
    notifier: StaffNotifier
    if settings.dingtalk_app_key and settings.dingtalk_app_secret:
        from sharedcourt.channels.dingtalk import DingTalkNotifier, OutboxNotifier
        from sharedcourt.clients.dingtalk import DingTalkClient

        client = DingTalkClient(
            settings.dingtalk_api_base,
            settings.dingtalk_app_key,
            settings.dingtalk_app_secret,
            settings.dingtalk_robot_code,
            transport=dingtalk_transport,
        )
        notifier = OutboxNotifier(client, outbox) if outbox is not None else DingTalkNotifier(client)
        closers.append(client.aclose)
    else:
        notifier = InboxNotifier()
    service = HandoffService(
        sessions,
        router,
        routing,
        notifier,
        accept_seconds=settings.handoff_accept_seconds,
        clock=clock,
        public_url=settings.public_url,
    )
    router.relay = service.relay_inbound
    return Runtime(service, notifier, closers)


async def tick_loop(service: HandoffService, interval: float) -> None:
    """Escalate unaccepted offers on schedule."""
    while True:
        await asyncio.sleep(interval)
        try:
            await service.tick()
        except Exception:
            log.exception("handoff tick failed")


# ---- HTTP: the action server and a console call these (Bearer STAFF_TOKEN) ---------------------------------


def _service(request: Request) -> HandoffService:
    require_staff(request)
    service: HandoffService = request.app.state.handoff.service
    return service


def _out(outcome: Outcome) -> Response:
    return JSONResponse({"ok": outcome.ok, "text": outcome.text, "ticket": outcome.number, "state": outcome.state})


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key} must be a non-empty string")
    return value


async def post_request(request: Request) -> Response:
    service = _service(request)
    data = await json_object(request)
    amount = data.get("amount")
    req = HandoffRequest(
        conversation_id=_str(data, "conversation_id"),
        reason=str(data.get("reason") or "asked"),
        dispute_code=data.get("dispute_code") or None,
        site_code=data.get("site_code") or None,
        amount=_number(amount),
        urgent=bool(data.get("urgent")),
        litigation=bool(data.get("litigation")),
        legal_question=bool(data.get("legal_question")),
        summary=str(data.get("summary") or ""),
    )
    return _out(await service.request(req))


async def post_cancel(request: Request) -> Response:
    service = _service(request)
    data = await json_object(request)
    conversation_id = _str(data, "conversation_id")
    outcome = await service.end_by_resident(conversation_id)
    return _out(outcome)


async def post_rating(request: Request) -> Response:
    service = _service(request)
    data = await json_object(request)
    score = data.get("score")
    try:
        parsed = int(score) if score is not None else None
    except (TypeError, ValueError):
        raise BadRequest("score must be 1-5") from None
    comment = data.get("comment")
    return _out(
        await service.rate(_str(data, "conversation_id"), parsed, comment if isinstance(comment, str) else None)
    )


async def get_status(request: Request) -> Response:
    service = _service(request)
    conversation_id = request.query_params.get("conversation_id", "")
    if not conversation_id:
        raise BadRequest("conversation_id is required")
    return _out(await service.status(conversation_id))


async def post_staff_command(request: Request) -> Response:
    """A console (or the demo) speaks for a person on the roster: same commands as DingTalk."""
    service = _service(request)
    data = await json_object(request)
    return _out(await service.staff_says(_str(data, "staff"), _str(data, "text")))


async def get_inbox(request: Request) -> Response:
    _service(request)
    notifier = request.app.state.handoff.notifier
    staff = request.query_params.get("staff")
    items = [
        {"staff": who, "title": card.title, "text": card.text, "buttons": [list(b) for b in card.buttons]}
        for who, card in getattr(notifier, "messages", [])
        if staff in (None, who)
    ]
    return JSONResponse({"messages": items})


async def get_transcript(request: Request) -> Response:
    service: HandoffService = request.app.state.handoff.service
    ticket, messages = await service.transcript(request.path_params["number"], request.query_params.get("key", ""))
    who = {"resident": "居民", "bot": "智能助手", "system": "系统"}
    rows = "".join(
        f"<tr><td>{m.created_at.astimezone(dt.timezone(dt.timedelta(hours=8))):%m-%d %H:%M}</td>"
        f"<td>{who.get(m.author.split(':')[0], '工作人员')}</td><td>{_escape(m.text)}</td></tr>"
        for m in messages
    )
    page = (
        f"<!doctype html><meta charset=utf-8><title>对话记录 {ticket.number}</title>"
        f"<h3>对话记录 {ticket.number}（{_escape(ticket.site_name)}）</h3><table border=1 cellpadding=4>{rows}</table>"
    )
    return HTMLResponse(page)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def routes() -> list[Route]:
    return [
        Route("/handoff/requests", post_request, methods=["POST"]),
        Route("/handoff/cancel", post_cancel, methods=["POST"]),
        Route("/handoff/ratings", post_rating, methods=["POST"]),
        Route("/handoff/status", get_status, methods=["GET"]),
        Route("/handoff/staff/command", post_staff_command, methods=["POST"]),
        Route("/handoff/staff/inbox", get_inbox, methods=["GET"]),
        Route("/handoff/tickets/{number}/transcript", get_transcript, methods=["GET"]),
    ]
