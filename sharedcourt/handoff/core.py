"""What every handoff step shares: the service's state, ticket look-ups, cards for staff, telling the resident."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients.dingtalk import Card
from sharedcourt.db.base import utcnow
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.ticket import Ticket, TicketEvent
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.domain.values.masking import mask_text
from sharedcourt.errors import NotFound, RasaUnavailable, UpstreamError
from sharedcourt.handoff.links import TranscriptLinks, conversation_names, placeholder
from sharedcourt.handoff.notify import StaffNotifier
from sharedcourt.handoff.staff_routing import Routing, Staffer
from sharedcourt.handoff.texts import RATING_LABELS, RATING_PROMPT
from sharedcourt.messaging.notice_route import NoticeRoute
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.messaging.router import Router

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
RESUME_EVENTS: list[dict[str, Any]] = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]


@dataclass(frozen=True)
class HandoffRequest:
    """A resident's request for a person, with what the bot already knows about the case."""

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
class Said:
    """A resident's latest words, masked, and the names masking hid (for the rest of a card, e.g. the summary)."""

    lines: list[str]
    names: list[str]

    def last(self, count: int) -> Said:
        """Only the ``count`` latest lines."""
        return Said(self.lines[-count:], self.names)


@dataclass(frozen=True)
class Outcome:
    """What happened, for whoever asked: ok, the ticket number, and text for the asker."""

    ok: bool
    text: str
    number: str | None = None
    state: str | None = None


def label(person: Staffer, site_name: str) -> str:
    """How a person is named to residents: by post, never by personal name."""
    if person.role == "dispatch":
        return person.name.removesuffix("值班员") + "值班人员"
    return f"{site_name}的{person.role_zh}"


def as_number(value: Any) -> float | None:
    """A number from loose input (a JSON body, case facts); anything else is None."""
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class HandoffCore:
    """The service's state and the helpers every state transition uses."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        router: Router,
        routing: Routing,
        notifier: StaffNotifier,
        *,
        accept_seconds: int = 180,
        clock: Clock = utcnow,
        links: TranscriptLinks | None = None,
        notices: NoticeRoute | None = None,
    ) -> None:
        self.sessions = sessions
        self.router = router
        self.routing = routing
        self.roster = routing.roster
        self.notifier = notifier
        self.accept_window = dt.timedelta(seconds=accept_seconds)
        self.clock = clock
        self.links = links if links is not None else TranscriptLinks(secret="", hours=24)
        self.notices = notices if notices is not None else NoticeRoute(sessions, router)

    def _person(self, key: str | None) -> Staffer | None:
        return self.roster.find(key) if key else None

    @staticmethod
    def _event(
        session: AsyncSession, ticket: Ticket, kind: str, now: dt.datetime, actor: str = "system", **detail: Any
    ) -> None:
        session.add(TicketEvent(ticket_id=ticket.id, kind=kind, actor=actor, detail=detail, at=now))

    @staticmethod
    async def _set_mode(session: AsyncSession, conversation_id: str, mode: str) -> None:
        await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(mode=mode))

    @staticmethod
    async def _latest_ticket(session: AsyncSession, conversation_id: str, states: Sequence[str]) -> Ticket | None:
        """The conversation's newest ticket in one of `states`."""
        ticket: Ticket | None = await session.scalar(
            select(Ticket)
            .where(Ticket.conversation_id == conversation_id, Ticket.state.in_(states))
            .order_by(Ticket.id.desc())
            .limit(1)
        )
        return ticket

    @staticmethod
    async def _latest_case(session: AsyncSession, conversation_id: str) -> Case | None:
        case: Case | None = await session.scalar(
            select(Case).where(Case.conversation_id == conversation_id).order_by(Case.id.desc()).limit(1)
        )
        return case

    @staticmethod
    async def _ticket_by_number(session: AsyncSession, number: str) -> Ticket:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number.upper()))
        if ticket is None:
            raise NotFound(f"没有工单 {number}")
        return ticket

    async def _notify(self, person: Staffer | None, card: Card, ticket_id: int) -> None:
        """Send to a person; a failure is recorded, never raised (escalation goes on regardless)."""
        if person is None:
            return
        try:
            await self.notifier.notify(person, self.links.personal(card, person.id, self.clock()))
            kind, detail = "notified", {"to": person.id, "title": card.title}
        except UpstreamError as exc:
            log.warning("handoff: could not reach %s: %s", person.id, exc)
            kind, detail = "notify_failed", {"to": person.id, "error": str(exc)[:200]}
        async with unit_of_work(self.sessions) as session:
            session.add(TicketEvent(ticket_id=ticket_id, kind=kind, detail=detail, at=self.clock()))

    async def _tell_resident(self, conversation_id: str, text: str, buttons: Sequence[Button] = ()) -> None:
        await self.router.send(conversation_id, [Reply(text, tuple(buttons))], author="system")

    async def _ask_rating(self, conversation_id: str) -> None:
        buttons = [Button(label, f'/rate_handoff{{"rating":"{i}"}}') for i, label in enumerate(RATING_LABELS, start=1)]
        await self._tell_resident(conversation_id, RATING_PROMPT, buttons)

    async def _rasa(self, conversation_id: str, events: list[dict[str, Any]]) -> bool:
        try:
            await self.router.rasa.append_events(conversation_id, events)
            return True
        except RasaUnavailable as exc:
            log.warning("handoff: rasa events %s for %s not appended: %s", events, conversation_id, exc)
            return False

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

    @staticmethod
    def _transcript_url(ticket: Ticket) -> str:
        # Signed per person when the card is sent (`_notify`): the link names whom it was for.
        return placeholder(ticket.number or "")

    async def _resident_lines(self, session: AsyncSession, conversation_id: str, limit: int = 5) -> Said:
        rows = await session.scalars(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.direction == "in", Message.author == "resident")
            .order_by(Message.id.desc())
            .limit(limit)
        )
        # Cards are read in DingTalk, outside any audit: residents' words go out masked.
        names = await conversation_names(session, conversation_id)
        return Said([mask_text(t, names) for t in reversed(list(rows)) if t and not t.startswith("/")], names)

    def _card(self, ticket: Ticket, lines: Said, *, heading: str, deadline: bool = True) -> Card:
        dispute = BY_CODE.get(ticket.dispute_code or "")
        said = "\n".join(f"> {line}" for line in lines.lines) or "> （居民尚未描述）"
        text = (
            f"### {heading}（{ticket.number}）\n\n"
            f"- 地点：{ticket.site_name}\n"
            f"- 分派：{ticket.rule_label}（{ticket.reason}）\n"
            f"- 纠纷类型：{dispute.label if dispute else '未识别'}\n"
            f"- 紧急：{'是，请尽快处理' if ticket.urgent else '否'}\n"
        )
        if ticket.summary:
            # The summary repeats the parties' names in free text: mask them as the resident's lines.
            text += f"- 事实摘要：{mask_text(ticket.summary, lines.names)}\n"
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
