"""The handoff world of the unit tests: a handoff service on a real database, a stand-in Rasa, a recorded
notifier and an injected clock."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.channels.webchat import WebChatDeliverer
from sharedcourt.clients.dingtalk import Card
from sharedcourt.clients.rasa import RasaClient
from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.db.ticket import Ticket, TicketEvent
from sharedcourt.domain.clock import TZ
from sharedcourt.handoff.core import HandoffRequest
from sharedcourt.handoff.service import HandoffService
from sharedcourt.handoff.staff_routing import Staffer, load_default
from sharedcourt.messaging.router import Inbound, Router

MONDAY_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ)
SATURDAY_22 = dt.datetime(2026, 12, 5, 22, 0, tzinfo=TZ)
BOT_REPLY = "机器人回复"


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start.astimezone(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


@dataclass
class Recorder:
    messages: list[tuple[str, Card]] = field(default_factory=list)

    async def notify(self, staffer: Staffer, card: Card) -> None:
        self.messages.append((staffer.id, card))

    def to(self, staff_id: str) -> list[Card]:
        return [c for who, c in self.messages if who == staff_id]


@dataclass
class FakeRasa:
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    turns: list[str] = field(default_factory=list)
    down: bool = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/webhooks/rest/webhook":
            self.turns.append(json.loads(request.content)["message"])
            return httpx.Response(200, json=[{"text": BOT_REPLY}])
        if request.url.path.endswith("/tracker/events"):
            if self.down:
                return httpx.Response(503)
            sender = request.url.path.split("/")[2]
            self.events.setdefault(sender, []).extend(json.loads(request.content))
            return httpx.Response(200, json={})
        return httpx.Response(404)


@dataclass
class World:
    service: HandoffService
    router: Router
    rasa: FakeRasa
    notifier: Recorder
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]

    async def say(self, user: str, text: str) -> tuple[str, list[str]]:
        stored = await self.router.store(Inbound(channel="webchat", user_id=user, text=text))
        replies = await self.router.process(stored.message_id)
        return stored.conversation_id, [r.text for r in replies]

    async def ticket(self, number: str) -> Ticket:
        async with self.sessions() as session:
            return (await session.scalars(select(Ticket).where(Ticket.number == number))).one()

    async def mode(self, conversation_id: str) -> str:
        async with self.sessions() as session:
            return (await session.get_one(Conversation, conversation_id)).mode

    async def told(self, conversation_id: str) -> list[tuple[str, str]]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.direction == "out")
                .order_by(Message.id)
            )
            return [(m.author, m.text) for m in rows]

    async def events(self, ticket: Ticket) -> list[str]:
        """The ticket's state changes in order (messages about it left out)."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
            )
            return [
                k
                for k in rows
                if k not in ("notified", "notify_failed", "relayed_in", "relayed_out", "resumed", "resume_pending")
            ]


def make_world(sessions: async_sessionmaker[AsyncSession], start: dt.datetime = MONDAY_10) -> World:
    rasa = FakeRasa()
    client = RasaClient("http://rasa.test", "token", transport=httpx.MockTransport(rasa.handler))
    router = Router(sessions, client, {"webchat": WebChatDeliverer()})
    clock = Clock(start)
    notifier = Recorder()
    service = HandoffService(sessions, router, load_default(), notifier, accept_seconds=180, clock=clock)
    router.relay = service.relay_inbound
    return World(service, router, rasa, notifier, clock, sessions)


async def requested(world: World, user: str = "u1", **kwargs: Any) -> tuple[str, str]:
    conversation_id, _ = await world.say(user, "邻居装修把我家墙震裂了，谈了几次谈不拢")
    outcome = await world.service.request(HandoffRequest(conversation_id=conversation_id, **kwargs))
    assert outcome.ok and outcome.number
    return conversation_id, outcome.number
