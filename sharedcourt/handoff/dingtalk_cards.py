"""Offers on DingTalk as interactive cards with buttons (DINGTALK_CARD_TEMPLATE_ID set): 接单 on an offer; 交还 and
结束 with an outcome once someone holds the ticket; nothing left to press once it is closed.

Every card sent is a `dingtalk_cards` row (outTrackId, ticket, person), so after an action on any channel
`refresh(number)` rewrites every card of the ticket: who took it, or how it ended. The markdown (with the link
signed for the one person the card went to) is never rewritten; only `tips` and the buttons change.
"""

from __future__ import annotations

import logging
import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients import dingtalk_cards as wire
from sharedcourt.clients.dingtalk import Card, DingTalkClient
from sharedcourt.clients.dingtalk_cards import CardButton
from sharedcourt.db.offers import DingTalkCard
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.ticket import OPEN_STATES, OUTCOMES, Ticket
from sharedcourt.errors import UpstreamError
from sharedcourt.handoff.staff_routing import Roster

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"\bT\d{5,}\b")
ACCEPT, HAND_BACK, CLOSE = "accept", "hand_back", "close_"
# close_1 ... close_5: the recorded outcomes, in their order (button ids stay ASCII).
CLOSE_ACTIONS = {f"{CLOSE}{i}": outcome for i, outcome in enumerate(OUTCOMES, start=1)}
OFFER_BUTTONS = (CardButton("接单", ACCEPT),)
HOLDER_BUTTONS = (
    CardButton("交还智能助手", HAND_BACK, "gray"),
    *(CardButton(f"结束：{outcome}", action) for action, outcome in CLOSE_ACTIONS.items()),
)


def is_offer(card: Card) -> bool:
    """Whether a card offers a ticket (it has a 接单 button): those go out as interactive cards."""
    return any(command.startswith("接单") for _, command in card.buttons)


def _tips(ticket: Ticket, roster: Roster) -> str:
    person = roster.find(ticket.holder) if ticket.holder else None
    name = person.name if person is not None else "工作人员"
    if ticket.state == "accepted":
        return f"已由{name}接单"
    if ticket.state == "closed":
        return f"已结束：{ticket.outcome or ticket.note or '已结束'}（{name}）"
    return "等待接单"


class InteractiveCards:
    """Sends offer cards through the card API and keeps them in step with the ticket."""

    def __init__(
        self,
        client: DingTalkClient,
        sessions: async_sessionmaker[AsyncSession],
        *,
        template_id: str,
        route_key: str = "",
    ) -> None:
        self.client = client
        self.sessions = sessions
        self.template_id = template_id
        self.route_key = route_key

    async def send(self, user_id: str, card: Card) -> None:
        """One offer card to one person (recorded first, so a quick press finds its ticket)."""
        found = _NUMBER.search(card.title)
        number = found.group(0) if found else ""
        out_track_id = f"sc-{number}-{uuid.uuid4().hex[:24]}"
        async with unit_of_work(self.sessions) as session:
            session.add(DingTalkCard(out_track_id=out_track_id, ticket_number=number, user_id=user_id[:64]))
        params = wire.param_map(buttons=OFFER_BUTTONS, tips="等待接单", title=card.title, markdown=card.text)
        await wire.create_and_deliver(
            self.client,
            template_id=self.template_id,
            out_track_id=out_track_id,
            user_id=user_id,
            params=params,
            route_key=self.route_key,
        )

    async def ticket_of(self, out_track_id: str) -> str | None:
        """The ticket a card was sent for; None for a card this system never sent."""
        async with self.sessions() as session:
            number: str | None = await session.scalar(
                select(DingTalkCard.ticket_number).where(DingTalkCard.out_track_id == out_track_id)
            )
            return number

    async def refresh(self, number: str, roster: Roster) -> int:
        """Rewrite every card of the ticket to its state now (names from `roster`, the service's current one);
        returns the cards updated (failures are logged)."""
        async with self.sessions() as session:
            ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
            query = select(DingTalkCard.out_track_id).where(DingTalkCard.ticket_number == number)
            cards = list(await session.scalars(query))
        if ticket is None:
            return 0
        params = wire.param_map(buttons=self._buttons(ticket), tips=_tips(ticket, roster))
        updated = 0
        for out_track_id in cards:
            try:
                await wire.update(self.client, out_track_id, params)
                updated += 1
            except UpstreamError as exc:
                log.warning("dingtalk: card %s of %s not updated: %s", out_track_id, number, exc)
        return updated

    @staticmethod
    def _buttons(ticket: Ticket) -> tuple[CardButton, ...]:
        if ticket.state == "accepted":
            return HOLDER_BUTTONS
        return OFFER_BUTTONS if ticket.state in OPEN_STATES else ()
