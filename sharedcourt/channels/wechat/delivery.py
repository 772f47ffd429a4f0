"""Messages that do not go back as the passive reply: queued in the outbox, sent as customer-service text
within WeChat's quota; notices, and urgent texts once the quota is used up, as category template messages."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import requests
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from wechatpy.exceptions import WeChatClientException

from sharedcourt.channels.wechat.notify import NoticeDelivery
from sharedcourt.channels.wechat.quota import exhaust_quota, give_back_quota, take_quota
from sharedcourt.channels.wechat.render import chunks, merge, text_item
from sharedcourt.channels.wechat.templates import Layout
from sharedcourt.channels.wechat.texts import URGENT_TITLE
from sharedcourt.clients.wechat import WeChatAPI
from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.messaging.notices import iso, notice_payload
from sharedcourt.messaging.outbox import Item, Outbox, SendResult, enqueue
from sharedcourt.messaging.replies import Reply

CHANNEL = "wechat"
_URGENT_KINDS = ("reminder", "notice", "urgent")


def classify(exc: WeChatClientException) -> tuple[SendResult, bool]:
    """(result, quota_consumed_by_wechat) for an API error."""
    code = exc.errcode
    if code is None:
        return SendResult("unknown", "HTTP error from the API"), True
    if code in (45047, 45015):
        return SendResult("held", f"WeChat {code}: window closed or full"), True
    if code in (43004, 43019, 40003):
        return SendResult("failed", f"WeChat {code}: user unreachable"), False
    if code == 45009:
        return SendResult("retry", "WeChat 45009: rate limited", retry_after=60.0), False
    if code in (45002, 47001, 40008):
        return SendResult("failed", f"WeChat {code}: rejected content"), False
    return SendResult("retry", f"WeChat {code}: {exc.errmsg}"), False


def _transport_failure(exc: requests.RequestException) -> SendResult:
    """A connection error never arrived (retry); any other request error may have been delivered (unknown)."""
    if isinstance(exc, requests.ConnectionError):
        return SendResult("retry", f"connection: {type(exc).__name__}")
    return SendResult("unknown", f"request: {type(exc).__name__}")


class WeChatSender:
    """Outbox sender for channel "wechat": customer-service text within the quota; notices (and urgent texts
    once the quota is used up) as the purpose's category template (sharedcourt.channels.wechat.notify)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        api: WeChatAPI,
        templates: Mapping[str, Layout],
        link: str,
        subscriptions: Mapping[str, Layout] | None = None,
    ) -> None:
        self.sessions = sessions
        self.api = api
        self.notices = NoticeDelivery(sessions, api, templates, link, subscriptions)

    async def _subscribed(self, openid: str) -> bool:
        async with self.sessions() as session:
            value = await session.scalar(
                select(Resident.subscribed).where(Resident.channel == CHANNEL, Resident.channel_user_id == openid)
            )
            return value is not False

    async def _urgent(self, item: Item) -> SendResult:
        """An urgent text with the quota used up: the handoff-callback template ("you have a new reply")."""
        text = str(item.payload.get("text") or "")
        values = {"title": URGENT_TITLE, "summary": text, "sent_at": iso(utcnow()), "status": "有新回复"}
        payload = notice_payload("handoff_callback", values, text)
        return await self.notices.send(dataclasses.replace(item, payload=payload))

    async def _refused(self, item: Item, exc: WeChatClientException) -> SendResult:
        """WeChat refused a customer-service text: settle the quota, and fall back to a template if urgent."""
        result, consumed = classify(exc)
        if result.status == "held":
            await exhaust_quota(self.sessions, item.recipient)
            if item.urgent:
                return await self._urgent(item)
        elif not consumed:
            await give_back_quota(self.sessions, item.recipient)
        return result

    async def send(self, item: Item) -> SendResult:
        """Send one outbox item to one resident."""
        openid, payload = item.recipient, item.payload
        if not await self._subscribed(openid):
            return SendResult("failed", "unsubscribed")
        if payload.get("type") in ("notice", "template"):  # "template": items queued before notices existed
            return await self.notices.send(item)
        if not await take_quota(self.sessions, openid):
            if item.urgent:
                return await self._urgent(item)
            return SendResult("held", "customer-service quota used up")
        try:
            await self.api.send_text(openid, str(payload.get("text") or ""))
        except WeChatClientException as exc:
            return await self._refused(item, exc)
        except requests.RequestException as exc:
            if isinstance(exc, requests.ConnectionError):  # includes ConnectTimeout: the request never arrived
                await give_back_quota(self.sessions, openid)
            return _transport_failure(exc)
        return SendResult("sent")


async def last_out(session: AsyncSession, conversation_id: str, after_id: int, count: int) -> list[Message]:
    """The last `count` outbound messages of a conversation after message `after_id`, oldest first."""
    rows = list(
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.direction == "out", Message.id > after_id)
            .order_by(Message.id.desc())
            .limit(count)
        )
    )
    return rows[::-1]


async def enqueue_replies(
    session: AsyncSession,
    resident: Resident,
    conversation_id: str,
    rows: Sequence[Message],
    text: str,
    *,
    urgent: bool = False,
) -> bool:
    """Queue stored replies' merged `text` in pieces that fit; cancel the rows if the resident unfollowed."""
    if not resident.subscribed:
        for message in rows:
            message.status = "cancelled"
        return False
    for piece in chunks(text):
        await enqueue(
            session,
            CHANNEL,
            resident.channel_user_id,
            text_item(piece),
            conversation_id=conversation_id,
            message_ids=[m.id for m in rows],
            urgent=urgent,
        )
    return True


class WeChatDeliverer:
    """Router deliverer: later messages (a person's reply, reminders, answers after an outage) via the outbox."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], outbox: Outbox) -> None:
        self.sessions = sessions
        self.outbox = outbox

    async def deliver(self, conversation_id: str, replies: Sequence[Reply]) -> None:
        """Queue the conversation's latest replies (just stored by the router) for its resident."""
        async with unit_of_work(self.sessions) as session:
            conversation = await session.get_one(Conversation, conversation_id)
            resident = await session.get_one(Resident, conversation.resident_id)
            rows = await last_out(session, conversation_id, 0, len(replies))
            urgent = any(m.kind in _URGENT_KINDS for m in rows)
            queued = await enqueue_replies(session, resident, conversation_id, rows, merge(replies), urgent=urgent)
        if queued:
            self.outbox.kick()
