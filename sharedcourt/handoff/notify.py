"""How the handoff reaches people on the roster: DingTalk directly, through the outbox, or a local inbox (demo)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from sharedcourt.clients.dingtalk import Card, DingTalkClient
from sharedcourt.errors import UpstreamError
from sharedcourt.handoff.staff_routing import Staffer
from sharedcourt.messaging.outbox import Item, Outbox, SendResult

log = logging.getLogger(__name__)

CHANNEL = "dingtalk"


class StaffNotifier(Protocol):
    """Reaches a person on the roster (DingTalk robot in production, an in-memory inbox in demos and tests)."""

    async def notify(self, staffer: Staffer, card: Card) -> None:
        """Deliver one card to one person; raise UpstreamError when that fails."""


@dataclass
class InboxNotifier:
    """No DingTalk configured: keep the messages for GET /handoff/staff/inbox (the local demo)."""

    messages: list[tuple[str, Card]] = field(default_factory=list)

    async def notify(self, staffer: Staffer, card: Card) -> None:
        """Keep the card in the inbox."""
        log.info("handoff message for %s (%s): %s", staffer.id, staffer.name, card.title)
        self.messages.append((staffer.id, card))


class DingTalkNotifier:
    """Reaches a person through the robot's one-to-one API (a `StaffNotifier`), directly."""

    def __init__(self, client: DingTalkClient) -> None:
        self.client = client

    async def notify(self, staffer: Staffer, card: Card) -> None:
        """One robot one-to-one message, now."""
        await self.client.send_to_users([staffer.dingtalk], card)


def _card_payload(card: Card) -> dict[str, Any]:
    return {"title": card.title, "text": card.text, "buttons": [list(b) for b in card.buttons]}


class DingTalkSender:
    """The outbox's sender for channel "dingtalk": one robot one-to-one message per item."""

    def __init__(self, client: DingTalkClient) -> None:
        self.client = client

    async def send(self, item: Item) -> SendResult:
        """Send one queued card; a DingTalk failure is a retry."""
        payload = item.payload
        card = Card(
            title=str(payload.get("title") or ""),
            text=str(payload.get("text") or ""),
            buttons=tuple((str(t), str(c)) for t, c in payload.get("buttons") or ()),
        )
        try:
            await self.client.send_to_users([item.recipient], card)
        except UpstreamError as exc:
            return SendResult("retry", str(exc))
        return SendResult("sent")


class OutboxNotifier:
    """A `StaffNotifier` through the shared outbox: queued in the database, first attempt at once,
    retries with backoff by the outbox loop (and it survives a restart)."""

    def __init__(self, client: DingTalkClient, outbox: Outbox) -> None:
        self.client = client
        self.outbox = outbox
        outbox.register(CHANNEL, DingTalkSender(client))

    async def notify(self, staffer: Staffer, card: Card) -> None:
        """Queue the card and try it once at once."""
        item_id = await self.outbox.add(CHANNEL, staffer.dingtalk, _card_payload(card))
        await self.outbox.send_one(item_id)
