"""WeCom (企业微信) self-built app callback, `/wecom/callback`, for staff and mediators who use WeCom.

WeCom always encrypts: GET carries an encrypted `echostr` signed with `msg_signature` (answer its plaintext),
POST carries an `<Encrypt>` envelope. Signatures are checked here with a constant-time compare before
wechatpy's `wechatpy.enterprise.crypto.WeChatCrypto` decrypts (and checks the CorpId). Senders are staff:
`Inbound(is_staff=True, channel="wecom")`. The answer goes back as the passive reply (encrypted) when it is
ready within WECHAT_REPLY_BUDGET, otherwise `success`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

import requests
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.enterprise import WeChatClient, parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException
from wechatpy.replies import TextReply

from sharedcourt.channels.wechat import TIMESTAMP_WINDOW, _envelope, _same, guard_xml, merge, signature
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.errors import AuthError, BadRequest, ConfigError, DuplicateMessage, PayloadTooLarge
from sharedcourt.messaging.outbox import Item, Outbox, SendResult, enqueue
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Inbound, Router
from sharedcourt.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "wecom"
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def check_params(token: str, params: Any, data: str, *, now: float | None = None) -> tuple[str, str, str]:
    """Verify msg_signature over (token, timestamp, nonce, data) and the timestamp window."""
    msg_signature = params.get("msg_signature") or ""
    timestamp = params.get("timestamp") or ""
    nonce = params.get("nonce") or ""
    if not (msg_signature and timestamp and nonce and data) or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthError("missing or malformed signature parameters")
    if abs((time.time() if now is None else now) - int(timestamp)) > TIMESTAMP_WINDOW:
        raise AuthError("timestamp outside the window")
    if not _same(signature(token, timestamp, nonce, data), msg_signature):
        raise AuthError("bad msg_signature")
    return msg_signature, timestamp, nonce


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's WeCom client pointed at WECOM_API_BASE, one token refresher at a time."""

    def __init__(self, corp_id: str, secret: str, api_base: str, timeout: float = 5.0) -> None:
        super().__init__(corp_id, secret, timeout=timeout)
        self.API_BASE_URL = f"{api_base}/cgi-bin/"
        self._token_url = f"{api_base}/cgi-bin/gettoken"
        self._lock = threading.Lock()

    def fetch_access_token(self) -> Any:
        with self._lock:
            return self._fetch_access_token(
                url=self._token_url, params={"corpid": self.corp_id, "corpsecret": self.secret}
            )


class WeComSender:
    """Outbox sender for channel "wecom": an application text message to one member."""

    def __init__(self, client: _Client, agent_id: str) -> None:
        self.client = client
        self.agent_id = agent_id

    async def send(self, item: Item) -> SendResult:
        text = str(item.payload.get("text") or "")
        try:
            await asyncio.to_thread(self.client.message.send_text, self.agent_id, item.recipient, text)
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
    """Router deliverer for "wecom": later messages to a staff member go through the outbox."""

    def __init__(self, router: Router, outbox: Outbox) -> None:
        self.router = router
        self.outbox = outbox

    async def deliver(self, conversation_id: str, replies: Sequence[Reply]) -> None:
        await deliver_later(self.router, self.outbox, conversation_id, replies)


async def deliver_later(router: Router, outbox: Outbox, conversation_id: str, replies: Sequence[Reply]) -> None:
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


class WeComChannel:
    def __init__(self, settings: Settings, router: Router, outbox: Outbox | None = None) -> None:
        self.settings = settings
        self.router = router
        self.outbox = outbox
        if not re.fullmatch(r"[A-Za-z0-9]{43}", settings.wecom_aes_key):
            raise ConfigError("WECOM_AES_KEY must be the 43-character EncodingAESKey")
        self.crypto = WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        self.tasks: set[asyncio.Task[Any]] = set()

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
        except (InvalidSignatureException, InvalidCorpIdException):
            raise AuthError("bad signature or CorpId") from None
        except Exception:  # noqa: BLE001 - corrupt ciphertext
            raise AuthError("undecryptable echostr") from None
        return plain

    async def verify_url(self, request: Request) -> Response:
        return PlainTextResponse(self._decrypt_echo(request.query_params))

    def authenticate(self, params: Any, body: bytes) -> Any:
        text = guard_xml(body)
        envelope = _envelope(text)
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str):
            raise AuthError("no Encrypt")
        msg_signature, timestamp, nonce = check_params(self.settings.wecom_token, params, encrypt)
        try:
            plain = self.crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except (InvalidSignatureException, InvalidCorpIdException):
            raise AuthError("bad signature or CorpId") from None
        except Exception:  # noqa: BLE001
            raise AuthError("undecryptable Encrypt") from None
        plain = guard_xml(plain.encode("utf-8"))
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
        started = time.monotonic()
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge("body over the size limit")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise PayloadTooLarge("body over the size limit")
        msg, msg_type, msg_id, create_time = self.authenticate(request.query_params, bytes(body))
        if msg_type != "text":
            return PlainTextResponse("success")
        external_id = f"msg:{msg_id}" if msg_id else f"evt:{msg.source}:{create_time}"
        inbound = Inbound(
            channel=CHANNEL,
            user_id=str(msg.source),
            text=str(msg.content or ""),
            kind="text",
            external_id=external_id,
            payload={"agent_id": str(msg._data.get("AgentID") or "")},
            is_staff=True,
        )
        try:
            stored = await self.router.store(inbound)
        except DuplicateMessage:
            return PlainTextResponse("success")
        task = asyncio.ensure_future(self.router.process(stored.message_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        budget = self.settings.wechat_reply_budget - (time.monotonic() - started)
        try:
            replies: list[Reply] = await asyncio.wait_for(asyncio.shield(task), timeout=max(0.0, budget))
        except asyncio.TimeoutError:
            if self.outbox is not None:
                later = asyncio.ensure_future(self._later(task, stored.conversation_id))
                self.tasks.add(later)
                later.add_done_callback(self.tasks.discard)
            return PlainTextResponse("success")
        text = merge(replies)
        if not text:
            return PlainTextResponse("success")
        reply = TextReply(message=msg, content=text).render()
        nonce = request.query_params.get("nonce") or ""
        return Response(self.crypto.encrypt_message(reply, nonce, str(int(time.time()))), media_type="application/xml")


def configured(settings: Settings) -> bool:
    return bool(settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id)


def install(app: Starlette, settings: Settings, router: Router, outbox: Outbox | None = None) -> WeComChannel | None:
    """The callback; with WECOM_SECRET and WECOM_AGENT_ID also later replies through the outbox."""
    if not configured(settings):
        return None
    can_send = outbox is not None and bool(settings.wecom_secret and settings.wecom_agent_id)
    channel = WeComChannel(settings, router, outbox if can_send else None)
    if can_send and outbox is not None:
        client = _Client(settings.wecom_corp_id, settings.wecom_secret, settings.wecom_api_base)
        outbox.register(CHANNEL, WeComSender(client, settings.wecom_agent_id))
        router.deliverers[CHANNEL] = WeComDeliverer(router, outbox)
    app.state.wecom = channel
    return channel


async def _get(request: Request) -> Response:
    channel: WeComChannel = request.app.state.wecom
    return await channel.verify_url(request)


async def _post(request: Request) -> Response:
    channel: WeComChannel = request.app.state.wecom
    return await channel.callback(request)


def routes(settings: Settings) -> list[Route]:
    if not configured(settings):
        return []
    return [Route("/wecom/callback", _get, methods=["GET"]), Route("/wecom/callback", _post, methods=["POST"])]
