"""Notices to WeChat residents: a subscription notice (订阅通知) when the resident accepted one for the purpose
(one notice per acceptance, sharedcourt.channels.wechat.consent), else the purpose's category template, else a
customer-service message inside the 48-hour window, else recorded as undelivered (the outbox item and transcript
row `failed` with the reason; the outbox tells the booking reminder, if any, through its failure watchers) --
never silently lost.

WeChat's refusals of a template (errcodes in `REFUSED`) fall back to the customer-service text; a busy or
rate-limited API (-1, 45009) and a connection that never arrived are retried by the outbox; a resident who
unfollowed (43004) or an unknown openid (40003) can be reached by nothing and is recorded at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from wechatpy.exceptions import WeChatClientException

from sharedcourt.channels.wechat import consent
from sharedcourt.channels.wechat.quota import exhaust_quota, give_back_quota, take_quota
from sharedcourt.channels.wechat.templates import Layout, render
from sharedcourt.clients.wechat import WeChatAPI
from sharedcourt.messaging.outbox import Item, SendResult

log = logging.getLogger(__name__)

# Template refusals a customer-service message can get around (WeChat's errmsg in brackets).
REFUSED = {
    43101: "the resident refused these messages",  # user refuse to accept the msg
    40037: "template id not on the account",  # invalid template_id
    47003: "template data refused",  # argument invalid!
    47001: "template data refused",  # data format error
    45028: "template quota used up",  # has no masssend quota / daily template quota
    40036: "template id not on the account",  # invalid template_id size
}
UNREACHABLE = {43004: "the resident unfollowed", 40003: "unknown openid"}
TRANSIENT = {-1: 30.0, 45009: 60.0}  # system busy, rate limited: seconds before the retry
TEXT_LIMIT = 600  # a notice's text is short; keep the customer-service message well inside WeChat's 2048 bytes


class NoticeDelivery:
    """Sends one {"type": "notice"} outbox item to one resident."""

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
        self.templates = dict(templates)
        self.subscriptions = dict(subscriptions or {})
        self.link = link  # every notice leads back: template `url`, subscription `page`

    async def send(self, item: Item) -> SendResult:
        """Template, else customer-service text, else undelivered (the outbox's failure watchers are told)."""
        result = await self._send(item)
        if result.status == "failed":
            log.warning("notice (outbox item %s) undelivered: %s", item.id, result.detail)
        return result

    async def _send(self, item: Item) -> SendResult:
        payload = item.payload
        purpose = str(payload.get("purpose") or "")
        subscribed = await self._subscription(item, purpose)
        if subscribed is not None:
            return subscribed
        layout = self.templates.get(purpose)
        if layout is None:
            return await self._text(item, f"no template configured for {purpose or 'this notice'}")
        values: Mapping[str, Any] = payload.get("values") or {}
        try:
            data = render(layout, {k: str(v) for k, v in values.items()})
        except ValueError as exc:
            return await self._text(item, f"template fields: {exc}")
        try:
            await self.api.send_template(item.recipient, layout.template_id, data, self.link or None)
        except WeChatClientException as exc:
            return await self._refused(item, layout, exc)
        except requests.RequestException as exc:
            return _transport(exc)
        return SendResult("sent", f"template {purpose}")

    async def _subscription(self, item: Item, purpose: str) -> SendResult | None:
        """The notice as a subscription notice if the resident has a consent left; None: go on to the template."""
        layout = self.subscriptions.get(purpose)
        if layout is None:
            return None
        try:
            data = render(layout, {k: str(v) for k, v in (item.payload.get("values") or {}).items()})
        except ValueError:
            return None
        consent_id = await consent.take(self.sessions, item.recipient, layout.template_id)
        if consent_id is None:
            return None
        try:
            await self.api.send_subscription(item.recipient, layout.template_id, data, self.link or None)
        except WeChatClientException as exc:
            return await self._subscription_refused(item, layout, consent_id, exc)
        except requests.RequestException as exc:
            if isinstance(exc, requests.ConnectionError):
                await consent.give_back(self.sessions, consent_id)
            return _transport(exc)
        return SendResult("sent", f"subscription notice {purpose}")

    async def _subscription_refused(
        self, item: Item, layout: Layout, consent_id: int, exc: WeChatClientException
    ) -> SendResult | None:
        """43101: the consent is gone on WeChat's side too; others give it back; None: try the template."""
        code = exc.errcode
        detail = f"WeChat {code} on subscription notice {layout.purpose}"
        if code is None:
            return SendResult("unknown", f"{detail}: HTTP error")
        await consent.give_back(self.sessions, consent_id)
        if code == 43101:  # none left on WeChat's side: this one and every other we hold are void
            await consent.drop(self.sessions, item.recipient, layout.template_id)
        if code in TRANSIENT:
            return SendResult("retry", f"{detail}: {exc.errmsg}", retry_after=TRANSIENT[code])
        if code in UNREACHABLE:
            return SendResult("failed", f"{detail}: {UNREACHABLE[code]}")
        log.warning("outbox item %s: %s (%s); trying the category template", item.id, detail, exc.errmsg)
        return None

    async def _refused(self, item: Item, layout: Layout, exc: WeChatClientException) -> SendResult:
        code = exc.errcode
        detail = f"WeChat {code} on template {layout.purpose}"
        if code in TRANSIENT:
            return SendResult("retry", f"{detail}: {exc.errmsg}", retry_after=TRANSIENT[code])
        if code in UNREACHABLE:
            return SendResult("failed", f"{detail}: {UNREACHABLE[code]}")
        if code is None:
            return SendResult("unknown", f"{detail}: HTTP error")
        reason = f"{detail}: {REFUSED.get(code, exc.errmsg)}"
        log.warning("outbox item %s: %s; trying a customer-service message", item.id, reason)
        return await self._text(item, reason)

    async def _text(self, item: Item, reason: str) -> SendResult:
        """The notice's text as a customer-service message, if the 48-hour window has room."""
        openid = item.recipient
        if not await take_quota(self.sessions, openid):
            return SendResult("failed", f"undelivered: {reason}; no customer-service window")
        text = str(item.payload.get("text") or "")[:TEXT_LIMIT]
        try:
            await self.api.send_text(openid, text)
        except WeChatClientException as exc:
            if exc.errcode in (45015, 45047):
                await exhaust_quota(self.sessions, openid)
                return SendResult("failed", f"undelivered: {reason}; WeChat {exc.errcode}: window closed or full")
            await give_back_quota(self.sessions, openid)
            if exc.errcode in TRANSIENT:
                return SendResult("retry", f"{reason}; WeChat {exc.errcode}", retry_after=TRANSIENT[exc.errcode])
            return SendResult("failed", f"undelivered: {reason}; WeChat {exc.errcode}: {exc.errmsg}")
        except requests.RequestException as exc:
            if isinstance(exc, requests.ConnectionError):
                await give_back_quota(self.sessions, openid)
            return _transport(exc)
        return SendResult("sent", f"customer-service message ({reason})")


def _transport(exc: requests.RequestException) -> SendResult:
    """A connection error never arrived (retry); any other request error may have been delivered (unknown)."""
    if isinstance(exc, requests.ConnectionError):
        return SendResult("retry", f"connection: {type(exc).__name__}")
    return SendResult("unknown", f"request: {type(exc).__name__}")
