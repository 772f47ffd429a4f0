"""Letting go of a ticket: transfer to someone else, close with an outcome, hand back to the bot, the resident
ending or cancelling; then the rating, and the '我的案件' status in words.

accepted ─► offered (transfer);  accepted ─► closed (结束 / 交还 / 结束人工);  open ─► closed (resident cancels).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from sharedcourt.clients.dingtalk import Card
from sharedcourt.db.case import Case
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.ticket import LIVE_STATES, OPEN_STATES, OUTCOMES, Rating, Ticket
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.errors import BadRequest
from sharedcourt.handoff.core import HandoffCore, Outcome, label
from sharedcourt.handoff.staff_routing import ROLE_ZH, Staffer
from sharedcourt.handoff.texts import CASE_STATUS, NO_COMMENT, ROLE_WORDS
from sharedcourt.messaging.notices import iso

DONE = {"closed": "已结束", "handed_back": "已交还智能助手", "ended_by_resident": "居民已结束"}
CASE_STATUS_TITLE = "案件处理结果通知"


def case_status_values(case_number: str, outcome: str, at: dt.datetime) -> dict[str, str]:
    """The case_status notice's named values (sharedcourt.messaging.notices) for a ticket closed with `outcome`."""
    return {
        "title": CASE_STATUS_TITLE,
        "case_number": case_number,
        "status": outcome,  # every outcome is a WeChat `phrase`: at most 5 Chinese characters
        "summary": f"人工服务已结束，结果：{outcome}",
        "sent_at": iso(at),
    }


class Finish(HandoffCore):
    """Transfer, close, hand back, the resident's end or cancel, rating and status."""

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
        """The holder passes the ticket to a person or a post (法官, 调解员, ...): it is offered to them."""
        now = self.clock()
        async with unit_of_work(self.sessions) as session:
            ticket = await self._ticket_by_number(session, number)
            target = self._resolve_target(ticket, who, staff_key)
            if target is None:
                return Outcome(False, f"找不到转交对象“{who}”。可写：法官、调解员、庭务主任、指挥中心，或对方编号。")
            if target.id == staff_key:
                return Outcome(False, "不能转交给自己。")
            dispatch = self.roster.dispatch.get(self.roster.site(ticket.site_code).county)
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
                .returning(Ticket.id)
                .execution_options(synchronize_session=False)
            )
            if moved.scalar_one_or_none() is None:
                return Outcome(False, f"工单 {ticket.number} 不在您手上，不能转交。", ticket.number, ticket.state)
            self._event(session, ticket, "transferred", now, actor=f"staff:{staff_key}", to=target.id)
            await session.refresh(ticket)
            lines = await self._resident_lines(session, ticket.conversation_id)
            source = self._person(staff_key)
            card = self._card(ticket, lines, heading=f"{source.name if source else '同事'}转交的工单")
            conversation_id, site_name = ticket.conversation_id, ticket.site_name
        await self._notify(target, card, ticket.id)
        await self._tell_resident(
            conversation_id, f"工作人员已把您的问题转交给{label(target, site_name)}，请稍候，对方接单后会直接回复您。"
        )
        return Outcome(True, f"已转交给{target.name}（{number}）。", number, "offered")

    async def close(self, number: str, staff_key: str, outcome: str, note: str = "") -> Outcome:
        """The holder ends the service with one of the recorded outcomes."""
        if outcome not in OUTCOMES:
            return Outcome(False, f"请写明结果：结束 {'|'.join(OUTCOMES)} 备注（例如：结束 调解成功 双方同意分期还款）")
        return await self._finish(number, staff_key, outcome=outcome, note=note, kind="closed")

    async def hand_back(self, number: str, staff_key: str) -> Outcome:
        """The holder gives the conversation back to the bot."""
        return await self._finish(number, staff_key, outcome=None, note="交还智能助手", kind="handed_back")

    async def end_by_resident(self, conversation_id: str) -> Outcome:
        """'结束人工': end the service if someone holds it, else withdraw the request."""
        async with self.sessions() as session:
            ticket = await self._latest_ticket(session, conversation_id, LIVE_STATES)
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
                .returning(Ticket.id)
                .execution_options(synchronize_session=False)
            )
            if closed.scalar_one_or_none() is None:
                return Outcome(False, f"工单 {ticket.number} 不在您手上或已结束。", ticket.number, ticket.state)
            actor = "resident" if kind == "ended_by_resident" else f"staff:{staff_key}"
            self._event(session, ticket, kind, now, actor=actor, outcome=outcome, note=note[:500])
            await self._set_mode(session, ticket.conversation_id, "bot")
            if ticket.case_id is not None and outcome is not None:
                await session.execute(
                    update(Case)
                    .where(Case.id == ticket.case_id)
                    .values(status="closed" if outcome in ("调解成功", "已解答") else "handed_off")
                )
            case = await session.get(Case, ticket.case_id) if ticket.case_id is not None else None
            case_number = (case.number if case is not None else None) or ticket.number or number
            conversation_id, holder = ticket.conversation_id, self._person(ticket.holder)
        await self._resume(ticket.id, conversation_id)
        words = await self._finish_words(kind, outcome, number, holder, ticket.id)
        if kind == "closed" and outcome is not None:
            # The outcome is a case status: on WeChat the case_status notice (a template reaches past 48 hours).
            values = case_status_values(case_number, outcome, now)
            await self.notices.send(conversation_id, "case_status", values, words)
        else:
            await self._tell_resident(conversation_id, words)
        await self._ask_rating(conversation_id)
        return Outcome(True, f"{number} {DONE[kind]}。", number, "closed")

    async def _finish_words(
        self, kind: str, outcome: str | None, number: str, holder: Staffer | None, ticket_id: int
    ) -> str:
        """What the resident hears; when the resident ended it, the holder hears it too."""
        if kind == "ended_by_resident":
            await self._notify(
                holder,
                Card(title=f"居民已结束人工 {number}", text=f"居民已结束人工服务（{number}），对话已交还智能助手。"),
                ticket_id,
            )
            return "好的，已结束人工服务，智能助手继续为您服务。"
        if kind == "handed_back":
            return "工作人员已把对话交还给智能助手，您可以继续和我说。"
        return f"工作人员已结束本次人工服务（结果：{outcome}）。"

    async def cancel(self, conversation_id: str) -> Outcome:
        """The resident no longer wants a person before anyone accepted."""
        now = self.clock()
        async with unit_of_work(self.sessions) as session:
            ticket = await self._latest_ticket(session, conversation_id, OPEN_STATES)
            if ticket is None:
                return Outcome(False, "您当前没有进行中的人工服务请求。")
            moved = await session.execute(
                update(Ticket)
                .where(Ticket.id == ticket.id, Ticket.holder.is_(None), Ticket.state.in_(OPEN_STATES))
                .values(state="closed", note="居民取消", closed_at=now, offer_deadline=None, updated_at=now)
                .returning(Ticket.id)
                .execution_options(synchronize_session=False)
            )
            if moved.scalar_one_or_none() is None:
                return Outcome(False, "工作人员刚刚已经接单了，请直接和工作人员说。")
            self._event(session, ticket, "cancelled", now, actor="resident")
            await self._set_mode(session, conversation_id, "bot")
            assignee, number = self._person(ticket.assignee), ticket.number
        await self._notify(
            assignee,
            Card(title=f"居民已取消 {number}", text=f"居民已取消人工服务请求（{number}），无需接单。"),
            ticket.id,
        )
        return Outcome(True, "好的，已取消人工服务请求。还有什么可以帮您？", number, "closed")

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
            if comment is not None and comment.strip() not in NO_COMMENT:
                rating.comment = comment.strip()[:1000]
            self._event(session, ticket, "rated", self.clock(), actor="resident", score=rating.score)
            return Outcome(True, "感谢您的评价！", ticket.number, ticket.state)

    async def status(self, conversation_id: str) -> Outcome:
        """'我的案件': the case's status and who handles it, in words."""
        async with self.sessions() as session:
            case = await self._latest_case(session, conversation_id)
            ticket = await session.scalar(
                select(Ticket).where(Ticket.conversation_id == conversation_id).order_by(Ticket.id.desc()).limit(1)
            )
        parts: list[str] = []
        if case is not None:
            dispute = BY_CODE.get(case.dispute_code or "")
            numbered = f"（{case.number}）" if case.number else ""
            parts.append(
                f"您的案件{numbered}：{dispute.label if dispute else '纠纷'}，"
                f"状态：{CASE_STATUS.get(case.status, case.status)}。"
            )
        if ticket is not None:
            parts.append(f"人工服务 {ticket.number}：{self._ticket_words(ticket)}。")
        if not parts:
            return Outcome(False, "暂时没有查到您的案件。您可以说说遇到的问题，我帮您登记；或回复“人工”联系工作人员。")
        return Outcome(True, "\n".join(parts), ticket.number if ticket else None, ticket.state if ticket else None)

    def _ticket_words(self, ticket: Ticket) -> str:
        """The ticket's state and who has it, as the resident reads it."""
        person = self._person(ticket.holder or ticket.assignee)
        who = label(person, ticket.site_name) if person else ticket.site_name
        return {
            "requested": "正在为您联系工作人员",
            "offered": f"已联系{who}，等待接单",
            "escalated": f"已转{who}，等待接单",
            "accepted": f"由{who}处理中",
            "callback": f"已登记回电，{who}会在工作时间联系您",
            "expired": "已登记回电，工作人员会尽快联系您",
            "closed": f"已结束{('（' + ticket.outcome + '）') if ticket.outcome else ''}，处理人：{who}",
        }[ticket.state]
