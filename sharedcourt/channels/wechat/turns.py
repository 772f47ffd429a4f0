"""What each kind of push does: what is stored for it, the turn that answers it, the quota window it opens.

Text and recognised voice go to the bot; menu clicks and locations send the bot's own payloads (never the
resident's words); follows, scans, media and unsupported types are answered here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.channels.wechat import consent
from sharedcourt.channels.wechat.delivery import CHANNEL
from sharedcourt.channels.wechat.evidence import EvidenceKeeper, acknowledgement
from sharedcourt.channels.wechat.menu import MENU_NAMES, MENU_PAYLOADS
from sharedcourt.channels.wechat.parse import SUBSCRIPTION_EVENTS, Incoming
from sharedcourt.channels.wechat.texts import (
    HUMAN_BUTTON,
    SCAN_THANKS,
    SITE_FOUND,
    SITE_NOTED,
    SUBSCRIBED,
    UNKNOWN_MENU,
    UNSUPPORTED,
    VOICE_UNRECOGNISED,
    WELCOME_BUTTONS,
)
from sharedcourt.db.conversation import Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.messaging.outbox import Outbox
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Inbound, Router, Stored
from sharedcourt.messaging.transcript import store_replies

Work = Callable[[Stored], Awaitable[list[Reply]]]
Plan = tuple[Inbound | None, Work, str | None]  # what to store, the turn's work, which quota window it opens
Spawn = Callable[[Awaitable[Any]], Any]

_MEDIA_TEXT = {"image": "[图片]", "video": "[视频]", "file": "[文件] {title}", "link": "[链接] {title}"}


def _inbound(inc: Incoming, text: str, kind: str, **payload: Any) -> Inbound:
    """What is stored for a push (empty payload values left out)."""
    return Inbound(
        channel=CHANNEL,
        user_id=inc.openid,
        text=text,
        kind=kind,
        external_id=inc.external_id,
        payload={k: v for k, v in payload.items() if v not in (None, "")},
    )


class Turns:
    """Plans and runs the turn of each push."""

    def __init__(self, router: Router, outbox: Outbox, evidence: EvidenceKeeper, spawn: Spawn, welcome: str) -> None:
        self.router = router
        self.welcome = welcome  # with the privacy notice, its periods from the settings
        self.sessions = router.sessions
        self.outbox = outbox
        self.evidence = evidence
        self.spawn = spawn

    def plan(self, inc: Incoming) -> Plan:
        """(what to store, the work of the turn, which quota window it opens)."""
        if inc.kind == "text":
            return _inbound(inc, inc.text, "text"), self._bot, "message"
        if inc.kind == "voice":
            if inc.recognition:
                return _inbound(inc, inc.recognition, "voice", media_id=inc.media_id), self._bot, "message"
            return _inbound(inc, "", "voice", media_id=inc.media_id), self._voice_unrecognised, "message"
        if inc.kind in _MEDIA_TEXT:
            text = _MEDIA_TEXT[inc.kind].format(title=inc.title).strip()
            stored = _inbound(inc, text, inc.kind, media_id=inc.media_id, url=inc.url, title=inc.title)
            return stored, lambda s: self._evidence(s, inc), "message"
        if inc.kind == "location":
            location = {"latitude": inc.latitude, "longitude": inc.longitude, "label": inc.label}
            return (
                _inbound(inc, inc.label or "[位置]", "location", **location),
                lambda s: self._location(s, inc),
                "message",
            )
        if inc.kind == "event":
            return self._plan_event(inc)
        return _inbound(inc, f"[{inc.raw.get('MsgType', '未知')}]"[:64], "other"), self._unsupported, "message"

    def _plan_event(self, inc: Incoming) -> Plan:
        event = inc.event
        if event in ("subscribe", "subscribe_scan"):
            return (
                _inbound(inc, "[关注]", "event", event=event, scene=inc.key),
                lambda s: self._welcome(s, inc),
                "event",
            )
        if event == "scan":
            return _inbound(inc, "[扫码]", "event", event=event, scene=inc.key), lambda s: self._scan(s, inc), "event"
        if event == "unsubscribe":
            return _inbound(inc, "[取消关注]", "event", event=event), lambda s: self._unsubscribe(s, inc), None
        if event == "click":
            name = MENU_NAMES.get(inc.key.strip(), inc.key)[:200]
            return _inbound(inc, name, "event", event=event, key=inc.key), lambda s: self._click(s, inc), "event"
        if event in SUBSCRIPTION_EVENTS:
            said = ",".join(f"{t}:{status}" for t, status, _ in inc.choices)[:500]
            return (
                _inbound(inc, "[订阅通知]", "event", event=event, choices=said),
                lambda s: self._consent(s, inc),
                None,
            )
        if event == "view":
            return _inbound(inc, "[打开链接]", "event", event=event, url=inc.key), self._silent, None
        if event == "location":
            stored = _inbound(inc, "[上报位置]", "event", event=event)
            return stored, lambda s: self._location(s, inc, answer=False), None
        return _inbound(inc, f"[事件] {event}"[:64], "event", event=event), self._silent, None

    # -- turn bodies
    async def _bot(self, stored: Stored) -> list[Reply]:
        return await self.router.process(stored.message_id)

    async def _trusted(self, stored: Stored, payload: str, kind: str, **metadata: Any) -> list[Reply]:
        """A turn whose text is the bot's own payload (a menu key), never the resident's words."""
        if stored.mode == "human":
            return await self.router.process(stored.message_id)
        data = {"channel": CHANNEL, "message_id": stored.message_id, "kind": kind, **metadata}
        # The router's own turn runner (store, outage hold, replies stored) with a trusted text.
        return await self.router.run_turn(stored.message_id, stored.conversation_id, payload, data, hold=True) or []

    async def answer(self, stored: Stored, replies: Sequence[Reply], *, author: str = "bot") -> list[Reply]:
        """Replies decided here (not by Rasa), stored like the router stores Rasa's."""
        async with unit_of_work(self.sessions) as session:
            await session.execute(update(Message).where(Message.id == stored.message_id).values(status="processed"))
            store_replies(session, stored.conversation_id, replies, author=author, channel=CHANNEL)
        return list(replies)

    async def _silent(self, stored: Stored) -> list[Reply]:
        return await self.answer(stored, [])

    async def _unsupported(self, stored: Stored) -> list[Reply]:
        return await self.answer(stored, [Reply(UNSUPPORTED)], author="system")

    async def _voice_unrecognised(self, stored: Stored) -> list[Reply]:
        reply = Reply(VOICE_UNRECOGNISED, buttons=(HUMAN_BUTTON,))
        return await self.answer(stored, [reply], author="system")

    @staticmethod
    async def _resident(session: AsyncSession, openid: str) -> Resident:
        return (
            await session.scalars(
                select(Resident).where(Resident.channel == CHANNEL, Resident.channel_user_id == openid)
            )
        ).one()

    async def _welcome(self, stored: Stored, inc: Incoming) -> list[Reply]:
        site_note = ""
        async with unit_of_work(self.sessions) as session:
            resident = await self._resident(session, inc.openid)
            resident.subscribed = True
            if inc.key:
                site_note = await self._remember_site(session, resident, inc.key)
        text = self.welcome if not site_note else f"{self.welcome}\n{site_note}"
        return await self.answer(stored, [Reply(text, buttons=WELCOME_BUTTONS)], author="system")

    async def _scan(self, stored: Stored, inc: Incoming) -> list[Reply]:
        async with unit_of_work(self.sessions) as session:
            resident = await self._resident(session, inc.openid)
            note = await self._remember_site(session, resident, inc.key)
        return await self.answer(stored, [Reply(note or SCAN_THANKS)], author="system")

    @staticmethod
    async def _remember_site(session: AsyncSession, resident: Resident, scene: str) -> str:
        """A site's QR code: its scene value is the site's registry key (`make site-qr-scenes`); scanning it
        chooses that site, and a village or town site's place becomes where the resident is."""
        code = scene.strip()[:32]
        if not code:
            return ""
        site = await session.get(Site, code)
        if site is None and code.isdigit():
            site = await session.get(Site, f"GX{code}")  # a code printed with a bare statistical place code
        if site is None:
            resident.site_code = code
            return SITE_NOTED
        resident.site_code = site.code
        if site.level in ("village", "town") and site.place_code:
            resident.place_code = site.place_code
        return SITE_FOUND.format(name=site.name)

    async def _unsubscribe(self, stored: Stored, inc: Incoming) -> list[Reply]:
        async with unit_of_work(self.sessions) as session:
            resident = await self._resident(session, inc.openid)
            resident.subscribed = False
        await self.outbox.cancel(CHANNEL, inc.openid, "unsubscribed")
        return await self.answer(stored, [])

    async def _consent(self, stored: Stored, inc: Incoming) -> list[Reply]:
        """The pop-up's accepts each allow one notice; a refusal in WeChat's settings voids what is left."""
        async with unit_of_work(self.sessions) as session:
            if inc.event == "subscribe_msg_popup_event":
                accepted = consent.record(session, inc.openid, inc.choices)
            else:
                accepted = []
                await consent.refuse(session, inc.openid, [t for t, status, _ in inc.choices if status == "reject"])
        return await self.answer(stored, [Reply(SUBSCRIBED)] if accepted else [], author="system")

    async def _click(self, stored: Stored, inc: Incoming) -> list[Reply]:
        payload = MENU_PAYLOADS.get(inc.key.strip())
        if payload is None:
            return await self.answer(stored, [Reply(UNKNOWN_MENU)], author="system")
        return await self._trusted(stored, payload, "event", menu_key=inc.key)

    async def _location(self, stored: Stored, inc: Incoming, *, answer: bool = True) -> list[Reply]:
        async with unit_of_work(self.sessions) as session:
            resident = await self._resident(session, inc.openid)
            resident.latitude, resident.longitude = inc.latitude, inc.longitude
            if answer:
                # A location sent to find a site asks for the nearest to it, not the site chosen before.
                resident.site_code = None
            if inc.label:
                resident.location_label = inc.label[:255]
        if not answer:
            return await self.answer(stored, [])
        location = {"latitude": inc.latitude, "longitude": inc.longitude, "label": inc.label}
        return await self._trusted(stored, "/find_site", "location", location=location)

    async def _evidence(self, stored: Stored, inc: Incoming) -> list[Reply]:
        evidence_id, case_number = await self.evidence.keep(stored.message_id, stored.resident_id, inc)
        if inc.media_id:
            self.spawn(self.evidence.download(evidence_id, inc.media_id))
        text = acknowledgement(inc.kind, case_number)
        return await self.answer(stored, [Reply(text)], author="system")
