"""WeCom (企业微信) self-built app callback, `/wecom/callback`.

WeCom always encrypts: GET carries an encrypted `echostr` signed with `msg_signature` (answer its plaintext),
POST carries an `<Encrypt>` envelope. Signatures are checked here with a constant-time compare before
wechatpy's `wechatpy.enterprise.crypto.WeChatCrypto` decrypts (and checks the CorpId).
A sender mapped to an active staff account is staff: their messages go to the handoff service
(`channels/wecom_staff.py`), as DingTalk's do, and never to the bot. Everyone else is a resident talking to the
bot: `Inbound(channel="wecom")`. The answer goes back as the passive reply (encrypted) when it is ready within
WECHAT_REPLY_BUDGET, otherwise `success` (and later as an application message).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Sequence
from typing import Any

import requests
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException

from sharedcourt.channels.callback import attach, callback_routes
from sharedcourt.channels.wechat.auth import (
    check_aes_key,
    check_window,
    decrypt,
    envelope,
    guard_xml,
    read_body,
    same,
    signature,
)
from sharedcourt.channels.wechat.render import merge, passive_reply
from sharedcourt.channels.wecom_staff import WeComStaff
from sharedcourt.clients.wecom import WeComAPI
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.errors import AuthError, BadRequest, DuplicateMessage
from sharedcourt.handoff.service import HandoffService
from sharedcourt.messaging.outbox import Item, Outbox, SendResult, enqueue
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Inbound, Router
from sharedcourt.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "wecom"
PATH = "/wecom/callback"
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_REFUSED = (InvalidSignatureException, InvalidCorpIdException)


def check_params(token: str, params: Any, data: str, *, now: float | None = None) -> tuple[str, str, str]:
    """Verify msg_signature over (token, timestamp, nonce, data) and the timestamp window."""
    msg_signature = params.get("msg_signature") or ""
    timestamp = params.get("timestamp") or ""
    nonce = params.get("nonce") or ""
    if not (msg_signature and timestamp and nonce and data) or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthError("missing or malformed signature parameters")
    check_window(timestamp, now)
    if not same(signature(token, timestamp, nonce, data), msg_signature):
        raise AuthError("bad msg_signature")
    return msg_signature, timestamp, nonce


class WeComSender:
    """Outbox sender for channel "wecom": an application text message to one member (a resident's later reply)."""

    def __init__(self, api: WeComAPI, agent_id: str) -> None:
        self.api = api
        self.agent_id = agent_id

    async def send(self, item: Item) -> SendResult:
        """Send one outbox item to one member."""
        text = str(item.payload.get("text") or "")
        try:
            await self.api.send_text(self.agent_id, item.recipient, text)
        except WeChatClientException as exc:
            if exc.errcode is None:
                return SendResult("unknown", "HTTP error from the API")
            if exc.errcode in (-1, 45009, 45033):
                return SendResult("retry", f"WeCom {exc.errcode}")
            return SendResult("failed", f"WeCom {exc.errcode}: {exc.errmsg}")
        except requests.ConnectionError as exc:
            return SendResult("retry", f"connection: {type(exc).__name__}")
        except requests.RequestException as exc:
            return SendResult("unknown", f"request: {type(exc).__name__}")
        return SendResult("sent")


class WeComDeliverer:
    """Router deliverer for "wecom": later messages to a resident on WeCom go through the outbox."""

    def __init__(self, router: Router, outbox: Outbox) -> None:
        self.router = router
        self.outbox = outbox

    async def deliver(self, conversation_id: str, replies: Sequence[Reply]) -> None:
        """Queue the replies as one application message."""
        await deliver_later(self.router, self.outbox, conversation_id, replies)


async def deliver_later(router: Router, outbox: Outbox, conversation_id: str, replies: Sequence[Reply]) -> None:
    """Queue a conversation's latest replies (merged) for its WeCom member and wake the outbox."""
    text = merge(replies)
    if not text:
        return
    async with unit_of_work(router.sessions) as session:
        conversation = await session.get_one(Conversation, conversation_id)
        resident = await session.get_one(Resident, conversation.resident_id)
        rows = list(
            await session.scalars(
                select(Message.id)
                .where(Message.conversation_id == conversation_id, Message.direction == "out")
                .order_by(Message.id.desc())
                .limit(len(replies))
            )
        )
        await enqueue(
            session,
            CHANNEL,
            resident.channel_user_id,
            {"type": "text", "text": text},
            conversation_id=conversation_id,
            message_ids=rows[::-1],
        )
    outbox.kick()


def _inbound(msg: Any, msg_id: int, create_time: int) -> Inbound:
    """What is stored for a resident's text message."""
    external_id = f"msg:{msg_id}" if msg_id else f"evt:{msg.source}:{create_time}"
    return Inbound(
        channel=CHANNEL,
        user_id=str(msg.source),
        text=str(msg.content or ""),
        kind="text",
        external_id=external_id,
        payload={"agent_id": str(msg._data.get("AgentID") or "")},
    )


class WeComChannel:
    """The endpoint flow of `/wecom/callback`."""

    def __init__(
        self,
        settings: Settings,
        router: Router,
        outbox: Outbox | None = None,
        handoff: HandoffService | None = None,
        api: WeComAPI | None = None,
    ) -> None:
        self.settings = settings
        self.router = router
        self.outbox = outbox
        check_aes_key(settings.wecom_aes_key, "WECOM_AES_KEY")
        self.crypto = WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        self.tasks: set[asyncio.Task[Any]] = set()
        sender = (api, settings.wecom_agent_id) if api is not None else None
        self.staff = (
            WeComStaff(router.sessions, handoff, self.crypto, settings.wechat_reply_budget, sender)
            if handoff is not None
            else None
        )

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _later(self, task: asyncio.Task[list[Reply]], conversation_id: str) -> None:
        """The answer missed the budget: send it as an application message when it is ready."""
        try:
            replies = await task
        except Exception:
            log.exception("wecom turn failed")
            return
        assert self.outbox is not None
        await deliver_later(self.router, self.outbox, conversation_id, replies)

    def _decrypt_echo(self, params: Any) -> str:
        echostr = params.get("echostr") or ""
        if len(echostr) > 1024:
            raise BadRequest("echostr too long")
        msg_signature, timestamp, nonce = check_params(self.settings.wecom_token, params, echostr)
        try:
            plain: str = self.crypto.check_signature(msg_signature, timestamp, nonce, echostr)
        except _REFUSED:
            raise AuthError("bad signature or CorpId") from None
        except Exception:  # noqa: BLE001 - corrupt ciphertext
            raise AuthError("undecryptable echostr") from None
        return plain

    async def verify_url(self, request: Request) -> Response:
        """The GET WeCom sends when the callback URL is configured: answer the decrypted `echostr`."""
        return PlainTextResponse(self._decrypt_echo(request.query_params))

    def authenticate(self, params: Any, body: bytes) -> Any:
        """Check and decrypt one push; returns (message, MsgType, MsgId, CreateTime)."""
        encrypt = envelope(guard_xml(body)).get("Encrypt")
        if not isinstance(encrypt, str):
            raise AuthError("no Encrypt")
        signed = check_params(self.settings.wecom_token, params, encrypt)
        plain = guard_xml(decrypt(self.crypto, signed, encrypt, _REFUSED, "bad signature or CorpId").encode("utf-8"))
        try:
            msg = parse_message(plain)
            source = str(msg.source or "")
            msg_id = int(msg._data.get("MsgId") or 0)
            create_time = int(msg._data.get("CreateTime") or 0)
            msg_type = str(msg.type)
        except Exception:  # noqa: BLE001
            raise BadRequest("not a WeCom message") from None
        if not _USER.match(source) or create_time <= 0:
            raise BadRequest("bad FromUserName or CreateTime")
        return msg, msg_type, msg_id, create_time

    async def callback(self, request: Request) -> Response:
        """One push: staff to the handoff, residents to the bot; the passive reply if ready within the budget, else
        `success` (and later via outbox)."""
        started = time.monotonic()
        body = await read_body(request, self.settings.max_body_bytes)
        msg, msg_type, msg_id, create_time = self.authenticate(request.query_params, body)
        keys = await self.staff.keys_of(str(msg.source)) if self.staff is not None and msg_type != "event" else None
        if self.staff is not None and keys is not None:
            return await self.staff.answer(msg, msg_id, keys, request.query_params.get("nonce") or "", started)
        if msg_type != "text":
            return PlainTextResponse("success")
        try:
            stored = await self.router.store(_inbound(msg, msg_id, create_time))
        except DuplicateMessage:
            return PlainTextResponse("success")
        task = self._spawn(self.router.process(stored.message_id))
        budget = self.settings.wechat_reply_budget - (time.monotonic() - started)
        try:
            replies: list[Reply] = await asyncio.wait_for(asyncio.shield(task), timeout=max(0.0, budget))
        except asyncio.TimeoutError:
            if self.outbox is not None:
                self._spawn(self._later(task, stored.conversation_id))
            return PlainTextResponse("success")
        return passive_reply(msg, replies, self.crypto, request.query_params.get("nonce") or "")


def configured(settings: Settings) -> bool:
    """Whether the WeCom callback is configured (token, AES key and CorpId)."""
    return bool(settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id)


def install(
    app: Starlette,
    settings: Settings,
    router: Router,
    outbox: Outbox | None = None,
    handoff: HandoffService | None = None,
) -> WeComChannel | None:
    """The callback (staff to `handoff` when given); with WECOM_SECRET and WECOM_AGENT_ID also later replies
    through the outbox and late staff answers as application messages."""
    if not configured(settings):
        return None
    has_app = bool(settings.wecom_secret and settings.wecom_agent_id)
    api = WeComAPI(settings.wecom_corp_id, settings.wecom_secret, settings.wecom_api_base) if has_app else None
    can_send = outbox is not None and has_app
    channel = WeComChannel(settings, router, outbox if can_send else None, handoff, api)
    if not can_send or outbox is None or api is None:
        return attach(app, CHANNEL, channel, router, outbox, None)
    delivery = (WeComSender(api, settings.wecom_agent_id), WeComDeliverer(router, outbox))
    return attach(app, CHANNEL, channel, router, outbox, delivery)


def routes(settings: Settings) -> list[Route]:
    """GET (URL check) and POST (staff messages) of the callback, when configured."""
    return callback_routes(PATH, CHANNEL) if configured(settings) else []
