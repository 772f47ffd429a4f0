"""What the app builds for the handoff: the service, its notifier (DingTalk or the stored inbox, with WeCom in front
for people who have a WeCom id when WECOM_* are set), the tick loop."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients.dingtalk import DingTalkClient
from sharedcourt.clients.wecom import WeComAPI
from sharedcourt.db.base import utcnow
from sharedcourt.handoff.core import Clock
from sharedcourt.handoff.dingtalk_cards import InteractiveCards
from sharedcourt.handoff.links import TranscriptLinks
from sharedcourt.handoff.notify import DingTalkNotifier, OutboxNotifier, StaffNotifier, StoredNotifier
from sharedcourt.handoff.service import HandoffService
from sharedcourt.handoff.staff_routing import ROSTER_FILE, load_default
from sharedcourt.handoff.wecom import WeComNotifier
from sharedcourt.messaging.notice_route import NoticeRoute, notice_channels
from sharedcourt.messaging.outbox import Outbox
from sharedcourt.messaging.router import Router
from sharedcourt.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The app's handoff: the service, how people are reached, and what to close at shutdown."""

    service: HandoffService
    notifier: StaffNotifier
    closers: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)
    client: DingTalkClient | None = None  # DingTalk's API, when DINGTALK_* are set
    cards: InteractiveCards | None = None  # offers as interactive cards, when DINGTALK_CARD_TEMPLATE_ID is set

    async def aclose(self) -> None:
        """Close the DingTalk client (if any)."""
        for close in self.closers:
            result = close()
            if inspect.isawaitable(result):
                await result


def build(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    router: Router,
    *,
    clock: Clock = utcnow,
    dingtalk_transport: httpx.AsyncBaseTransport | None = None,
    outbox: Outbox | None = None,
) -> Runtime:
    """The service for this app: DingTalk (through the outbox when given) when DINGTALK_* are set, else the
    stored inbox (the web workspace, GET /handoff/staff/inbox, POST /handoff/staff/command); with WECOM_SECRET and
    WECOM_AGENT_ID, people whose account has a WeCom id are reached on WeCom first. `Runtime.notifier` stays the
    DingTalk or stored one (the DingTalk callback answers with its client; the inbox reads the stored one)."""
    routing = load_default(settings.handoff_roster or str(ROSTER_FILE))
    closers: list[Callable[[], Awaitable[None] | None]] = []
    notifier: StaffNotifier
    client: DingTalkClient | None = None
    cards: InteractiveCards | None = None
    if settings.dingtalk_app_key and settings.dingtalk_app_secret:
        client = DingTalkClient(
            settings.dingtalk_api_base,
            settings.dingtalk_app_key,
            settings.dingtalk_app_secret,
            settings.dingtalk_robot_code,
            transport=dingtalk_transport,
        )
        if settings.dingtalk_card_template_id:
            # Stream mode receives presses on its socket; callback mode at the URL registered for the route key.
            route_key = settings.dingtalk_card_route_key if settings.dingtalk_mode == "callback" else ""
            cards = InteractiveCards(
                client, sessions, template_id=settings.dingtalk_card_template_id, route_key=route_key
            )
        notifier = OutboxNotifier(client, outbox, cards) if outbox is not None else DingTalkNotifier(client, cards)
        closers.append(client.aclose)
    else:
        notifier = StoredNotifier(sessions)
    sending: StaffNotifier = notifier
    if settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id:
        api = WeComAPI(settings.wecom_corp_id, settings.wecom_secret, settings.wecom_api_base)
        sending = WeComNotifier(api, settings.wecom_agent_id, sessions, notifier)
    service = HandoffService(
        sessions,
        router,
        routing,
        sending,
        accept_seconds=settings.handoff_accept_seconds,
        clock=clock,
        links=TranscriptLinks(settings.link_secret, settings.transcript_link_hours, settings.public_url),
        notices=NoticeRoute(sessions, router, outbox, notice_channels(settings)),
    )
    router.relay = service.relay_inbound
    if cards is not None:
        live_cards = cards
        service.on_change = lambda number: live_cards.refresh(number, service.roster)  # any channel's action
    return Runtime(service, notifier, closers, client, cards)


async def tick_loop(service: HandoffService, interval: float) -> None:
    """Escalate unaccepted offers on schedule."""
    while True:
        await asyncio.sleep(interval)
        try:
            await service.tick()
        except Exception:
            log.exception("handoff tick failed")
