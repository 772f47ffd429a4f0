"""How the handoff reaches people on the roster: DingTalk directly, through the outbox, or the stored inbox."""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients.dingtalk import Card, DingTalkClient
from sharedcourt.db.offers import StaffNotice
from sharedcourt.db.session import unit_of_work
from sharedcourt.errors import UpstreamError
from sharedcourt.handoff.dingtalk_cards import InteractiveCards, is_offer
from sharedcourt.handoff.staff_routing import Staffer
from sharedcourt.messaging.outbox import Item, Outbox, SendResult

log = logging.getLogger(__name__)

CHANNEL = "dingtalk"


class StaffNotifier(Protocol):
    """Reaches a person on the roster (DingTalk robot in production, the stored inbox without it)."""

    async def notify(self, staffer: Staffer, card: Card) -> None:
        """Deliver one card to one person; raise UpstreamError when that fails."""


_NUMBER = re.compile(r"\bT\d{5,}\b")


class StoredNotifier:
    """No DingTalk configured: each card is a `staff_notices` row, read by GET /handoff/staff/inbox and the web
    workspace; a restart loses nothing and every front door sees the same inbox."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def notify(self, staffer: Staffer, card: Card) -> None:
        """Store the card for the person."""
        log.info("handoff message for %s (%s): %s", staffer.id, staffer.name, card.title)
        found = _NUMBER.search(card.title)
        async with unit_of_work(self.sessions) as session:
            session.add(
                StaffNotice(
                    staff_key=staffer.id,
                    ticket_number=found.group(0) if found else None,
                    title=card.title[:255],
                    text=card.text,
                    buttons=[list(b) for b in card.buttons],
                )
            )

    async def messages(self, staff_key: str | None = None, limit: int = 200) -> list[tuple[str, Card]]:
        """The stored cards, oldest first (of one person when `staff_key` is given), at most the newest `limit`."""
        query = select(StaffNotice).order_by(StaffNotice.id.desc()).limit(limit)
        if staff_key is not None:
            query = query.where(StaffNotice.staff_key == staff_key)
        async with self.sessions() as session:
            rows = list(await session.scalars(query))
        return [
            (n.staff_key, Card(n.title, n.text, tuple((str(t), str(c)) for t, c in n.buttons))) for n in reversed(rows)
        ]


async def deliver(client: DingTalkClient, cards: InteractiveCards | None, user_id: str, card: Card) -> None:
    """An offer as an interactive card when a template is configured, anything else as a robot message."""
    if cards is not None and is_offer(card):
        await cards.send(user_id, card)
    else:
        await client.send_to_users([user_id], card)


class DingTalkNotifier:
    """Reaches a person through DingTalk (a `StaffNotifier`), directly."""

    def __init__(self, client: DingTalkClient, cards: InteractiveCards | None = None) -> None:
        self.client = client
        self.cards = cards

    async def notify(self, staffer: Staffer, card: Card) -> None:
        """One card or robot one-to-one message, now."""
        await deliver(self.client, self.cards, staffer.dingtalk, card)


def _card_payload(card: Card) -> dict[str, Any]:
    return {"title": card.title, "text": card.text, "buttons": [list(b) for b in card.buttons]}


class DingTalkSender:
    """The outbox's sender for channel "dingtalk": one card or robot one-to-one message per item."""

    def __init__(self, client: DingTalkClient, cards: InteractiveCards | None = None) -> None:
        self.client = client
        self.cards = cards

    async def send(self, item: Item) -> SendResult:
        """Send one queued card; a DingTalk failure is a retry."""
        payload = item.payload
        card = Card(
            title=str(payload.get("title") or ""),
            text=str(payload.get("text") or ""),
            buttons=tuple((str(t), str(c)) for t, c in payload.get("buttons") or ()),
        )
        try:
            await deliver(self.client, self.cards, item.recipient, card)
        except UpstreamError as exc:
            return SendResult("retry", str(exc))
        return SendResult("sent")


class OutboxNotifier:
    """A `StaffNotifier` through the shared outbox: queued in the database, first attempt at once,
    retries with backoff by the outbox loop (and it survives a restart)."""

    def __init__(self, client: DingTalkClient, outbox: Outbox, cards: InteractiveCards | None = None) -> None:
        self.client = client
        self.cards = cards
        self.outbox = outbox
        outbox.register(CHANNEL, DingTalkSender(client, cards))

    async def notify(self, staffer: Staffer, card: Card) -> None:
        """Queue the card and try it once at once."""
        item_id = await self.outbox.add(CHANNEL, staffer.dingtalk, _card_payload(card))
        await self.outbox.send_one(item_id)
