"""The live relay: resident messages to the person who holds the ticket, and what people send back (DingTalk or a
console) - a command (接单 / 转交 / 结束 / 交还 / 帮助) or words for the resident."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from sharedcourt.clients.dingtalk import Card
from sharedcourt.db.conversation import Message
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.ticket import LIVE_STATES, OPEN_STATES, OUTCOMES, Ticket
from sharedcourt.domain.values.masking import mask_text
from sharedcourt.handoff.core import Outcome
from sharedcourt.handoff.finish import Finish
from sharedcourt.handoff.links import conversation_names
from sharedcourt.handoff.offers import Offers
from sharedcourt.handoff.staff_routing import ROLE_ZH, Staffer
from sharedcourt.handoff.texts import HELP, ROLE_WORDS, UNKNOWN_COMMAND, is_end
from sharedcourt.messaging.replies import Reply

_NUMBER = re.compile(r"\bT\d{5,}\b", re.IGNORECASE)
VERBS = ("接单", "抢单", "转交", "结束", "交还", "帮助")
# A leading marker makes the message a command whatever follows the verb (documented in texts.HELP).
MARKERS = ("#", "＃")
# A transfer target typed without the marker: a post's word (法官) or a roster / DingTalk id (baiyun-judge).
_STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]*")
_TRAILING = " \t\u3000。！!"


@dataclass(frozen=True)
class Command:
    """A person's command: the verb, the ticket number if written, and the rest of the text."""

    verb: str
    number: str | None
    rest: str


def _is_target(word: str) -> bool:
    return word in ROLE_WORDS or word in ROLE_ZH or _STAFF_ID.fullmatch(word) is not None


def _whole(verb: str, rest: str, spaced: bool) -> bool:
    """Whether an unmarked message is the command itself: the verb alone (or with a ticket number), or the verb
    with the argument it takes - 结束 <outcome or, after a space, anything>, 转交 <post or id>."""
    if not rest.strip(_TRAILING):
        return True
    if verb == "结束":
        return spaced or rest.startswith(OUTCOMES)
    if verb == "转交":
        return _is_target(rest.strip(_TRAILING))
    return False


def parse_command(text: str) -> Command | None:
    """'接单 T00001', '转交 法官', '结束 调解成功 备注', '#交还' ...; None when the text is words for the resident.

    Without the marker the whole message must be the command: "交还押金的事我问了" is words for the resident."""
    body = text.strip()
    marked = body.startswith(MARKERS)
    if marked:
        body = body[1:].strip()
    verb = next((v for v in VERBS if body.startswith(v)), None)
    if verb is None:
        return None
    after = body[len(verb) :]
    number_match = _NUMBER.search(after)
    number = number_match.group(0).upper() if number_match else None
    rest = _NUMBER.sub("", after).strip()
    if verb == "转交":
        rest = rest.removeprefix("给").strip(_TRAILING)
    if not marked and not _whole(verb, rest, after[:1].isspace()):
        return None
    return Command(verb, number, rest)


def ticket_named(text: str) -> str | None:
    """The ticket number a person's message names: a command's, or the one leading words for the resident."""
    command = parse_command(text)
    if command is not None:
        return command.number
    found = _NUMBER.match(text.strip())
    return found.group(0).upper() if found else None


class Relay(Offers, Finish):
    """Relays both ways and turns people's commands into the offer and finish transitions."""

    async def relay_inbound(self, message_id: int) -> None:
        """Router hook: a resident's message while a person holds (or is being found for) the conversation."""
        async with unit_of_work(self.sessions) as session:
            message = await session.get_one(Message, message_id)
            ticket = await self._latest_ticket(session, message.conversation_id, LIVE_STATES)
            text, kind, payload = message.text, message.kind, dict(message.payload)
            conversation_id = message.conversation_id
            holder: Staffer | None = None
            names: list[str] = []
            if ticket is None:
                # Nobody holds it any more (an inconsistent state): give the message back to the bot.
                await self._set_mode(session, conversation_id, "bot")
                message.status = "received"
            else:
                holder = self._person(ticket.holder) if ticket.state == "accepted" else None
                if holder is not None:
                    names = await conversation_names(session, conversation_id)
                if holder is not None and not is_end(text):
                    self._event(session, ticket, "relayed_in", self.clock(), actor="resident", message_id=message_id)
        if ticket is None:
            await self.router.process(message_id)
            return
        if is_end(text):
            await self.end_by_resident(conversation_id)
            return
        if holder is None:
            await self._tell_resident(
                conversation_id, "正在为您转接工作人员，请稍候，您的消息已记录，接通后对方可以看到。"
            )
            return
        # The resident's words are masked; a media link is left whole (masking its digits would break it).
        said = mask_text(text or "", names)
        body = said if kind == "text" else f"[{kind}] {said} {payload.get('url') or payload.get('image') or ''}".strip()
        number = ticket.number
        await self._notify(holder, Card(title=f"居民消息 {number}", text=f"**居民（{number}）**：{body}"), ticket.id)

    async def staff_says(self, staff_key: str, text: str) -> Outcome:
        """Everything a person sends (DingTalk, console): a command, or words for the resident they serve."""
        person = self._person(staff_key)
        if person is None:
            return Outcome(False, "您不在值班名单中。如需使用，请联系管理员把您的钉钉账号加入值班表。")
        text = text.strip()
        command = parse_command(text)
        if command is not None:
            return await self._command(person, command)
        if text.startswith(MARKERS):
            return Outcome(False, UNKNOWN_COMMAND + HELP)
        number_match = _NUMBER.match(text)
        number = number_match.group(0).upper() if number_match else await self._held_by(person)
        if number_match:
            text = text[number_match.end() :].strip()
        if number is None or not text:
            return Outcome(False, "您当前没有正在处理的工单，消息未转发。\n" + HELP)
        return await self.reply_to_resident(number, person.id, text)

    async def _command(self, person: Staffer, command: Command) -> Outcome:
        verb, rest = command.verb, command.rest
        if verb == "帮助":
            return Outcome(True, HELP)
        if verb in ("接单", "抢单"):
            number = command.number or await self._offered_to(person)
            if number is None:
                return Outcome(False, "没有等待您接单的工单。请在“接单”后写上工单编号，例如：接单 T00001")
            return await self.accept(number, person.id)
        number = command.number or await self._held_by(person)
        if number is None:
            return Outcome(False, "您当前没有正在处理的工单。\n" + HELP)
        if verb == "转交":
            return await self.transfer(number, person.id, rest)
        if verb == "结束":
            outcome = next((o for o in OUTCOMES if rest.startswith(o)), rest.split(" ")[0] if rest else "")
            note = rest[len(outcome) :].strip(" \u3000，,。:：")
            return await self.close(number, person.id, outcome, note)
        return await self.hand_back(number, person.id)

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
        """The holder's words, sent to the resident as theirs."""
        async with unit_of_work(self.sessions) as session:
            ticket = await self._ticket_by_number(session, number)
            if ticket.state != "accepted" or ticket.holder != staff_key:
                return Outcome(False, f"工单 {ticket.number} 不在您手上，消息未转发。", ticket.number, ticket.state)
            self._event(session, ticket, "relayed_out", self.clock(), actor=f"staff:{staff_key}")
            conversation_id = ticket.conversation_id
        await self.router.send(conversation_id, [Reply(text)], author=f"staff:{staff_key}")
        return Outcome(True, "", number, "accepted")
